"""The Python typed calls generated from the sample plan
(examples/plans/generated/tracking_plan.py) record the planned events, with
their properties under the plan's keys, and refuse a value outside an enum
at the call."""

import importlib.util
import pathlib
import sys

import pytest

import cairn

GENERATED = pathlib.Path(__file__).resolve().parents[3] / "examples" / "plans" / "generated" / "tracking_plan.py"


def _load():
    spec = importlib.util.spec_from_file_location("tracking_plan", GENERATED)
    module = importlib.util.module_from_spec(spec)
    # dataclasses looks the module up by name while building the classes.
    sys.modules["tracking_plan"] = module
    spec.loader.exec_module(module)
    return module


tp = _load()

PRODUCT = tp.Product(product_id="p-1", price=12.5, name="Dune", quantity=2, category=tp.ProductCategory.VIDEO_GAMES)
PRODUCT_JSON = {"product_id": "p-1", "price": 12.5, "name": "Dune", "quantity": 2, "category": "video games"}


def test_every_generated_call_delivers_the_planned_event(collector, config):
    with cairn.Client("plan-key", **config) as client:
        plan = tp.TrackingPlan(client)
        assert (tp.PLAN_ID, tp.PLAN_VERSION) == ("shop", "3")
        plan.identify("user-7", "ada@example.com", plan=tp.IdentifyPlan.PRO, age=36)
        plan.group("org-1", "Analytical Engines")
        plan.cart_viewed()
        plan.product_viewed(PRODUCT, source=tp.ProductViewedSource.RECOMMENDATION)
        plan.order_completed(
            currency=tp.OrderCompletedCurrency.EUR,
            order_id="o-42",
            products=[PRODUCT, tp.Product(product_id="p-2", price=3.0)],
            total=28.0,
            coupon="SAVE10",
            payment_method="credit card",  # the enum's value is accepted too
            shipping=tp.OrderCompletedShipping(
                tp.OrderCompletedShippingMethod.EXPRESS,
                tp.OrderCompletedShippingAddress(city="Lyon", country="FR"),
            ),
            tags=("first", "gift wrap"),
            gift=False,
        )
        plan.search_performed(query="dune", referrer=None, results=3, filters={"format": "paperback"}, took_ms=1.5)
        assert client.flush(10).remaining == 0

    events = collector.events
    assert [e.get("event", e["type"]) for e in events] == [
        "identify", "group", "Cart Viewed", "Product Viewed", "Order Completed", "Search Performed",
    ]
    assert events[0]["userId"] == "user-7"
    assert events[0]["traits"] == {"email": "ada@example.com", "plan": "pro", "age": 36}
    assert events[1]["groupId"] == "org-1"
    assert events[1]["traits"] == {"name": "Analytical Engines"}
    assert events[3]["properties"] == {"product": PRODUCT_JSON, "source": "recommendation"}
    assert events[4]["properties"] == {
        "order_id": "o-42",
        "total": 28.0,
        "currency": "EUR",
        "products": [PRODUCT_JSON, {"product_id": "p-2", "price": 3.0}],
        "coupon": "SAVE10",
        "payment_method": "credit card",
        "shipping": {"method": "express", "address": {"city": "Lyon", "country": "FR"}},
        "tags": ["first", "gift wrap"],
        "gift": False,
        "checkout_version": "2024-checkout",
    }
    # A required nullable property is sent as null, not left out.
    assert events[5]["properties"] == {
        "query": "dune", "results": 3, "referrer": None, "filters": {"format": "paperback"}, "took_ms": 1.5,
    }


def test_a_value_outside_an_enum_is_refused_at_the_call_and_nothing_is_recorded(collector, config):
    with cairn.Client("plan-key", **config) as client:
        plan = tp.TrackingPlan(client)
        with pytest.raises(ValueError, match="'bitcoin' is not a valid OrderCompletedPaymentMethod"):
            plan.order_completed("EUR", "o-1", [PRODUCT], 12.5, payment_method="bitcoin")
        assert client.flush(5).remaining == 0
    assert collector.events == []


def test_optional_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        tp.TrackingPlan(None).product_viewed(PRODUCT, "home")


def _load_edge():
    path = GENERATED.parent / "edge" / "tracking_plan.py"
    spec = importlib.util.spec_from_file_location("tracking_plan_edge", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tracking_plan_edge"] = module
    spec.loader.exec_module(module)
    return module


def test_names_that_are_keywords_or_need_escaping_are_valid_python_and_sent_as_planned(collector, config):
    edge = _load_edge()
    assert edge.PLAN_ID == 'edge "cases" $plan \\ é'
    point = edge.Point(x=1.0, y=2.5)
    with cairn.Client("plan-key", **config) as client:
        plan = edge.TrackingPlan(client)
        plan.class_joined_now(
            class_="wizard", default=[1.5, None], in_=True, self_=7, type=edge.ClassJoinedNowType._2FA,
            fun={"home": point}, matrix=[[1, 2], []], anything={"free": ["form"]}, either="three",
        )
        plan._2nd_step(is_="yes", points=[point])
        assert client.flush(10).remaining == 0
    assert [e["event"] for e in collector.events] == ['Class "Joined" $now', "2nd Step"]
    assert collector.events[0]["properties"] == {
        "class": "wizard", "default": [1.5, None], "in": True, "self": 7, "type": "2fa",
        "fun": {"home": {"x": 1.0, "y": 2.5}}, "matrix": [[1, 2], []], "anything": {"free": ["form"]},
        "either": "three", "version": {"major": 1, "tags": ['a"b', "$x"]},
    }
    assert collector.events[1]["properties"] == {"is": "yes", "points": [{"x": 1.0, "y": 2.5}]}

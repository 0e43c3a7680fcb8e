"""A Python client configured for Amplitude or PostHog posts that vendor's
format to a real HTTP server (the formats themselves are checked in the
core's tests/wire_destinations.rs)."""

import pytest

import cairn
from conftest import WRITE_KEY, Collector


def test_amplitude_destination_posts_http_v2(collector, config):
    kind = cairn.DestinationKind.AMPLITUDE(batch_api=False, min_id_length=None)
    with cairn.Client(WRITE_KEY, destination=kind, **config) as client:
        client.identify("user-7", {"plan": "pro"})
        client.track("Order Completed", {"total": 42.5})
        assert client.flush(timeout=10) == cairn.FlushReport(delivered=2, remaining=0)
    ((path, body),) = collector.bodies
    assert path == "/2/httpapi"
    assert body["api_key"] == WRITE_KEY
    identify, track = body["events"]
    assert identify["event_type"] == "$identify"
    assert identify["user_properties"] == {"$set": {"plan": "pro"}}
    assert track["event_type"] == "Order Completed"
    assert track["event_properties"] == {"total": 42.5}
    assert track["user_id"] == "user-7"
    assert len(track["insert_id"]) == 36
    assert collector.auth_headers == [None]


def test_posthog_destination_posts_batch(collector, config):
    with cairn.Client(WRITE_KEY, destination=cairn.DestinationKind.POST_HOG(), **config) as client:
        client.screen("Home")
        assert client.flush(timeout=10).delivered == 1
    ((path, body),) = collector.bodies
    assert path == "/batch/"
    assert body["api_key"] == WRITE_KEY
    (screen,) = body["batch"]
    assert screen["event"] == "$screen"
    assert screen["properties"]["$screen_name"] == "Home"


def test_a_bad_min_id_length_is_refused_at_the_call(config):
    kind = cairn.DestinationKind.AMPLITUDE(batch_api=False, min_id_length=0)
    try:
        cairn.Client(WRITE_KEY, destination=kind, **config)
    except cairn.CairnError.InvalidConfig as e:
        assert "min_id_length must be at least 1" in str(e)
    else:
        raise AssertionError("min_id_length 0 was accepted")


def test_two_destinations_each_receive_their_events_exactly_once(collector, config):
    orders = Collector()
    try:
        routed = cairn.DestinationConfig(
            "orders",
            cairn.DestinationKind.SEGMENT(),
            orders.url,
            "orders-key",
            allow_events=["Order *"],
            call_types=["track"],
        )
        with cairn.Client(WRITE_KEY, destinations=[routed], **config) as client:
            client.identify("user-7")
            client.track("Product Viewed")
            client.track("Order Completed", {"total": 42.5})
            client.track("Order Refunded")
            assert client.flush(timeout=10).remaining == 0
            stats = client.stats()
        assert [d.name for d in stats.destinations] == ["default", "orders"]
        default, routed_stats = stats.destinations
        assert (default.delivered_events, default.skipped_events) == (4, 0)
        assert (routed_stats.delivered_events, routed_stats.skipped_events, routed_stats.queued_events) == (2, 2, 0)
        assert stats.delivered_events == 6
        assert stats.waited_for_room.calls >= 0
        assert [e["type"] for e in collector.events] == ["identify", "track", "track", "track"]
        assert len({e["messageId"] for e in collector.events}) == 4
        assert [e["event"] for e in orders.events] == ["Order Completed", "Order Refunded"]
        assert [e["messageId"] for e in orders.events] == [
            e["messageId"] for e in collector.events if e.get("event", "").startswith("Order ")
        ]
        assert set(collector.auth_headers) == {Collector.basic_auth(WRITE_KEY)}
        assert set(orders.auth_headers) == {Collector.basic_auth("orders-key")}
    finally:
        orders.close()


def test_the_own_destination_receives_only_the_events_its_routing_allows(collector, config):
    with cairn.Client(WRITE_KEY, allow_events=["Order *"], deny_events=("Order Refunded",), **config) as client:
        client.identify("user-7")
        client.track("Product Viewed")
        client.track("Order Completed", {"total": 42.5})
        client.track("Order Refunded")
        client.screen("Home")
        assert client.flush(timeout=10).remaining == 0
        stats = client.stats()
    # With one destination that routes, stats list it: its skipped events show there.
    (own,) = stats.destinations
    assert own.name == "default"
    assert (own.delivered_events, own.skipped_events, own.queued_events) == (2, 3, 0)
    assert (stats.delivered_events, stats.queued_events) == (2, 0)
    # The identify has no name: name rules pass it.
    assert [(e["type"], e.get("event")) for e in collector.events] == [("identify", None), ("track", "Order Completed")]


def test_the_own_destinations_call_types_and_consent_categories_route_too(collector, config):
    with cairn.Client(
        WRITE_KEY,
        consent={"analytics": cairn.ConsentState.GRANTED},
        call_types=["track"],
        consent_categories=["analytics"],
        **config,
    ) as client:
        client.identify("user-7")
        client.track("Signed Up")
        assert client.flush(timeout=10).remaining == 0
        client.track("Order Started")  # queued when the category is revoked: purged, never sent
        client.set_consent("analytics", cairn.ConsentState.DENIED)
        client.track("Order Completed")  # recorded while denied: passed over
        assert client.flush(timeout=10).remaining == 0
        stats = client.stats()
    (own,) = stats.destinations
    assert (own.delivered_events, own.skipped_events) == (1, 2)
    assert stats.dropped.consent == 1
    assert [e["event"] for e in collector.events] == ["Signed Up"]


def test_a_bad_own_routing_is_refused_naming_the_option(config):
    with pytest.raises(cairn.CairnError.InvalidConfig, match=r"^invalid config `call_types`: unknown call type `Track`"):
        cairn.Client(WRITE_KEY, call_types=["Track"], **config)
    with pytest.raises(cairn.CairnError.InvalidConfig, match=r"`deny_events`: event name pattern `Or\*der`"):
        cairn.Client(WRITE_KEY, deny_events=["Or*der"], **config)
    with pytest.raises(cairn.CairnError.InvalidConfig, match=r"^invalid config `allow_events`: expected a list of strings"):
        cairn.Client(WRITE_KEY, allow_events="Order *", **config)


def test_with_one_destination_the_stats_list_none(config):
    with cairn.Client(WRITE_KEY, **config) as client:
        assert client.stats().destinations == []


def test_a_bad_extra_destination_is_refused_in_the_core_words(config):
    clash = cairn.DestinationConfig("default", cairn.DestinationKind.POST_HOG(), "https://eu.i.posthog.com", "phc_x")
    with pytest.raises(cairn.CairnError.InvalidConfig, match="two destinations are named `default`"):
        cairn.Client(WRITE_KEY, destinations=[clash], **config)
    one_string = cairn.DestinationConfig("a", cairn.DestinationKind.SEGMENT(), "http://127.0.0.1:9", "k", allow_events="Order *")
    with pytest.raises(cairn.CairnError.InvalidConfig, match=r"destinations\.a\.allow_events"):
        cairn.Client(WRITE_KEY, destinations=[one_string], **config)
    negative = cairn.DestinationConfig("a", cairn.DestinationKind.SEGMENT(), "http://127.0.0.1:9", "k", max_batch_events=-1)
    with pytest.raises(cairn.CairnError.InvalidConfig, match=r"destinations\.a\.max_batch_events"):
        cairn.Client(WRITE_KEY, destinations=[negative], **config)
    with pytest.raises(cairn.CairnError.InvalidConfig, match=r"expected cairn\.DestinationConfig\("):
        cairn.Client(WRITE_KEY, destinations=[cairn.DestinationKind.SEGMENT()], **config)
    assert "phc_x" not in repr(clash)

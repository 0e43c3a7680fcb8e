"""Events recorded through the Python client reach a real HTTP server."""

import datetime as dt
import decimal
import enum
import os
import uuid

import pytest

import cairn
from conftest import WRITE_KEY


class Plan(enum.Enum):
    PRO = "pro"


def test_track_and_identify_are_delivered_with_their_properties(collector, config):
    with cairn.Client(WRITE_KEY, **config) as client:
        client.track(
            "Order Completed",
            {
                "order_id": "o-1001",
                "total": 42.5,
                "items": [{"sku": "tea", "qty": 2}],
                "coupon": None,
                "at": dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc),
                "price": decimal.Decimal("9.99"),
                "plan": Plan.PRO,
                "tags": ("a", "b"),
            },
        )
        client.identify("user-7", {"plan": "pro", "email": "ada@example.com"})
        assert client.flush(timeout=10) == cairn.FlushReport(delivered=2, remaining=0)
    (track,) = collector.of_type("track")
    assert track["event"] == "Order Completed"
    assert track["properties"] == {
        "order_id": "o-1001",
        "total": 42.5,
        "items": [{"sku": "tea", "qty": 2}],
        "coupon": None,
        "at": "2024-05-01T12:00:00+00:00",
        "price": 9.99,
        "plan": "pro",
        "tags": ["a", "b"],
    }
    (identify,) = collector.of_type("identify")
    assert identify["userId"] == "user-7"
    assert identify["traits"] == {"plan": "pro", "email": "ada@example.com"}
    assert identify["anonymousId"] == track["anonymousId"]
    assert set(collector.auth_headers) == {collector.basic_auth(WRITE_KEY)}


def test_every_call_kind_arrives_in_order_with_platform_and_app_context(collector, config):
    client = cairn.Client(WRITE_KEY, context={"app": {"name": "Notebook", "version": "3.0"}}, **config)
    client.screen("Home", {"tab": "deals"})
    client.page("Pricing")
    client.group("acme", {"seats": 12})
    client.identify("user-1")
    client.alias("user-1-new")
    client.set_context({"campaign": {"name": "spring"}})
    client.track("After Context")
    assert client.flush(timeout=10).delivered == 6
    assert client.user_id == "user-1-new"
    client.shutdown(timeout=1)
    assert [e["type"] for e in collector.events] == ["screen", "page", "group", "identify", "alias", "track"]
    assert collector.events[2]["groupId"] == "acme"
    assert collector.events[4]["previousId"] == "user-1"
    for e in collector.events:
        assert e["context"]["app"] == {"name": "Notebook", "version": "3.0"}
        assert e["context"]["os"]["name"] == os.uname().sysname
        assert e["context"]["library"]["name"] == "cairn"
    assert collector.events[-1]["context"]["campaign"] == {"name": "spring"}


def test_stats_show_the_queue_then_the_delivery(collector, config):
    with cairn.Client(WRITE_KEY, **config) as client:
        for n in range(3):
            client.track("Tick", {"n": n})
        assert client.commit(timeout=5)
        before = client.stats()
        assert isinstance(before, cairn.Stats)
        assert before.queued_events == 3 and before.queued_bytes > 0
        assert before.storage_error is None and before.dropped.total == 0
        client.flush(timeout=10)
        after = client.stats()
        assert (after.queued_events, after.delivered_events, after.requests) == (0, 3, 1)


def test_leaving_the_with_block_delivers_what_is_queued(collector, config):
    with cairn.Client(WRITE_KEY, **config) as client:
        client.track("Last Words")
    assert [e["event"] for e in collector.events] == ["Last Words"]


def test_forget_erases_the_queue_and_returns_the_ids(collector, config):
    collector.status = 503
    with cairn.Client(WRITE_KEY, **config) as client:
        client.identify("user-to-forget")
        client.track("Private")
        anon = client.anonymous_id
        gone = client.forget(timeout=10)
        assert gone.events_erased == 2
        assert "user-to-forget" in gone.user_ids and anon in gone.anonymous_ids
        assert client.stats().queued_events == 0
        assert client.user_id is None and client.anonymous_id != anon
        client.shutdown(timeout=0)


def test_enqueue_keeps_the_ids_a_backend_gives(collector, config):
    message_id = str(uuid.uuid4())
    with cairn.Client(WRITE_KEY, **config) as client:
        client.enqueue({"type": "track", "event": "Invoice Paid", "userId": "customer-9", "messageId": message_id})
    (event,) = collector.events
    assert event["userId"] == "customer-9" and event["messageId"] == message_id


def test_a_thread_that_must_not_wait_never_blocks_and_loses_nothing_silently(collector, config):
    # record_wait=0: a full calls channel never holds the caller; its events
    # go to the in-memory spill, and only past that are counted overflow.
    with cairn.Client(WRITE_KEY, **config, max_pending_calls=1, record_wait=0) as client:
        for n in range(5_000):
            client.track("Tapped", {"n": n})
        report = client.flush(timeout=30)
        overflow = client.stats().dropped.overflow
    assert report.remaining == 0
    numbers = [e["properties"]["n"] for e in collector.of_type("track")]
    assert numbers == sorted(numbers), "the spill keeps the order of the calls"
    assert len(numbers) + overflow == 5_000


def test_record_wait_must_not_be_negative(config):
    with pytest.raises(cairn.CairnError.InvalidConfig) as e:
        cairn.Client(WRITE_KEY, **config, record_wait=-1)
    assert "record_wait" in str(e.value)

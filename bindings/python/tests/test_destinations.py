"""A Python client configured for Amplitude or PostHog posts that vendor's
format to a real HTTP server (the formats themselves are checked in the
core's tests/wire_destinations.rs)."""

import cairn
from conftest import WRITE_KEY


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

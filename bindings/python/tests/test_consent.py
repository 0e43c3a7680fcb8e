"""Consent and opt-out, seen from the wire."""

import cairn
from cairn import ConsentState
from conftest import WRITE_KEY


def needs_analytics(config):
    return cairn.Client(WRITE_KEY, consent={"analytics": ConsentState.UNKNOWN}, required_consent=["analytics"], **config)


def test_events_wait_for_consent_and_leave_when_it_is_granted(collector, config):
    client = needs_analytics(config)
    client.track("Before Consent")
    client.flush(timeout=0.3)
    assert collector.requests == 0, "nothing may leave before consent"
    client.set_consent("analytics", ConsentState.GRANTED)
    client.track("After Consent")
    assert client.flush(timeout=10).delivered == 2
    client.shutdown(timeout=1)
    assert [e["event"] for e in collector.events] == ["Before Consent", "After Consent"]


def test_denied_consent_drops_the_events_and_counts_them(collector, config):
    client = needs_analytics(config)
    client.track("Held")
    client.set_consent("analytics", ConsentState.DENIED)
    client.track("Refused")
    client.commit(timeout=5)
    client.flush(timeout=0.3)
    assert collector.requests == 0
    assert client.stats().dropped.consent == 2
    client.shutdown(timeout=0)


def test_opt_out_stores_and_sends_nothing_until_opt_in(collector, config):
    with cairn.Client(WRITE_KEY, **config) as client:
        client.opt_out(True)
        client.track("While Opted Out")
        client.commit(timeout=5)
        assert client.stats().queued_events == 0
        client.flush(timeout=0.3)
        assert collector.requests == 0
        client.opt_out(False)
        client.track("Back In")
        assert client.flush(timeout=10).delivered == 1
    assert [e["event"] for e in collector.events] == ["Back In"]

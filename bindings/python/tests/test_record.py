"""The recording fast path (``cairn_ffi_record`` through ctypes, ``_record.py``)
against the real library: what it records arrives whole, and its errors are
the same exceptions, counted the same way, as on the generated module."""

import threading

import pytest

import cairn
from cairn import CairnError, _record
from conftest import WRITE_KEY

DEAD = "http://127.0.0.1:9"


def test_every_recording_call_arrives_with_its_fields_and_non_ascii_text_intact(collector, config):
    with cairn.Client(WRITE_KEY, **config) as client:
        client.track("Commande passée ✓", {"produit": "thé vert 緑茶", "émoji": "🍵🎉", "prix": 4.5})
        client.screen("Écran d'accueil", {"onglet": "Ωμέγα"})
        client.page("Страница")
        client.identify("usuário-7", {"nom": "Zoë 🦊"})
        client.group("グループ", {"seats": 12})
        client.alias("usuário-8")
        assert client.flush(timeout=10).delivered == 6
        assert client.user_id == "usuário-8"
    track, screen, page, identify, group, alias = collector.events
    assert [e["type"] for e in collector.events] == ["track", "screen", "page", "identify", "group", "alias"]
    assert track["event"] == "Commande passée ✓"
    assert track["properties"] == {"produit": "thé vert 緑茶", "émoji": "🍵🎉", "prix": 4.5}
    assert (screen["name"], screen["properties"]) == ("Écran d'accueil", {"onglet": "Ωμέγα"})
    assert page["name"] == "Страница"
    assert (identify["userId"], identify["traits"]) == ("usuário-7", {"nom": "Zoë 🦊"})
    assert (group["groupId"], group["traits"]) == ("グループ", {"seats": 12})
    assert (alias["userId"], alias["previousId"]) == ("usuário-8", "usuário-7")
    for e in collector.events:
        assert e["messageId"]
        assert e["anonymousId"] == track["anonymousId"]
        assert e["context"]["library"]["name"] == "cairn"


def test_a_bad_call_raises_the_cores_error_and_counts_one_invalid(tmp_path):
    with cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=str(tmp_path / "r.db")) as client:
        with pytest.raises(CairnError.InvalidEvent, match=r"^invalid event: screen name is empty"):
            client.screen("  ", {"a": 1})
        client.commit(timeout=5)
        assert client.stats().dropped.invalid == 1
        with pytest.raises(CairnError.EventTooLarge, match="max_event_bytes"):
            client.identify("u", {"bio": "é" * 20_000})
        # Half a surrogate pair cannot become UTF-8: refused before it crosses,
        # and counted as invalid like the calls the core refuses.
        with pytest.raises(CairnError.InvalidEvent, match="event name contains a lone surrogate"):
            client.track("Cut \ud83c", {"k": "v"})
        with pytest.raises(CairnError.InvalidEvent, match="properties contains a lone surrogate"):
            client.track("Ok", {"k": "\udf75 cut"})
        # The same on calls that are not events: refused, not counted.
        with pytest.raises(CairnError.InvalidEvent, match="anonymous_id contains a lone surrogate"):
            client.set_anonymous_id("anon-\ud83c")
        with pytest.raises(CairnError.InvalidEvent, match="category contains a lone surrogate"):
            client.set_consent("ads\ud83c", cairn.ConsentState.GRANTED)
        # A name or id that is not a str: a CairnError, counted like the rest.
        with pytest.raises(CairnError.InvalidEvent, match=r"^invalid event: event name must be a str, got int 42: pass str\(42\)"):
            client.track(42)
        with pytest.raises(CairnError.InvalidEvent, match=r"^invalid event: event name is None: pass a str"):
            client.track(None, {"k": "v"})
        with pytest.raises(CairnError.InvalidEvent, match=r"^invalid event: user id must be a str, got int"):
            client.identify(7)
        with pytest.raises(CairnError.InvalidEvent, match=r"^invalid event: new id is None"):
            client.alias(None)
        # Not events: refused with a CairnError, not counted.
        with pytest.raises(CairnError.InvalidEvent, match="anonymous_id is None"):
            client.set_anonymous_id(None)
        client.commit(timeout=5)
        stats = client.stats()
        assert (stats.dropped.invalid, stats.dropped.oversize, stats.queued_events) == (7, 1, 0)


def test_ids_get_their_own_hint_when_empty(tmp_path):
    with cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=str(tmp_path / "h.db")) as client:
        for call, words in [
            (lambda: client.identify(""), 'user_id is empty: pass the id your backend knows the user by, e.g. "user-42"'),
            (lambda: client.group(""), "group_id is empty: pass the id of the account"),
            (lambda: client.alias(""), "new_id is empty: pass the id the user is known by from now on"),
        ]:
            with pytest.raises(CairnError.InvalidEvent) as e:
                call()
            assert words in str(e.value) and "Order Completed" not in str(e.value)


def test_non_string_keys_become_strings_as_json_dumps_makes_them(collector, config):
    with cairn.Client(WRITE_KEY, **config) as client:
        client.track("Keys", {7: "int", 2.5: "float", True: "bool", None: "none"})
        assert client.flush(timeout=10).delivered == 1
    (track,) = collector.events
    assert track["properties"] == {"7": "int", "2.5": "float", "true": "bool", "null": "none"}


def test_calls_after_shutdown_raise_shut_down(tmp_path):
    client = cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=str(tmp_path / "s.db"))
    client.track("Before")
    client.shutdown(timeout=0.2)
    for call in (lambda: client.track("Late"), lambda: client.identify("u"), lambda: client.alias("v")):
        with pytest.raises(CairnError.ShutDown, match="shut down"):
            call()


def test_a_handle_that_names_no_client_raises_shut_down():
    # What a call on a destroyed client would meet; handle 0 is never given out.
    with pytest.raises(CairnError.ShutDown, match="closed"):
        _record.record(0, _record.TRACK, "event name", "Nowhere", "properties", "", lambda: None)


def test_calls_from_many_threads_all_arrive(collector, config):
    errors = []
    with cairn.Client(WRITE_KEY, **config) as client:

        def work(t):
            try:
                for i in range(250):
                    client.track("Tick", {"t": t, "i": i})
                    if i % 50 == 0:
                        # Errors on some threads while others record: each gets its own message.
                        with pytest.raises(CairnError.InvalidEvent, match="event name is empty"):
                            client.track("")
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                errors.append(e)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors
        # flush_at=1000 may start the upload before flush() is called: count from stats.
        assert client.flush(timeout=30).remaining == 0
        assert client.stats().delivered_events == 1000
        assert client.stats().dropped.invalid == 20
    assert len({(e["properties"]["t"], e["properties"]["i"]) for e in collector.events}) == 1000

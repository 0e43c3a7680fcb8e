"""Bad input gets a clear exception that names what to fix; nothing is recorded."""

import datetime as dt
import threading

import pytest

import cairn
from cairn import CairnError
from conftest import WRITE_KEY

DEAD = "http://127.0.0.1:9"


@pytest.fixture
def client(tmp_path):
    c = cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=str(tmp_path / "e.db"), flush_at=1000)
    yield c
    try:
        c.shutdown(timeout=0)
    except CairnError.ShutDown:
        pass


@pytest.mark.parametrize(
    "properties, path, words",
    [
        ({"price": float("nan")}, "properties.price", "nan is not a JSON number"),
        ({"cart": [{"sku": "a"}, {"item": threading.Lock()}]}, "properties.cart[1].item", "cannot be encoded as JSON"),
        ({"first name": {(1, 2): "x"}}, "properties['first name']", "keys must be strings"),
        ({"blob": b"\x00\x01"}, "properties.blob", "Base64"),
        ({"when": dt.timedelta(seconds=3)}, "properties.when", "datetime.timedelta cannot be encoded"),
    ],
)
def test_a_property_json_cannot_carry_is_named_by_its_key_path(client, properties, path, words):
    with pytest.raises(CairnError.InvalidEvent) as e:
        client.track("Bad", properties)
    assert path in str(e.value) and words in str(e.value)


def test_a_map_that_contains_itself_is_refused_not_a_crash(client):
    loop = {}
    loop["self"] = loop
    with pytest.raises(CairnError.InvalidEvent, match=r"properties\.self: contains itself"):
        client.track("Loop", loop)
    client.commit(timeout=5)
    assert client.stats().queued_events == 0


def test_properties_must_be_a_dict(client):
    with pytest.raises(CairnError.InvalidEvent, match="must be a dict"):
        client.track("List", [1, 2])


def test_calls_refused_before_the_core_are_counted_as_invalid(client):
    with pytest.raises(CairnError.InvalidEvent, match="must be a dict"):
        client.track("List", [1, 2])
    with pytest.raises(CairnError.InvalidEvent):
        client.identify("u", {"score": float("nan")})
    # A context is not an event: refusing one counts nothing.
    with pytest.raises(CairnError.InvalidEvent):
        client.set_context({"x": float("nan")})
    client.commit(timeout=5)
    assert client.stats().dropped.invalid == 2


def test_the_core_rejects_bad_calls_in_its_own_words(client):
    with pytest.raises(CairnError.InvalidEvent, match="event"):
        client.track("")
    with pytest.raises(CairnError.InvalidEvent):
        client.set_anonymous_id(" ")
    with pytest.raises(CairnError.EventTooLarge, match="max_event_bytes"):
        client.track("Huge", {"blob": "x" * 40_000})
    client.commit(timeout=5)
    dropped = client.stats().dropped
    assert (dropped.invalid, dropped.oversize) == (1, 1)


def test_bad_configuration_names_the_option(tmp_path):
    db = str(tmp_path / "c.db")
    with pytest.raises(CairnError.InvalidConfig, match="`endpoint`.*http://"):
        cairn.Client(WRITE_KEY, endpoint="ftp://example.com", storage_path=db)
    with pytest.raises(CairnError.InvalidConfig, match="`endpoint`: is required"):
        cairn.Client(WRITE_KEY, storage_path=db)
    with pytest.raises(CairnError.InvalidConfig, match="`flush_at`: must not be negative"):
        cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=db, flush_at=-1)
    with pytest.raises(CairnError.InvalidConfig, match="`flush_interval`"):
        cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=db, flush_interval="soon")
    with pytest.raises(CairnError.InvalidConfig, match=r"`context`: context\.app\.v"):
        cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=db, context={"app": {"v": float("inf")}})


def test_a_second_client_on_the_same_file_is_refused(client, tmp_path):
    with pytest.raises(CairnError.StorageInUse, match="storage_path"):
        cairn.Client(WRITE_KEY, endpoint=DEAD, storage_path=str(tmp_path / "e.db"))


def test_calls_after_shutdown_say_so(client):
    client.track("Last")
    client.shutdown(timeout=0.2)
    with pytest.raises(CairnError.ShutDown, match="shut down"):
        client.track("Too Late")

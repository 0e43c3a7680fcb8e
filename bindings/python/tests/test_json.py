"""The client's encoder: what each Python value becomes on the wire."""

import datetime as dt
import decimal
import json
import uuid

from cairn import _json


def round_trip(value):
    return json.loads(_json.encode("p", {"v": value}))["v"]


def test_scalars_keep_their_json_type():
    assert round_trip("text") == "text"
    assert round_trip(2**63 - 1) == 2**63 - 1
    assert round_trip(0.1) == 0.1
    assert round_trip(True) is True
    assert round_trip(None) is None
    assert round_trip(decimal.Decimal("12")) == 12
    assert round_trip(decimal.Decimal("12.5")) == 12.5


def test_strings_are_escaped():
    s = 'quote " backslash \\ newline \n bell \x07 emoji \U0001F600 accents éü'
    assert round_trip(s) == s


def test_dates_and_ids_become_iso_text():
    assert round_trip(dt.date(2024, 5, 1)) == "2024-05-01"
    assert round_trip(dt.datetime(2024, 5, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))) == "2024-05-01T14:00:00+02:00"
    u = uuid.uuid4()
    assert round_trip(u) == str(u)


def test_sets_become_lists_and_empty_means_no_payload():
    assert round_trip({1}) == [1]
    assert _json.encode("properties", {}) == ""
    assert _json.encode("properties", None) == ""

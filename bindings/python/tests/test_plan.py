"""The shared table of tracking-plan cases (tests/plan-cases.json) driven
through the Python client: the same plan gives the same verdicts here as in
Rust, Kotlin and the browser. With the policies, the collector and stats()
show each verdict; strict mode raises the violations at the call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cairn

TABLE = json.loads((Path(__file__).resolve().parents[3] / "tests" / "plan-cases.json").read_text())


def record(client: cairn.Client, call: dict) -> None:
    kind = call["type"]
    if kind == "track":
        client.track(call["event"], call.get("properties"))
    elif kind == "identify":
        client.identify(call["user_id"], call.get("traits"))
    elif kind == "group":
        client.group(call["group_id"], call.get("traits"))
    elif kind == "screen":
        client.screen(call["name"], call.get("properties"))
    else:
        raise AssertionError(f"no such call in the table: {kind}")


def texts(violations: list[dict]) -> list[str]:
    return [f"{v['path']}: {v['message']}" if v["path"] else v["message"] for v in violations]


@pytest.mark.parametrize("case", TABLE["cases"], ids=[c["name"] for c in TABLE["cases"]])
def test_shared_case(case, config, collector, tmp_path):
    plan = json.dumps(TABLE["plans"][case["plan"]])
    want = case["violations"]
    with cairn.Client("k", tracking_plan=plan, platform_context=False, **config) as client:
        record(client, case["call"])
        client.flush(5)
        stats = client.stats()
        assert stats.dropped.plan_violation == int(case["dropped"])
        assert sum(c.count for c in stats.plan_violations) == len(want)
        assert [f"{r.path}: {r.message}" if r.path else r.message for r in stats.recent_violations] == want[-10:]
    sent = collector.events
    assert len(sent) == (0 if case["dropped"] else 1)
    if sent:
        plan_id = TABLE["plans"][case["plan"]]["id"]
        assert sent[0]["context"]["trackingPlan"]["id"] == plan_id
        assert texts(sent[0]["context"].get("violations", [])) == want
        if "sent" in case:
            field = "properties" if "properties" in sent[0] else "traits"
            assert sent[0][field] == case["sent"]

    strict = dict(config, storage_path=str(tmp_path / "strict.db"))
    with cairn.Client("k", tracking_plan=plan, strict_tracking_plan=True, **strict) as client:
        if not want:
            record(client, case["call"])
        else:
            with pytest.raises(cairn.CairnError.PlanViolation) as e:
                record(client, case["call"])
            for w in want:
                assert w in str(e.value)


def test_plan_replaced_at_run_time_and_a_bad_one_refused(config):
    with cairn.Client("k", strict_tracking_plan=True, **config) as client:
        client.track("Anything")
        with pytest.raises(cairn.CairnError.InvalidConfig) as e:
            client.set_tracking_plan('{"id": "p", "events": {"E": {"properties": {"anyOf": []}}}}')
        assert "at /events/E/properties/anyOf: unsupported keyword `anyOf`" in str(e.value)
        client.set_tracking_plan('{"id": "p", "unplanned": "drop", "events": {"E": {}}}')
        with pytest.raises(cairn.CairnError.PlanViolation):
            client.track("Anything")
        client.track("E")
        client.remove_tracking_plan()
        client.track("Anything")


def test_a_bad_plan_fails_the_client_naming_where(config):
    with pytest.raises(cairn.CairnError.InvalidConfig) as e:
        cairn.Client("k", tracking_plan='{"id": "p", "events": {"E": {"properties": {"type": "text"}}}}', **config)
    assert "at /events/E/properties/type: unknown type \"text\"" in str(e.value)

"""Promise 2 across a process restart: a first Python process records while
the backend is unreachable and dies without shutting down (os._exit); a
second client on the same buffer file delivers the events, with their ids."""

import socket
import subprocess
import sys
import textwrap

import cairn
from conftest import WRITE_KEY

CHILD = textwrap.dedent(
    """
    import os, sys
    import cairn
    client = cairn.Client(sys.argv[2], endpoint=sys.argv[3], storage_path=sys.argv[1], flush_at=1000)
    for n in range(3):
        client.track(f"Before Crash {n}")
    assert client.commit(timeout=10), "not committed"
    print("anonymousId=" + client.anonymous_id, flush=True)
    os._exit(42)  # like a kill: no shutdown, no atexit
    """
)


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_events_recorded_before_a_process_dies_are_delivered_by_the_next(collector, tmp_path):
    db = str(tmp_path / "cairn.db")
    dead = f"http://127.0.0.1:{unused_port()}"
    run = subprocess.run(
        [sys.executable, "-c", CHILD, db, WRITE_KEY, dead], capture_output=True, text=True, timeout=60, env=None
    )
    assert run.returncode == 42, run.stdout + run.stderr
    anonymous_id = run.stdout.strip().split("anonymousId=")[1]

    with cairn.Client(WRITE_KEY, endpoint=collector.url, storage_path=db, flush_at=1000) as client:
        # The backlog goes out as soon as the worker has loaded it, so a
        # first look may find it queued, in flight or delivered.
        first = client.stats()
        assert first.queued_events + first.delivered_events == 3, first
        assert client.flush(timeout=10).remaining == 0
        after = client.stats()
        assert (after.queued_events, after.delivered_events) == (0, 3), after
    assert [e["event"] for e in collector.events] == [f"Before Crash {n}" for n in range(3)]
    assert {e["anonymousId"] for e in collector.events} == {anonymous_id}

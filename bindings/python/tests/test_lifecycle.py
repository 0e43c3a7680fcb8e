"""The edges of a client's life in Python: a script that ends without
shutdown(), a client released by the garbage collector, and a client
inherited by a forked child (pre-fork servers, multiprocessing)."""

import os
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest

import cairn
from conftest import WRITE_KEY


def run_script(source: str, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(source), *args], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def test_a_script_that_ends_without_shutdown_delivers_once_at_exit(collector, tmp_path):
    db = str(tmp_path / "cairn.db")
    started = time.monotonic()
    run_script(
        """
        import sys, cairn
        client = cairn.Client(sys.argv[1], endpoint=sys.argv[2], storage_path=sys.argv[3], flush_at=1000)
        for n in range(5):
            client.track("Numbered", {"n": n})
        # No shutdown: the atexit hook delivers within SHUTDOWN_AT_EXIT_TIMEOUT.
        """,
        WRITE_KEY,
        collector.url,
        db,
    )
    assert time.monotonic() - started < 30
    assert sorted(e["properties"]["n"] for e in collector.events) == list(range(5))
    # The next client on the file finds nothing left to send.
    with cairn.Client(WRITE_KEY, endpoint=collector.url, storage_path=db) as client:
        assert client.flush(timeout=5).remaining == 0
    assert len(collector.events) == 5
    assert len(Counter(e["messageId"] for e in collector.events)) == 5


def test_a_client_released_by_the_garbage_collector_never_sends_twice(collector, tmp_path):
    db = str(tmp_path / "cairn.db")
    for round in range(3):
        client = cairn.Client(WRITE_KEY, endpoint=collector.url, storage_path=db)
        for n in range(5):
            client.track("Numbered", {"n": round * 5 + n})
        del client  # released without shutdown
    with cairn.Client(WRITE_KEY, endpoint=collector.url, storage_path=db) as client:
        assert client.flush(timeout=10).remaining == 0
    ids = Counter(e["messageId"] for e in collector.events)
    assert len(ids) == 15, "every event arrived"
    assert len(collector.events) == 15, f"none twice: {[i for i, c in ids.items() if c > 1]}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_a_forked_child_gets_a_clear_error_and_never_hangs(collector, tmp_path):
    db = str(tmp_path / "cairn.db")
    run = run_script(
        """
        import os, sys, time, cairn
        client = cairn.Client(sys.argv[1], endpoint=sys.argv[2], storage_path=sys.argv[3])
        client.track("Parent Before Fork")
        pid = os.fork()
        if pid == 0:
            lines = []
            for name, call in [
                ("track", lambda: client.track("In Child")),
                ("identify", lambda: client.identify("u-child")),
                ("flush", lambda: client.flush(timeout=2)),
                ("shutdown", lambda: client.shutdown(timeout=2)),
            ]:
                started = time.monotonic()
                try:
                    call()
                    lines.append(f"{name}: no error")
                except cairn.CairnError.Forked as e:
                    lines.append(f"{name}: Forked {time.monotonic() - started:.3f}s {e}")
                except BaseException as e:
                    lines.append(f"{name}: {type(e).__name__} {e}")
            many = 0
            for n in range(20_000):  # over max_pending_calls: must not block
                try:
                    client.track("Many", {"n": n})
                except cairn.CairnError.Forked:
                    many += 1
            lines.append(f"many: {many}")
            own = cairn.Client(sys.argv[1], endpoint=sys.argv[2], storage_path=sys.argv[3] + ".child")
            own.track("Child Own Client")
            lines.append(f"own: {own.shutdown(timeout=10).delivered}")
            print("\\n".join(lines), flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        client.track("Parent After Fork")
        print("parent remaining", client.shutdown(timeout=10).remaining, "child status", status)
        """,
        WRITE_KEY,
        collector.url,
        db,
    )
    out = run.stdout
    for call in ["track", "identify", "flush", "shutdown"]:
        line = next(l for l in out.splitlines() if l.startswith(f"{call}:"))
        assert "Forked" in line and "create the client after fork" in line, line
        seconds = float(line.split()[2].rstrip("s"))
        assert seconds < 1.0, f"{call} answered at once, not after its timeout: {line}"
    assert "many: 20000" in out
    assert "own: 1" in out
    assert "parent remaining 0 child status 0" in out
    names = sorted(e["event"] for e in collector.events)
    assert names == ["Child Own Client", "Parent After Fork", "Parent Before Fork"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX-only")
def test_forks_while_another_thread_tracks_never_hang_the_child(collector, tmp_path):
    # A pre-fork server forks while its other threads record. A lock one of
    # them held at that instant stays held in the child forever: the child's
    # own new client (what it should build) must still come up. Each child
    # gets 10 s (SIGALRM ends a hung one) and exits 3 if its client failed.
    db = str(tmp_path / "cairn.db")
    run = run_script(
        """
        import os, signal, sys, threading, cairn
        client = cairn.Client(sys.argv[1], endpoint=sys.argv[2], storage_path=sys.argv[3], record_wait=0)
        stop = threading.Event()
        def record():
            while not stop.is_set():
                try:
                    client.track("Busy")
                except cairn.CairnError:
                    pass
        threads = [threading.Thread(target=record, daemon=True) for _ in range(2)]
        for t in threads:
            t.start()
        statuses = []
        for i in range(150):
            pid = os.fork()
            if pid == 0:
                signal.alarm(10)
                try:
                    own = cairn.Client(sys.argv[1], endpoint=sys.argv[2], storage_path=f"{sys.argv[3]}.{i}", flush_at=1000)
                    own.track("Child")
                    own.shutdown(timeout=0)
                except BaseException:
                    os._exit(3)
                os._exit(0)
            statuses.append(os.waitpid(pid, 0)[1])
        stop.set()
        for t in threads:
            t.join()
        bad = [s for s in statuses if s != 0]
        print("children", len(statuses), "not ok", len(bad), bad[:5])
        """,
        WRITE_KEY,
        collector.url,
        db,
    )
    assert "children 150 not ok 0 []" in run.stdout, run.stdout + run.stderr

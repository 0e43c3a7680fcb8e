"""Micro-benchmark: the cost of one ``track`` call from Python, as the
caller pays it (encoding the properties, crossing ctypes, handing the event
to the core's worker), after a warm-up. Prints nanoseconds per call; it
never fails on timing. For comparison, in the same process and on the same
load, it also times the same call through the generated module, which the
client's recording calls no longer use (``cairn/_record.py``)."""

import os
import sys
import tempfile
import time

import cairn


def per_call(n, fn):
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fn()
    return (time.perf_counter_ns() - t0) // n


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    warmup = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        client = cairn.Client(
            "bench-key",
            endpoint="http://127.0.0.1:9",
            storage_path=os.path.join(tmp, "bench.db"),
            # Nothing is sent, nothing overflows, the caller never waits for room.
            flush_at=10_000_000,
            flush_interval=3600,
            max_queue_events=10_000_000,
            max_pending_calls=2_000_000,
        )
        props = {"sku": "tea-42", "price": 4.5, "qty": 2}
        per_call(warmup, lambda: client.track("Bench Event", props))
        client.commit(timeout=120)
        with_props = per_call(calls, lambda: client.track("Bench Event", props))
        client.commit(timeout=120)
        bare = per_call(calls, lambda: client.track("Bench Event"))
        client.commit(timeout=120)
        generated = client._client  # the generated module's object under the client
        encode = cairn._client._encode
        per_call(warmup, lambda: generated.track("Bench Event", encode("properties", props)))
        client.commit(timeout=120)
        gen_props = per_call(calls, lambda: generated.track("Bench Event", encode("properties", props)))
        client.commit(timeout=120)
        gen_bare = per_call(calls, lambda: generated.track("Bench Event", ""))
        client.commit(timeout=120)
        client.shutdown(timeout=0)
    print(
        f"python track: {with_props} ns/call with 3 properties, {bare} ns/call without "
        f"({calls} calls each after {warmup} warm-up, release library)"
    )
    print(f"python track via the generated module: {gen_props} ns/call with 3 properties, {gen_bare} ns/call without")


if __name__ == "__main__":
    main()

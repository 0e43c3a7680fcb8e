"""Records two events with cairn's Python package and delivers them.

    cargo run --release -p cairn-cli -- collect --port 8090   # in another terminal
    scripts/bindings-python.sh && pip install ./bindings/python
    python examples/python/quickstart.py                      # or: ... quickstart.py http://host:port

The endpoint comes from the first argument, else CAIRN_ENDPOINT, else the
local collector; the buffer file from CAIRN_STORAGE, else ./cairn-example.db.
"""

import os
import sys

import cairn


def main() -> int:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CAIRN_ENDPOINT", "http://127.0.0.1:8090")
    client = cairn.Client(
        "example-write-key",
        endpoint=endpoint,
        storage_path=os.environ.get("CAIRN_STORAGE", "cairn-example.db"),
        context={"app": {"name": "Python example", "version": "1.0"}},
    )
    try:
        client.track("Signed Up", {"plan": "pro", "trial_days": 14})
        client.identify("user-7", {"email": "ada@example.com", "name": "Ada"})
    except cairn.CairnError as e:
        print(f"cairn refused the call: {e}", file=sys.stderr)
        return 1
    report = client.flush(timeout=5)
    print(f"delivered {report.delivered}, still queued {report.remaining}")
    print(client.stats())
    client.shutdown(timeout=5)
    if report.remaining:
        print(f"not delivered yet: is a collector listening on {endpoint}? (events stay in the buffer file)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

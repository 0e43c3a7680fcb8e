"""examples/python/quickstart.py, run as a user would, delivers its events."""

import os
import pathlib
import subprocess
import sys

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "python" / "quickstart.py"


def test_the_quickstart_example_delivers_its_two_events(collector, tmp_path):
    env = dict(os.environ, CAIRN_STORAGE=str(tmp_path / "example.db"))
    run = subprocess.run([sys.executable, str(EXAMPLE), collector.url], capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "delivered 2, still queued 0" in run.stdout
    assert [e["type"] for e in collector.events] == ["track", "identify"]
    assert collector.events[0]["context"]["app"]["name"] == "Python example"

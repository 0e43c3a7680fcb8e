"""Test support: a Segment-compatible collector on 127.0.0.1 (the standard
library's HTTP server in a thread) and a client configuration pointing at
it with a fresh buffer file."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

WRITE_KEY = "python-test-key"


class Collector:
    """Records every event of every accepted batch; answers with ``status``."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.auth_headers: list[str | None] = []
        # (path, decoded body) of every request: other destinations' formats.
        self.bodies: list[tuple[str, dict]] = []
        self.requests = 0
        self.status = 200
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                collector.requests += 1
                collector.auth_headers.append(self.headers.get("Authorization"))
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                status = collector.status
                collector.bodies.append((self.path, json.loads(body)))
                if self.path == "/v1/batch" and status == 200:
                    collector.events.extend(json.loads(body)["batch"])
                answer = json.dumps({"success": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def of_type(self, kind: str) -> list[dict]:
        return [e for e in self.events if e["type"] == kind]

    @staticmethod
    def basic_auth(write_key: str) -> str:
        return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


@pytest.fixture
def config(tmp_path, collector):
    """Keyword arguments for ``cairn.Client``: the collector, a fresh file, no batch before a flush."""
    return {"endpoint": collector.url, "storage_path": str(tmp_path / "cairn.db"), "flush_at": 1000}

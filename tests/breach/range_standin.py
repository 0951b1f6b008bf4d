"""A local stand-in of the k-anonymity range API (``GET /range/<prefix>``), recording requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from dialogs.breached_passwords import split_digest


@dataclass
class RangeStandIn:
    breached: dict[str, int] = field(default_factory=dict)  # full upper-case SHA-1 -> count
    mode: str = "ok"  # "ok", "error" (HTTP 503), "slow" (answers after slow_seconds)
    slow_seconds: float = 3.0
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, body received)
    url: str = ""

    def add(self, password: str, count: int = 42) -> None:
        prefix, suffix = split_digest(password)
        self.breached[prefix + suffix] = count

    def body(self, prefix: str) -> str:
        lines = [f"{digest[5:]}:{count}" for digest, count in self.breached.items()
                 if digest.startswith(prefix)]
        # Padding as the real API adds it: fake suffixes with a count of 0.
        lines += [f"{'0' * 30}{n:05X}:0" for n in range(3)]
        return "\r\n".join(lines)


def _handler(standin: RangeStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length).decode("latin-1") if length else ""
            standin.requests.append((self.path, sent))
            if standin.mode == "slow":
                time.sleep(standin.slow_seconds)
            if standin.mode == "error":
                self.send_error(503)
                return
            prefix = self.path.rsplit("/", 1)[-1]
            payload = standin.body(prefix).encode("ascii")
            try:
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (its timeout): what the slow mode is for

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    return Handler


@contextmanager
def range_standin() -> Iterator[RangeStandIn]:
    standin = RangeStandIn()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    standin.url = f"http://127.0.0.1:{server.server_port}/range"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

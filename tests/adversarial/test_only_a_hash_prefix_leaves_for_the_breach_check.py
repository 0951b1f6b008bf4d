"""Issue 15, breached passwords: only the five-digit hash prefix leaves, on the wire and in logs.

The red team reads the raw bytes the range server receives (request line and every header)
and every log record at DEBUG, from the chat turn that checks a candidate, with the corpus
answering and with it failing. Neither may hold the password, its whole SHA-1 or the suffix
the match is made on; the request carries no cookie, no credentials, no body.
"""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from config import settings_from_dict
from dialogs.breached_passwords import split_digest
from tests.engine.conftest import demo_application, settings_data
from tests.engine.conversation import Conversation, RecordingRenderer
from tests.engine.test_forgot_password import prove_identity

CANDIDATE = "Quartz-Lantern-Meadow-73"


@contextmanager
def recording_corpus(status: bytes) -> Iterator[tuple[str, list[bytes]]]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.1)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            with client:
                client.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                received.append(data)
                client.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/range", received
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()


@pytest.mark.parametrize("status", [b"200 OK", b"503 Service Unavailable"])
def test_only_a_hash_prefix_leaves(slapd: SlapdInfo, redis_server: LocalRedis,
                                   redis_client: object, status: bytes,
                                   caplog: pytest.LogCaptureFixture) -> None:
    prefix, suffix = split_digest(CANDIDATE)
    whole = hashlib.sha1(CANDIDATE.encode(), usedforsecurity=False).hexdigest()
    audit = io.StringIO()
    with recording_corpus(status) as (url, received):
        raw = {**settings_data(slapd, redis_server.info.url),
               "breached_passwords": {"enabled": True, "base_url": url,
                                      "timeout_seconds": 2.0, "fail": "open"}}
        renderer = RecordingRenderer()
        with caplog.at_level(logging.DEBUG), demo_application(
                settings_from_dict(raw), renderer=renderer, audit_stream=audit) as application:
            c = Conversation(application.engine, application.catalogue, renderer,
                             sender="prefix-only")
            prove_identity(c, "alice")
            c.say(CANDIDATE)
            assert c.asks("password.ask_confirm"), c.text()
    [request] = received
    head, _, body = request.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == f"GET /range/{prefix} HTTP/1.1" and body == b""
    names = {line.split(":", 1)[0].casefold() for line in lines[1:]}
    assert names <= {"host", "user-agent", "add-padding", "accept-encoding", "connection"}, names
    logged = caplog.text + audit.getvalue()
    for secret in (CANDIDATE, suffix, suffix.lower(), whole, whole.upper()):
        assert secret not in request.decode("latin-1") and secret not in logged, secret

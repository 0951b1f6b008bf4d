"""Issue 15, breached passwords: a slow or hostile range server neither stalls nor crashes a turn.

The corpus is a third party (the public API) or a mirror nobody watches; either may answer
with anything. The red team's moves, from a raw socket server on 127.0.0.1:

- **drip**: a byte every 50 ms. ``timeout_seconds`` bounded each read, not the lookup, so a
  server that never pauses long enough held the turn for as long as it liked (up to 4 MiB).
- **garbage**: a status line that is not HTTP, a broken chunked body, 150 headers, a 70 KiB
  header line, a 5,000-digit count: each raised an exception nobody caught (``BadStatusLine``,
  ``IncompleteRead``, ``HTTPException``, ``LineTooLong``, ``ValueError``) out of the person's
  turn, whatever ``fail`` said.
- **redirects** to ``file://`` and ``ftp://``: never followed.

Every one must end as "the corpus did not answer": the fail-closed message, or (fail open)
the password accepted, and the person's conversation goes on.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from bot.breach_range import HttpBreachRange
from bot.local_stack import LocalRedis, SlapdInfo
from config import settings_from_dict
from dialogs.breached_passwords import BreachedPasswords, BreachPolicy
from tests.engine.conftest import demo_application, settings_data
from tests.engine.conversation import Conversation, RecordingRenderer
from tests.engine.test_forgot_password import prove_identity

CLEAN = "Quartz-Lantern-Meadow-73"
DRIP_BYTES = 200  # at 50 ms a byte: 10 s if nobody hangs up


@dataclass
class Hostile:
    url: str
    dripped: int = 0
    hung_up: threading.Event = field(default_factory=threading.Event)


Reply = Callable[[socket.socket, Hostile], None]


@contextmanager
def hostile_server(reply: Reply) -> Iterator[Hostile]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)  # a blocked accept() does not notice close(): poll a flag
    stop = threading.Event()
    hostile = Hostile(url=f"http://127.0.0.1:{listener.getsockname()[1]}/range")

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with client:
                client.settimeout(15)
                try:
                    client.recv(65536)
                    reply(client, hostile)
                except OSError:
                    hostile.hung_up.set()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        stop.set()
        thread.join(timeout=20)
        listener.close()


def drip(client: socket.socket, hostile: Hostile) -> None:
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(DRIP_BYTES):
        client.sendall(b"0")
        hostile.dripped += 1
        time.sleep(0.05)


def drip_headers(client: socket.socket, hostile: Hostile) -> None:
    client.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(DRIP_BYTES):
        client.sendall(b"X")
        hostile.dripped += 1
        time.sleep(0.05)


def raw(data: bytes) -> Reply:
    def send(client: socket.socket, _hostile: Hostile) -> None:
        client.sendall(data)
    return send


GARBAGE: dict[str, Reply] = {
    "not_http": raw(b"HELLO\r\n\r\n"),
    "broken_chunks": raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n"),
    "150_headers": raw(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 150 + b"\r\n"),
    "70k_header_line": raw(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70_000 + b"\r\n\r\n"),
    "5000_digit_count": raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5037\r\n\r\n"
                            + b"A" * 35 + b":" + b"1" * 5000 + b"\n"),
    "non_ascii": raw("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nÉ:1".encode()),
    "to_file": raw(b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\n"
                   b"Content-Length: 0\r\n\r\n"),
    "to_ftp": raw(b"HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1:9/x\r\n"
                  b"Content-Length: 0\r\n\r\n"),
}


def closed_check(url: str) -> BreachedPasswords:
    return BreachedPasswords(HttpBreachRange(url, timeout_seconds=0.5),
                             BreachPolicy(fail_closed=True))


@pytest.mark.parametrize("reply", [drip, drip_headers], ids=["body", "headers"])
def test_a_dripping_server_is_cut_off_at_the_timeout(reply: Reply) -> None:
    with hostile_server(reply) as hostile:
        problem = closed_check(hostile.url).problem(CLEAN)
        assert problem is not None and problem.id == "password.breach_check_unavailable"
        # We hung up on it: it never got to send everything it meant to.
        assert hostile.hung_up.wait(15)
        assert hostile.dripped < DRIP_BYTES


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_garbage_from_the_corpus_is_unavailable_not_a_crash(name: str) -> None:
    with hostile_server(GARBAGE[name]) as hostile:
        problem = closed_check(hostile.url).problem(CLEAN)
    assert problem is not None and problem.id == "password.breach_check_unavailable"


def test_fail_open_keeps_the_conversation_going_whatever_the_corpus_says(
        slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object) -> None:
    with hostile_server(GARBAGE["not_http"]) as hostile:
        raw_settings = {**settings_data(slapd, redis_server.info.url),
                        "breached_passwords": {"enabled": True, "base_url": hostile.url,
                                               "timeout_seconds": 1.0, "fail": "open"}}
        renderer = RecordingRenderer()
        with demo_application(settings_from_dict(raw_settings), renderer=renderer,
                              audit_stream=io.StringIO()) as application:
            c = Conversation(application.engine, application.catalogue, renderer,
                             sender="hostile-corpus")
            prove_identity(c, "alice")
            c.say(CLEAN)
            assert c.asks("password.ask_confirm"), c.text()

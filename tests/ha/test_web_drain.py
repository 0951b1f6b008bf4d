"""Issue 14: SIGTERM to ``sspm web`` (gunicorn) lets the turn in flight finish and answer.

A real ``sspm web`` process on real slapd and Redis; the directory is reached through a gate
(a loopback TCP relay the test can hold shut), so a turn can be kept in flight for as long as
the test wants. The person's SMS "alice" is held at the directory; SIGTERM goes to the master;
once the server has stopped listening, the gate opens: the reply still arrives (TwiML with
the next prompt) and the server exits cleanly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.ports import free_port, wait_for_port
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from bot.services import Application
from tests.channels.twilio.support import signature
from tests.engine.conftest import (  # noqa: F401 - fixtures, composed like production
    app,
    audit_stream,
    clock,
    dialog_settings,
    hasher,
    renderer,
)

REPO = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://sspm.example.test"
AUTH_TOKEN = "test-twilio-auth-token-0123456789"
ALICE_MOBILE = "+15550001001"


class Gate:
    """A TCP relay to ``target``; while shut, bytes towards the target wait (none is lost)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._open = threading.Event()
        self._open.set()
        self.held = threading.Event()  # set when a byte waited at the shut gate
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def shut(self) -> None:
        self.held.clear()
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.set()
        for sock in self._sockets:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            self._sockets += [client, server]
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, gated: bool) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if gated and not self._open.is_set():
                self.held.set()
                self._open.wait(60)
            try:
                sink.sendall(data)
            except OSError:
                return


@pytest.fixture
def gate(slapd: SlapdInfo) -> Iterator[Gate]:
    parsed = urllib.parse.urlparse(slapd.url)
    relay = Gate((parsed.hostname or "127.0.0.1", parsed.port or 389))
    try:
        yield relay
    finally:
        relay.close()


def config(slapd: SlapdInfo, redis_url: str, ldap_port: int, folder: Path) -> Path:
    path = folder / "web.toml"
    path.write_text(f"""
public_url = "{PUBLIC_URL}"

[redis]
url = "{redis_url}"
key_prefix = "t:"

[audit]
path = "{folder / 'audit.log'}"

[helpdesk]
phone = "+1 555 0100"
email = "helpdesk@example.test"
registration_authority = "the IT desk"

[twilio]
account_sid = "AC{'0' * 32}"
from_number = "+15550009999"

[channels.sms]
captcha = false

[domains.DEFAULT]
url = "ldap://127.0.0.1:{ldap_port}"
base_dn = "{slapd.base_dn}"
bind_dn = "{slapd.service_dn}"
users_dn = "{PEOPLE_DN}"
protected_groups = ["{PROTECTED_GROUP_DN}"]
connect_timeout = 5.0
operation_timeout = 30.0
""")
    return path


def sms(port: int, body: str, sid: str) -> tuple[int, str]:
    params = {"From": ALICE_MOBILE, "To": "+15550009999", "Body": body, "MessageSid": sid}
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/twilio/sms", data=urllib.parse.urlencode(params).encode(),
        headers={"X-Twilio-Signature": signature(PUBLIC_URL + "/twilio/sms", params,
                                                 AUTH_TOKEN)})
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return response.status, response.read().decode()


def refused(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return False
    except OSError:
        return True


def test_sigterm_lets_the_turn_in_flight_answer(
        app: Application, slapd: SlapdInfo, redis_server: LocalRedis,  # noqa: F811
        gate: Gate, tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "web.log"
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "SSPM_SECRET_KEY": "test-secret-key-0123456789abcdef",
                   "SSPM_LDAP_BIND_PASSWORD": slapd.service_password,
                   "TWILIO_AUTH_TOKEN": AUTH_TOKEN}
    path = config(slapd, redis_server.info.url, gate.port, tmp_path)
    with log.open("wb") as stream:
        web = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(path), "web", "--port", str(port),
             "--workers", "1"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=stream,
            env=environment)
    try:
        assert wait_for_port(port, 60, web), log.read_text()
        status, reply = sms(port, "forgot", "SM1")
        assert status == 200 and "username" in reply, reply

        answer: dict[str, tuple[int, str]] = {}
        gate.shut()

        def send() -> None:
            try:
                answer["alice"] = sms(port, "alice", "SM2")
            except OSError as exc:  # the reply was lost: the worker died under the turn
                answer["alice"] = (0, repr(exc))

        turn = threading.Thread(target=send)
        turn.start()
        assert gate.held.wait(30), log.read_text()  # the turn waits on the directory
        web.send_signal(signal.SIGTERM)
        for _ in range(100):  # until the server stops listening (then the worker has heard)
            if refused(port):
                break
            time.sleep(0.05)
        gate.open()
        turn.join(60)
        status, reply = answer["alice"]
        assert status == 200 and "<Message>" in reply and "username" not in reply, reply
        assert web.wait(40) == 0
        assert "Traceback" not in log.read_text()
    finally:
        if web.poll() is None:
            web.kill()
            web.wait(10)

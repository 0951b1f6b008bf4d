"""The notifier on the whole product: real slapd and redis-server, the Twilio webhooks, and a
Telegram sender that can be pointed at the Bot API stand-in.

Directory events are made as they happen in life: wrong binds lock an account (ppolicy), an
administrator's modify sets a permanent lock, a person's own Password Modify starts the
password's age.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from ldap3 import MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection, Server

from bot.local_stack import SlapdInfo
from bot.local_stack.seed import BASE_DN, PEOPLE_DN
from bot.notifier import Notifier, build_notifier
from bot.notifier_lease import RedisLease
from bot.services import Application
from bot.web import create_app
from channels.catalogue import Catalogue
from config import Settings
from dialogs.memory import ManualClock
from tests.channels.twilio.support import FakeSms, web_settings
from tests.engine.conftest import demo_application
from tests.engine.conversation import RecordingRenderer

NO_QUIET_HOURS = {"quiet_start": "00:00", "quiet_end": "00:00"}


@dataclass
class ForwardingTelegram:
    """Records each Telegram text, and forwards it to a real sender once one is set."""

    sent: list[tuple[str, str]] = field(default_factory=list)
    target: Any = None

    def send_text(self, chat_id: str, text: str) -> None:
        self.sent.append((chat_id, text))
        if self.target is not None:
            self.target.send_text(chat_id, text)


@dataclass
class NotifierStack:
    settings: Settings
    application: Application
    flask: Flask
    sms: FakeSms
    telegram: ForwardingTelegram
    renderer: RecordingRenderer
    clock: ManualClock
    audit: io.StringIO
    slapd: SlapdInfo

    @property
    def catalogue(self) -> Catalogue:
        return self.application.catalogue

    def client(self) -> FlaskClient:
        """The Twilio webhooks' client (``tests.channels.twilio.test_sms.Texter`` texts it)."""
        return self.flask.test_client()

    def notifier(self) -> tuple[Notifier, RedisLease]:
        return build_notifier(self.application)

    def sent(self) -> list[tuple[str, str, str]]:
        """Every unsolicited or other outbound text: (channel, address, text)."""
        return ([("sms", to, text) for to, text in self.sms.sent]
                + [("telegram", chat, text) for chat, text in self.telegram.sent])

    def audit_records(self, event: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.audit.getvalue().splitlines() if line]
        return [line for line in lines if line["event"] == event]

    # -- the directory, as life changes it -------------------------------------------------

    def admin(self) -> Connection:
        return Connection(Server(self.slapd.url), self.slapd.admin_dn,
                          self.slapd.admin_password, auto_bind=True)

    def lock_by_wrong_binds(self, uid: str, times: int = 3) -> None:
        for _ in range(times):
            wrong = Connection(Server(self.slapd.url), f"uid={uid},{PEOPLE_DN}", "wrong-guess")
            assert not wrong.bind()

    def admin_unlock(self, uid: str) -> None:
        with self.admin() as admin:
            admin.modify(f"uid={uid},{PEOPLE_DN}", {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]})

    def lock_again(self, uid: str) -> None:
        """Unlocked by an administrator, then locked again by wrong binds: a new lock event."""
        self.admin_unlock(uid)
        time.sleep(1.1)  # a lock time is to the second: the next lock is a new event
        self.lock_by_wrong_binds(uid)

    def admin_lock(self, uid: str) -> None:
        with self.admin() as admin:
            assert admin.modify(f"uid={uid},{PEOPLE_DN}", {
                "pwdAccountLockedTime": [(MODIFY_REPLACE, ["000001010000Z"])]})

    def expire_in(self, uid: str, password: str, new_password: str, seconds: int) -> None:
        """A policy whose maximum age ends ``seconds`` after now, then the person's own change
        (which stamps pwdChangedTime now)."""
        policy = f"cn=short-{uid},ou=policies,{BASE_DN}"
        with self.admin() as admin:
            assert admin.add(policy, ["top", "device", "pwdPolicy"], {
                "pwdAttribute": "userPassword", "pwdMaxAge": str(seconds),
                "pwdLockout": "TRUE", "pwdMaxFailure": "3"})
            assert admin.modify(f"uid={uid},{PEOPLE_DN}",
                                {"pwdPolicySubentry": [(MODIFY_ADD, [policy])]})
        dn = f"uid={uid},{PEOPLE_DN}"
        with Connection(Server(self.slapd.url), dn, password, auto_bind=True) as own:
            assert own.extend.standard.modify_password(dn, password, new_password)


def two_pollers_running(notifiers: list[tuple[Notifier, RedisLease]],
                        sent: Callable[[], list[Any]]) -> None:
    """Run two pollers at once until something was sent (bounded: 20 s), then one second
    more (the other poller's chance to duplicate), then stop both."""
    stop = threading.Event()
    pollers = [threading.Thread(target=n.run, args=(lease, stop)) for n, lease in notifiers]
    for thread in pollers:
        thread.start()
    for _ in range(200):
        if sent():
            break
        stop.wait(0.1)
    stop.wait(1.0)
    stop.set()
    for thread in pollers:
        thread.join(30)


@contextmanager
def notifier_stack(slapd: SlapdInfo, redis_url: str, clock: ManualClock,
                   **notifier: Any) -> Iterator[NotifierStack]:
    settings = web_settings(slapd, redis_url, notifier={**NO_QUIET_HOURS, **notifier})
    sms, telegram = FakeSms(), ForwardingTelegram()
    renderer, audit = RecordingRenderer(), io.StringIO()
    with demo_application(settings, renderer=renderer, sms_sender=sms,
                          telegram_sender=telegram, clock=clock,
                          audit_stream=audit) as application:
        yield NotifierStack(settings, application, create_app(settings, application), sms,
                            telegram, renderer, clock, audit, slapd)

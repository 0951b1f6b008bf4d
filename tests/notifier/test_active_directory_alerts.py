"""Lock alerts and expiry reminders (issue 15) on a real Samba AD DC and Redis.

The AD attributes the notifier reads (``lockoutTime``, ``pwdLastSet``, the domain's
``maxPwdAge``, ``msDS-UserPasswordExpiryTimeComputed``, ``msDS-PSOApplied``) are read as the
delegated service account, not as an administrator. Locks come from wrong LDAPS binds, as a
person mistyping makes them. Every account is a fresh one (the one Samba is shared by the
session) and is deleted afterwards.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from ldap3 import BASE, MODIFY_ADD

from bot.local_stack import LocalRedis
from bot.local_stack.ad_seed import GROUPS_DN, LOCKOUT_THRESHOLD
from bot.local_stack.samba import SambaInfo, admin_connection
from bot.notifier import Notifier, build_notifier
from bot.notifier_lease import RedisLease
from bot.services import Application, build_application
from channels.telegram import TelegramNotifier
from config import Settings, settings_from_dict
from dialogs.answers import normalise_answer
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.memory import ManualClock
from dialogs.messages import Message
from directory import lock_events
from directory.lock_events import locked_since
from tests.channels.telegram.harness import TOKEN, harness
from tests.channels.twilio.support import AUTH_TOKEN, HELPDESK, PUBLIC_URL, FakeSms
from tests.directory.backends import SambaBackend
from tests.directory.conftest import samba  # noqa: F401 - the shared session fixture
from tests.engine.conftest import HASHER
from tests.engine.conversation import RecordingRenderer, recording_audio
from tests.notifier.support import NO_QUIET_HOURS, ForwardingTelegram, two_pollers_running

pytestmark = pytest.mark.skipif(
    shutil.which("samba-tool") is None,
    reason="needs Samba (apt-get install samba samba-ad-dc samba-dsdb-modules "
           "samba-vfs-modules winbind); CI installs it")

DAY = 86_400
PASSWORD = "Copper-Lantern-Drift-31"
ANSWERS = {"q.first_pet": "Biscuit", "q.first_school": "Saint Mary",
           "q.childhood_street": "Maple Avenue"}
PSO_CONTAINER = "CN=Password Settings Container,CN=System,"
NUMBERS = iter(range(710_000_001, 710_001_000))  # Telegram ids; mobiles end alike


def ad_notifier_settings(info: SambaInfo, redis_url: str) -> Settings:
    return settings_from_dict({
        "secret_key": "test-secret-key-0123456789abcdef",
        "default_domain": "PARTNERS",
        "redis": {"url": redis_url, "key_prefix": "t:"},
        "helpdesk": {"phone": HELPDESK, "email": "helpdesk@example.test"},
        "public_url": PUBLIC_URL,
        "twilio": {"auth_token": AUTH_TOKEN, "account_sid": "AC" + "0" * 32,
                   "from_number": "+15550009999"},
        "notifier": NO_QUIET_HOURS,
        "domains": {"PARTNERS": {
            "url": info.url, "dialect": "ad", "base_dn": info.base_dn,
            "bind_dn": info.service_dn, "bind_password": info.service_password,
            "users_dn": info.users_dn, "user_object_class": "user",
            "protected_groups": [info.protected_group], "tls_validate": False,
            "connect_timeout": 3.0, "operation_timeout": 5.0,
            "attributes": {"username": "sAMAccountName", "display_name": "displayName",
                           "enrolment": "sspmEnrolment"}}},
    })


@dataclass
class Person:
    login: str
    dn: str
    telegram_id: int | None
    mobile: str


@dataclass
class AdAlertStack:
    info: SambaInfo
    application: Application
    sms: FakeSms
    telegram: ForwardingTelegram
    renderer: RecordingRenderer
    clock: ManualClock
    audit: io.StringIO
    backend: SambaBackend
    cleanups: list[str] = field(default_factory=list)  # DNs deleted last, after the users

    def notifier(self) -> tuple[Notifier, RedisLease]:
        return build_notifier(self.application)

    def sent(self) -> list[tuple[str, str, str]]:
        return ([("sms", to, text) for to, text in self.sms.sent]
                + [("telegram", chat, text) for chat, text in self.telegram.sent])

    def audit_records(self, event: str) -> list[dict[str, Any]]:
        lines = [json.loads(line) for line in self.audit.getvalue().splitlines() if line]
        return [line for line in lines if line["event"] == event]

    def person(self, *, enrolled: bool = True, telegram: bool = True, language: str = "en",
               disabled: bool = False, protected: bool = False) -> Person:
        """A fresh AD account; enrolled through the product's own directory layer."""
        login = self.backend.new_user(PASSWORD, disabled=disabled, protected_group=protected)
        number = next(NUMBERS)
        telegram_id = number if telegram else None
        mobile = f"+1555{number % 10_000_000:07d}"
        person = Person(login, f"CN={login},{self.info.users_dn}", telegram_id, mobile)
        if enrolled:
            directory = self.application.directories["PARTNERS"]
            account = directory.find_account(login)
            assert account is not None, login
            record = EnrolmentRecord(
                questions=tuple((q, HASHER.hash(normalise_answer(a)))
                                for q, a in ANSWERS.items()),
                mobile=mobile, telegram_id=str(telegram_id or ""), language=language)
            directory.write_enrolment(account, record.to_json())
        return person

    def lock_by_wrong_binds(self, person: Person) -> None:
        self.backend.fail_logins(person.dn, LOCKOUT_THRESHOLD)
        assert self.backend.bind(person.dn, PASSWORD) == "refused"  # locked: even the right one

    def domain_max_age(self) -> float:
        with admin_connection(self.info.url, self.info.admin_dn,
                              self.info.admin_password) as admin:
            admin.search(self.info.base_dn, "(objectClass=*)", search_scope=BASE,
                         attributes=["maxPwdAge"])
            return abs(int(admin.response[0]["raw_attributes"]["maxPwdAge"][0])) / 10_000_000

    def fine_grained_policy(self, name: str, max_age: int, applies_to: str) -> None:
        """A PSO with its own maximum age, applied to ``applies_to`` (Domain Admins only)."""
        name = f"CN={name},{PSO_CONTAINER}{self.info.base_dn}"
        with admin_connection(self.info.url, self.info.admin_dn,
                              self.info.admin_password) as admin:
            assert admin.add(name, "msDS-PasswordSettings", {
                "msDS-PasswordSettingsPrecedence": "1",
                "msDS-PasswordReversibleEncryptionEnabled": "FALSE",
                "msDS-PasswordHistoryLength": "0", "msDS-PasswordComplexityEnabled": "FALSE",
                "msDS-MinimumPasswordLength": "0", "msDS-MinimumPasswordAge": "0",
                "msDS-MaximumPasswordAge": str(-max_age * 10_000_000),
                "msDS-LockoutThreshold": str(LOCKOUT_THRESHOLD),
                "msDS-LockoutObservationWindow": str(-1800 * 10_000_000),
                "msDS-LockoutDuration": "0", "msDS-PSOAppliesTo": applies_to}), admin.result
        self.cleanups.append(name)

    def group(self, name: str, *members: str) -> str:
        dn = f"CN={name},{GROUPS_DN}"
        with admin_connection(self.info.url, self.info.admin_dn,
                              self.info.admin_password) as admin:
            assert admin.add(dn, "group", {"sAMAccountName": name}), admin.result
            for member in members:
                assert admin.modify(dn, {"member": [(MODIFY_ADD, [member])]}), admin.result
        self.cleanups.insert(0, dn)  # outer groups are added last, so deleted first
        return dn


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(time.time())


@pytest.fixture
def ad_stack(samba: SambaInfo, redis_server: LocalRedis, redis_client: object,  # noqa: F811
             clock: ManualClock) -> Iterator[AdAlertStack]:
    settings = ad_notifier_settings(samba, redis_server.info.url)
    sms, telegram = FakeSms(), ForwardingTelegram()
    renderer, audit = RecordingRenderer(), io.StringIO()
    application = build_application(settings, audit_stream=audit, hasher=HASHER, clock=clock,
                                    renderer=renderer, audio_renderer=recording_audio(),
                                    sms_sender=sms, telegram_sender=telegram)
    stack = AdAlertStack(samba, application, sms, telegram, renderer, clock, audit,
                         SambaBackend(samba, application.directories["PARTNERS"]))
    try:
        yield stack
    finally:
        try:
            stack.backend.remove_users()
            with admin_connection(samba.url, samba.admin_dn, samba.admin_password) as admin:
                for dn in stack.cleanups:
                    admin.delete(dn)
        finally:
            application.close()


# -- lock alerts --------------------------------------------------------------------------------


def test_an_ad_lock_by_wrong_binds_gets_exactly_one_alert_on_its_bound_channel(
        ad_stack: AdAlertStack) -> None:
    person = ad_stack.person()
    first, _lease = ad_stack.notifier()
    second, _other = ad_stack.notifier()
    first.run_pass()  # the watch starts now: the seeded carol's old lock is not news
    ad_stack.lock_by_wrong_binds(person)
    assert first.run_pass().sent == 1
    ad_stack.clock.advance(60)
    assert first.run_pass().sent == 0  # the same lockoutTime, seen again
    assert second.run_pass().sent == 0  # another poller (another host) sees it too
    [(channel, address, text)] = ad_stack.sent()
    assert (channel, address) == ("telegram", str(person.telegram_id))  # before SMS
    assert person.login in text and "UNLOCK" in text and "HELP" in text
    [record] = ad_stack.audit_records("alert")
    assert record["result"] == "sent" and record["kind"] == "lock"
    assert record["who"] == f"PARTNERS\\{person.login}"


def test_an_sms_only_ad_account_gets_its_alert_by_sms_in_its_language(
        ad_stack: AdAlertStack) -> None:
    person = ad_stack.person(telegram=False, language="fr")
    notifier, _lease = ad_stack.notifier()
    notifier.run_pass()
    ad_stack.lock_by_wrong_binds(person)
    notifier.run_pass()
    [(channel, address, text)] = ad_stack.sent()
    assert (channel, address) == ("sms", person.mobile)
    assert "DEVERROUILLER" in text and "AIDE" in text


def test_unenrolled_disabled_or_protected_ad_accounts_get_nothing(
        ad_stack: AdAlertStack) -> None:
    notifier, _lease = ad_stack.notifier()
    notifier.run_pass()
    for person in (ad_stack.person(enrolled=False), ad_stack.person(disabled=True),
                   ad_stack.person(protected=True)):  # protected: in a nested Tier0 group
        ad_stack.backend.fail_logins(person.dn, LOCKOUT_THRESHOLD)
    report = notifier.run_pass()
    assert report.found >= 3 and report.sent == 0  # AD locks a disabled account too
    assert ad_stack.sent() == [] and ad_stack.audit_records("alert") == []


def test_unlock_after_an_ad_lock_alert_unlocks_with_the_usual_proof(
        ad_stack: AdAlertStack) -> None:
    person = ad_stack.person()
    asyncio.run(_unlock_on_telegram(ad_stack, person))
    assert ad_stack.backend.bind(person.dn, PASSWORD) == "ok"  # lockoutTime=0: binds again


async def _unlock_on_telegram(stack: AdAlertStack, locked: Person) -> None:
    app = stack.application
    notifier, _lease = stack.notifier()
    notifier.run_pass()
    stack.lock_by_wrong_binds(locked)
    assert locked.telegram_id is not None
    async with harness(app.engine, app.catalogue) as h:
        stack.telegram.target = TelegramNotifier(TOKEN, h.stand_in.base_url, timeout=5)
        await asyncio.to_thread(notifier.run_pass)
        [alert] = h.stand_in.of("sendMessage")
        assert alert.chat_id == str(locked.telegram_id) and "UNLOCK" in alert.params["text"]
        person = h.person(locked.telegram_id, stack.renderer)
        await person.say("UNLOCK")
        assert "unlock" in person.texts() and "username" in person.texts(), person.texts()
        await person.say(locked.login)
        await person.solve_captcha()
        await person.answer_questions(ANSWERS, {q: app.catalogue.render(Message.of(q), "en")
                                                for q in ANSWERS})
        assert "unlocked" in person.texts(), person.texts()


# -- expiry reminders ---------------------------------------------------------------------------


def test_an_ad_password_expiring_in_7_days_gets_one_reminder_not_one_per_poll(
        ad_stack: AdAlertStack) -> None:
    """The domain's maxPwdAge (42 days) and the account's own pwdLastSet (now): the notifier's
    clock moves to 7 days before that expiry, as the weeks would."""
    person = ad_stack.person()
    max_age = ad_stack.domain_max_age()
    assert 8 * DAY < max_age < 400 * DAY, max_age
    ad_stack.clock.advance(max_age - 7 * DAY + 3600)
    notifier, _lease = ad_stack.notifier()
    notifier.run_pass()
    for _ in range(3):  # later passes, each past the reminder interval: nothing new
        ad_stack.clock.advance(3601)
        notifier.run_pass()
    mine = [(c, a, t) for c, a, t in ad_stack.sent() if a == str(person.telegram_id)]
    assert len(mine) == 1 and len(ad_stack.sent()) == 1, ad_stack.sent()
    assert "7 day" in mine[0][2] and "CHANGE" in mine[0][2]
    ad_stack.clock.advance(6 * DAY - 3 * 3601)  # under a day left: the next threshold, once
    notifier.run_pass()
    ad_stack.clock.advance(3601)
    notifier.run_pass()
    texts = [t for _c, _a, t in ad_stack.sent()]
    assert len(texts) == 2 and "1 day" in texts[1], texts
    assert [r["kind"] for r in ad_stack.audit_records("alert")] == ["expiry", "expiry"]


def test_a_fine_grained_policy_expiring_in_7_days_gets_its_reminder(
        ad_stack: AdAlertStack) -> None:
    """A PSO's shorter maximum age, applied directly or through a nested group: outside the
    domain-wide window, and the service account cannot read the PSO itself."""
    direct = ad_stack.person()
    ad_stack.fine_grained_policy(f"pso-{direct.login}", 7 * DAY - 3600, direct.dn)
    nested = ad_stack.person(telegram=False)
    inner = ad_stack.group(f"Short Inner {nested.login}", nested.dn)
    outer = ad_stack.group(f"Short Outer {nested.login}", inner)
    ad_stack.fine_grained_policy(f"pso-{nested.login}", 7 * DAY - 3600, outer)
    untouched = ad_stack.person()  # the domain's 42 days: nothing yet
    notifier, _lease = ad_stack.notifier()
    notifier.run_pass()
    ad_stack.clock.advance(3601)
    notifier.run_pass()
    sent = sorted((c, a) for c, a, t in ad_stack.sent() if "7 day" in t)
    assert sent == sorted([("telegram", str(direct.telegram_id)), ("sms", nested.mobile)]), \
        ad_stack.sent()
    assert len(ad_stack.sent()) == 2  # the second pass: no repeat
    assert str(untouched.telegram_id) not in [a for _c, a, _t in ad_stack.sent()]


def test_two_running_pollers_send_one_ad_alert(ad_stack: AdAlertStack) -> None:
    person = ad_stack.person()
    ad_stack.lock_by_wrong_binds(person)  # before either starts: within the first look-back
    two_pollers_running([ad_stack.notifier(), ad_stack.notifier()], ad_stack.sent)
    assert [a for _c, a, _t in ad_stack.sent()] == [str(person.telegram_id)]


def test_the_ad_lock_search_is_narrowed_by_the_dcs_update_sequence_numbers(
        ad_stack: AdAlertStack, monkeypatch: pytest.MonkeyPatch) -> None:
    """lockoutTime is not indexed on AD: from the second search on, uSNChanged (indexed) bounds
    it, and a lock made since is still found."""
    filters: list[str] = []
    searched = lock_events.paged_on

    def spy(connection: Any, directory: Any, operation: str, search_filter: str,
            *args: Any) -> list[dict[str, Any]]:
        filters.append(search_filter)
        return searched(connection, directory, operation, search_filter, *args)

    monkeypatch.setattr(lock_events, "paged_on", spy)
    monkeypatch.setattr(lock_events, "_usn_marks", {})  # a process that just started
    directory = ad_stack.application.directories["PARTNERS"]
    person = ad_stack.person()
    assert locked_since(directory, time.time()) == []
    since = time.time()  # after the DC's mark was taken
    ad_stack.lock_by_wrong_binds(person)
    [found] = locked_since(directory, since)
    assert found.login == person.login and found.at >= since - 1
    assert "uSNChanged" not in filters[0] and "(uSNChanged>=" in filters[1], filters

"""Property 7: no password is ever typed into an SMS.

An SMS body goes through the carrier, the phone's notification screen and its backups: a
password typed there is written down. Change and enrol over SMS used to ask for the current
(and new) password in plain SMS. They must go through the single-use password page, as forgot
does, and the page must be no easier to attack than the chat was:

- (a) change over SMS: the reply is a link; the page takes current + new password; the change
  is proven by binds, and no password appears in an SMS, in Redis, in the audit or in a log;
- (b) wrong current passwords on the page, across spellings of the login and many links used
  in parallel, stop at the per-account budget and never lock the account;
- (c) enrol over SMS reaches the questions only once the person signed in on the page, and
  that link cannot be used again;
- (d) replaying and reordering ("OK" before the sign-in, a sign-in from someone else's
  conversation or as someone else) moves nothing.

Every message the engine sends on SMS is recorded by id, so a prompt that asks for a password
(``change.ask_current``, ``enrol.ask_password``, ``password.ask_new``...) is caught whatever
its wording.
"""

from __future__ import annotations

import io
import logging
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.web import create_app
from dialogs.actions import Action, Ask, Say, SendSms
from dialogs.events import ConversationKey, Event
from dialogs.ports import ChannelMemo, Lookup
from tests.adversarial.directory_state import policy_state
from tests.channels.twilio.support import (
    PUBLIC_URL,
    FakeSms,
    WebStack,
    post_signed,
    twiml,
    web_settings,
)
from tests.channels.twilio.test_voice import Caller
from tests.directory.test_openldap import binds
from tests.engine.conftest import demo_application
from tests.engine.conversation import RecordingRenderer
from tests.engine.test_security import redis_dump

# Prompts that ask the person to type a password into the conversation itself.
PASSWORD_PROMPTS = frozenset({"change.ask_current", "enrol.ask_password", "password.ask_new",
                              "password.ask_confirm"})
LINK = re.compile(re.escape(PUBLIC_URL) + r"/password/([A-Za-z0-9_-]{20,})")
CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
NEW_PASSWORD = "Harbor-Lilac-Thimble-77"
STRANGER = "+15550007777"  # a phone bound to no account
_sids = count(1)


@dataclass
class Recorded:
    """Every action the engine returned for an SMS conversation, in order."""

    actions: list[tuple[str, Action]] = field(default_factory=list)

    def ids(self, sender: str | None = None) -> list[str]:
        found = []
        for who, action in self.actions:
            if sender is not None and who != sender:
                continue
            if isinstance(action, Say | Ask | SendSms):
                found.append(action.message.id)
        return found


@dataclass
class SmsStack:
    web: WebStack
    audit: io.StringIO
    recorded: Recorded

    def session_state(self, sender: str) -> str:
        loaded = self.web.application.engine.sessions.load(str(ConversationKey("sms", sender)))
        return "" if isinstance(loaded, Lookup) else str(loaded.get("state", ""))


@pytest.fixture
def sms(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: redis.Redis,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[SmsStack]:
    settings = web_settings(slapd, redis_server.info.url)
    outbound, renderer, audit = FakeSms(), RecordingRenderer(), io.StringIO()
    with demo_application(settings, renderer=renderer, sms_sender=outbound,
                          audit_stream=audit) as application:
        recorded = Recorded()
        engine = application.engine
        handle = engine.handle

        def recording(key: ConversationKey, event: Event,
                      memo: ChannelMemo | None = None) -> list[Action]:
            actions = handle(key, event, memo=memo)
            if key.channel == "sms":
                recorded.actions.extend((key.sender, action) for action in actions)
            return actions

        monkeypatch.setattr(engine, "handle", recording)
        web = WebStack(settings, application, create_app(settings, application), outbound,
                       renderer)
        yield SmsStack(web, audit, recorded)


class Phone:
    """A phone texting the bot over signed webhooks; every reply's bodies kept."""

    def __init__(self, stack: SmsStack, sender: str) -> None:
        self.stack = stack
        self.client = stack.web.client()
        self.sender = sender
        self.bodies: list[str] = []

    def send(self, body: str, sid: str | None = None) -> str:
        params = {"From": self.sender, "To": "+15550009999", "Body": body,
                  "MessageSid": sid or f"SM{next(_sids):032d}", "NumMedia": "0"}
        reply = twiml(post_signed(self.client, "/twilio/sms", params))
        texts = [_body(m) for m in reply.findall("Message")]
        self.bodies.extend(texts)
        return "\n".join(texts)

    def start(self, menu_number: str, login: str) -> str:
        """Menu -> the flow -> the login -> the MMS captcha, read as a person would."""
        assert "Reply 1-6." in self.send("Hello")
        self.send(menu_number)
        self.send(login)
        return self.send(self.stack.web.renderer.last_text)


def _body(message: ET.Element) -> str:
    body = message.find("Body")
    return (body.text if body is not None else message.text) or ""


def token_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(1)


def open_page(client: FlaskClient, token: str) -> tuple[TestResponse, str]:
    page = client.get(f"/password/{token}")
    match = CSRF.search(page.get_data(as_text=True))
    return page, match.group(1) if match else ""


def submit(client: FlaskClient, token: str, csrf: str, **form: str) -> TestResponse:
    return client.post(f"/password/{token}", data={"csrf": csrf, **form})


def assert_no_password_prompt_on_sms(stack: SmsStack) -> None:
    asked = PASSWORD_PROMPTS & set(stack.recorded.ids())
    assert not asked, f"SMS asked for a password: {asked}"


def assert_nowhere(stack: SmsStack, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
                   phones: list[Phone], *secrets: str) -> None:
    """No password in an SMS body (either way), in Redis, in the audit, or in a log line."""
    outbound = "\n".join(text for _, text in stack.web.sms.sent)
    places = {"sms replies": "\n".join(b for p in phones for b in p.bodies),
              "outbound sms": outbound, "redis": redis_dump(redis_client),
              "audit": stack.audit.getvalue(), "logs": caplog.text}
    for secret in secrets:
        for name, text in places.items():
            assert secret not in text, f"{secret!r} found in {name}"


# (a) change over SMS ---------------------------------------------------------------------------

def test_no_password_is_ever_typed_into_an_sms_change_goes_through_the_page(
        sms: SmsStack, slapd: SlapdInfo, redis_client: redis.Redis,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    alice = demo_user("alice")
    phone = Phone(sms, STRANGER)  # alice, texting from a borrowed phone
    reply = phone.start("3", "alice")
    token = token_in(reply)
    assert sms.recorded.ids(STRANGER)[-1] == "change.link"
    assert_no_password_prompt_on_sms(sms)
    assert sms.session_state(STRANGER) == ""  # the SMS conversation is over: nothing to type

    client = sms.web.client()
    page, csrf = open_page(client, token)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and csrf
    assert 'name="current"' in html and 'name="password"' in html and 'name="confirm"' in html
    assert "Your new password must be 12 to 128 characters long." in html

    # A weak new password is refused before any bind: no guess is spent on it.
    weak = submit(client, token, csrf, current=alice.password, password="alice1234",
                  confirm="alice1234")
    assert weak.status_code == 422
    assert not policy_state(slapd, "alice").get("pwdFailureTime")
    # A wrong current password: said plainly, the link stays usable.
    wrong = submit(client, token, csrf, current="Not-Alices-Password-1", password=NEW_PASSWORD,
                   confirm=NEW_PASSWORD)
    assert wrong.status_code == 422 and "could not sign you in" in wrong.get_data(as_text=True)
    done = submit(client, token, csrf, current=alice.password, password=NEW_PASSWORD,
                  confirm=NEW_PASSWORD)
    assert done.status_code == 200 and "Password changed" in done.get_data(as_text=True)
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)
    # Single use: the link is gone, and alice's bound mobile heard about the change.
    again = submit(client, token, csrf, current=NEW_PASSWORD, password="Other-" + NEW_PASSWORD,
                   confirm="Other-" + NEW_PASSWORD)
    assert again.status_code == 410
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert any(to == alice.mobile and "just changed" in text for to, text in sms.web.sms.sent)
    assert_nowhere(sms, redis_client, caplog, [phone], alice.password, NEW_PASSWORD,
                   "Not-Alices-Password-1")


def test_no_password_is_ever_typed_into_an_sms_temporary_password_changed_on_the_page(
        sms: SmsStack, slapd: SlapdInfo) -> None:
    """The must-change (temporary) password is changed on the page, as in the chat."""
    dave = demo_user("dave")
    phone = Phone(sms, dave.mobile)
    token = token_in(phone.start("3", "1004"))  # his employee number
    client = sms.web.client()
    _, csrf = open_page(client, token)
    done = submit(client, token, csrf, current=dave.password, password=NEW_PASSWORD,
                  confirm=NEW_PASSWORD)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert binds(slapd, dave.dn, NEW_PASSWORD) and not binds(slapd, dave.dn, dave.password)
    assert_no_password_prompt_on_sms(sms)


def test_no_password_is_ever_typed_into_an_sms_unknown_login_gets_the_same_link(
        sms: SmsStack) -> None:
    """No enumeration: an unknown login gets the same reply and the same page, which answers
    like a wrong password and stops after the same number of tries."""
    known = Phone(sms, STRANGER).start("3", "bob")
    unknown = Phone(sms, "+15550007778").start("3", "nobody-here")
    assert LINK.sub("<link>", known) == LINK.sub("<link>", unknown)
    client = sms.web.client()
    pages = []
    for reply in (known, unknown):
        token = token_in(reply)
        _, csrf = open_page(client, token)
        for n in range(3):
            response = submit(client, token, csrf, current=f"Wrong-{n}", password=NEW_PASSWORD,
                              confirm=NEW_PASSWORD)
            pages.append((n, response.status_code,
                          re.sub(r'value="[0-9a-f]{64}"|/password/[\w-]+', "",
                                 response.get_data(as_text=True))))
    assert pages[:3] == pages[3:]
    assert [status for _, status, _ in pages[:3]] == [422, 403, 410]


# (b) wrong current passwords on the page -------------------------------------------------------

def test_no_password_is_ever_typed_into_an_sms_page_guesses_never_lock_the_account(
        sms: SmsStack, slapd: SlapdInfo) -> None:
    """Links under every spelling, from several phones, guessed in parallel."""
    alice = demo_user("alice")
    spellings = ("alice", "ALICE", "1001", "ａｌｉｃｅ", "𝐚lice")
    tokens = [token_in(Phone(sms, f"+1555000780{n}").start("3", spelling))
              for n, spelling in enumerate(spellings)]
    statuses: list[int] = []
    guard = threading.Lock()

    def guess(token: str, n: int) -> None:
        client = sms.web.client()
        _, csrf = open_page(client, token)
        for attempt in range(3):
            response = submit(client, token, csrf, current=f"Wrong-{n}-{attempt}",
                              password=NEW_PASSWORD, confirm=NEW_PASSWORD)
            with guard:
                statuses.append(response.status_code)
            if response.status_code != 422:
                return

    threads = [threading.Thread(target=guess, args=(token, n)) for n, token in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    state = policy_state(slapd, "alice")
    assert not state.get("pwdAccountLockedTime"), state
    assert len(state.get("pwdFailureTime", [])) <= 2, state  # the budget, below slapd's 3
    assert statuses.count(422) <= 2 and 403 in statuses, statuses
    # Once spent, even the right password on a fresh link is not sent to the directory.
    token = token_in(Phone(sms, "+15550007899").start("3", "alice"))
    client = sms.web.client()
    _, csrf = open_page(client, token)
    stopped = submit(client, token, csrf, current=alice.password, password=NEW_PASSWORD,
                     confirm=NEW_PASSWORD)
    assert stopped.status_code == 403
    assert "Too many wrong passwords" in stopped.get_data(as_text=True)
    assert "contact the help desk" in stopped.get_data(as_text=True)
    assert binds(slapd, alice.dn, alice.password)  # never locked, never changed
    assert not policy_state(slapd, "alice").get("pwdAccountLockedTime")


# (c) enrol over SMS ----------------------------------------------------------------------------

def test_no_password_is_ever_typed_into_an_sms_enrol_signs_in_on_the_page(
        sms: SmsStack, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bob = demo_user("bob")
    phone = Phone(sms, bob.mobile)
    reply = phone.start("4", "bob")
    token = token_in(reply)
    assert "reply OK" in reply
    assert sms.session_state(bob.mobile) == "enrol:await_sign_in"

    # (d) "OK" before signing in moves nothing.
    assert "not signed in" in phone.send("OK")
    assert sms.session_state(bob.mobile) == "enrol:await_sign_in"

    client = sms.web.client()
    page, csrf = open_page(client, token)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'name="current"' in html
    assert 'name="password"' not in html and "password.js" not in html  # nothing new to set
    wrong = submit(client, token, csrf, current="Not-Bobs-Password-1")
    assert wrong.status_code == 422
    assert sms.session_state(bob.mobile) == "enrol:await_sign_in"
    assert "not signed in" in phone.send("OK")
    signed = submit(client, token, csrf, current=bob.password)
    assert signed.status_code == 200 and "reply OK" in signed.get_data(as_text=True)
    # The link is spent: signing in again (or by whoever saw the link) does nothing more.
    assert submit(client, token, csrf, current=bob.password).status_code == 410
    assert client.get(f"/password/{token}").status_code == 410

    phone.send("OK")
    state = sms.session_state(bob.mobile)
    assert state.startswith("enrol:") and state not in ("enrol:await_sign_in",
                                                         "enrol:password"), state
    assert "enrol.not_signed_in" not in sms.recorded.ids(bob.mobile)[-3:]
    assert_no_password_prompt_on_sms(sms)
    assert_nowhere(sms, redis_client, caplog, [phone], bob.password, "Not-Bobs-Password-1")


def test_no_password_is_ever_typed_into_an_sms_enrol_must_change_is_refused(
        sms: SmsStack) -> None:
    dave = demo_user("dave")
    phone = Phone(sms, dave.mobile)
    token = token_in(phone.start("4", "dave"))
    client = sms.web.client()
    _, csrf = open_page(client, token)
    refused = submit(client, token, csrf, current=dave.password)
    assert refused.status_code == 403
    assert "must be changed first" in refused.get_data(as_text=True)
    assert "not signed in" in phone.send("OK")
    assert sms.session_state(dave.mobile) == "enrol:await_sign_in"


# (d) replay and reorder ------------------------------------------------------------------------

def test_no_password_is_ever_typed_into_an_sms_sign_in_marks_only_its_own_conversation(
        sms: SmsStack, slapd: SlapdInfo) -> None:
    """An attacker's conversation gains nothing from bob signing in on bob's own link, a
    sign-in as another account does not count, and a replayed "OK" is processed once."""
    bob = demo_user("bob")
    attacker = Phone(sms, STRANGER)
    attacker.start("4", "bob")  # the attacker asks to enrol as bob, from their phone
    victim = Phone(sms, bob.mobile)
    bob_token = token_in(victim.start("4", "bob"))
    client = sms.web.client()
    _, csrf = open_page(client, bob_token)
    assert submit(client, bob_token, csrf, current=bob.password).status_code == 200
    assert "not signed in" in attacker.send("OK")
    assert sms.session_state(STRANGER) == "enrol:await_sign_in"

    # The attacker's phone: a link for their own account (hana's stands in), then a new
    # enrolment as alice; signing in on the old link as hana does not let alice's go on.
    mallory = demo_user("hana")
    other = Phone(sms, "+15550007790")
    own_token = token_in(other.start("4", mallory.uid))
    other.send("menu")
    other.start("4", "alice")
    _, own_csrf = open_page(client, own_token)
    assert submit(client, own_token, own_csrf, current=mallory.password).status_code == 200
    assert "not signed in" in other.send("OK")
    assert sms.session_state("+15550007790") == "enrol:await_sign_in"

    # Bob's own conversation goes on once; the same MessageSid again is not a second turn.
    victim.send("OK", sid="SM-ok-once")
    moved = sms.session_state(bob.mobile)
    assert moved not in ("enrol:await_sign_in", ""), moved
    assert victim.send("OK", sid="SM-ok-once") == ""
    assert sms.session_state(bob.mobile) == moved
    assert_no_password_prompt_on_sms(sms)


# Voice: no password spoken or keyed either ------------------------------------------------------

def test_no_password_is_ever_typed_into_an_sms_nor_said_on_the_phone(sms: SmsStack) -> None:
    """Voice has no page to send a caller to: change and enrol are refused with a pointer to
    SMS and Telegram, before any password prompt (change: before the username, even)."""
    change = Caller(sms.web, sender=STRANGER, call_sid="CA-change")
    change.call()
    change.answer(digits="3")
    assert "never said or typed here" in change.said() and "Telegram" in change.said()
    assert change.response.find("Gather") is None

    enrol = Caller(sms.web, sender=STRANGER, call_sid="CA-enrol")
    enrol.call()
    enrol.answer(digits="4")
    enrol.answer(digits="1002")
    enrol.answer(digits=enrol.hear_captcha())
    assert "never said or typed here" in enrol.said(), enrol.said()
    assert enrol.response.find("Gather") is None


def test_an_expired_password_never_enrolled_gets_the_help_desk_on_the_page(
        sms: SmsStack, slapd: SlapdInfo) -> None:
    """Issue 12, no dead ends: grace's password expired and she never enrolled, so "I forgot
    my password" cannot help her; the page hands her to the help desk with a ticket."""
    grace = demo_user("grace")
    phone = Phone(sms, grace.mobile)
    token = token_in(phone.start("3", "grace"))
    client = sms.web.client()
    _, csrf = open_page(client, token)
    page = submit(client, token, csrf, current=grace.password, password=NEW_PASSWORD,
                  confirm=NEW_PASSWORD)
    text = page.get_data(as_text=True)
    assert "I forgot my password" not in text, text
    assert "no security questions are set up" in text and "ticket" in text, text
    escalations = list(sms.web.application.services.escalations.recent(5))
    assert escalations and escalations[0][1].reason == "expired_not_enrolled"
    assert not binds(slapd, grace.dn, NEW_PASSWORD)  # nothing was changed

"""Voice callers: spoken digit captcha, then spoken answers or, by config, the voice PIN."""

from __future__ import annotations

import pytest

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from dialogs.actions import SendSms
from dialogs.events import Event
from tests.directory.test_openldap import binds, ldapwhoami
from tests.engine.conftest import CountingHasher
from tests.engine.conversation import Conversation


@pytest.fixture
def dialog_settings() -> dict[str, object]:
    return {"voice_factor": "pin"}


def caller(c: Conversation, number: str) -> Conversation:
    return c.other(number, channel="voice")


def test_voice_pin_proves_a_caller_by_employee_number(conversation: Conversation,
                                                      slapd: SlapdInfo) -> None:
    c = caller(conversation, "+15550001001")
    c.start()
    c.choose("forgot")
    c.send_event(Event("digits", "1001"))  # alice's employee number, keyed in
    c.solve_captcha()
    assert c.asks("proof.ask_pin"), c.text()
    c.send_event(Event("digits", "4826"))
    c.send_event(Event("digits", c.last_code()))
    assert c.said("forgot.temporary_sent"), c.text()
    sms = [a for a in c.actions if isinstance(a, SendSms)][-1]
    password = str(sms.message.param_dict()["password"])
    assert "Password must be changed" in ldapwhoami(slapd, demo_user("alice").dn, password).stderr


def test_voice_pin_prompt_is_the_same_for_unknown_callers(conversation: Conversation,
                                                          hasher: CountingHasher) -> None:
    c = caller(conversation, "+15550009999")
    c.start()
    c.choose("forgot")
    c.send_event(Event("digits", "9999"))
    c.solve_captcha()
    assert c.asks("proof.ask_pin")
    before = hasher.kdf_calls
    c.send_event(Event("digits", "4826"))
    assert hasher.kdf_calls == before + 1  # the decoy PIN costs the same KDF work
    assert c.asks("proof.ask_code")


def test_spoken_answers_when_the_factor_is_answers(app: Application, conversation: Conversation,
                                                   slapd: SlapdInfo) -> None:
    from dataclasses import replace

    app.engine.services = replace(app.services, settings=replace(
        app.services.settings, voice_factor="answers"))
    c = caller(conversation, "+15550001003")
    c.start()
    c.choose("unlock")
    c.send_event(Event("speech", "1003"))
    c.solve_captcha()
    answers = demo_answers("carol")
    for _ in range(2):
        c.send_event(Event("speech", answers[c.asked_question()]))
    c.send_event(Event("digits", c.last_code()))
    assert c.said("unlock.done"), c.text()
    assert binds(slapd, demo_user("carol").dn, demo_user("carol").password)

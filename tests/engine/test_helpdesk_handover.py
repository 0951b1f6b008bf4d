"""The hand-over to the help desk (issue 12): one line for the ticket, said once.

Transcripts through the engine (console, voice), through signed Twilio SMS and voice webhooks,
on real slapd and Redis.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import cast

import pytest
import redis

from bot.local_stack import LocalRedis, SlapdInfo
from bot.services import Application
from dialogs.actions import TransferToHelpdesk
from dialogs.ports import Escalation
from tests.channels.twilio.support import WebStack, web_settings, web_stack
from tests.channels.twilio.test_sms import Texter
from tests.channels.twilio.test_voice import Caller
from tests.engine.conversation import Conversation
from tests.engine.test_forgot_password import prove_identity

PASSWORD_TYPED_AS_PROBLEM = "Correct-Horse-42"  # alice's real password


def last_escalation(app: Application) -> Escalation:
    return next(iter(app.services.escalations.recent(1)))[1]


@pytest.fixture
def stack(slapd: SlapdInfo, redis_server: LocalRedis,
          redis_client: redis.Redis) -> Iterator[WebStack]:
    with web_stack(web_settings(slapd, redis_server.info.url)) as built:
        yield built


def test_the_hand_over_asks_what_the_problem_is_and_puts_it_on_the_ticket(
        conversation: Conversation, app: Application) -> None:
    c = conversation
    c.start()
    c.choose("helpdesk")
    assert c.asks("helpdesk.ask_problem") and not c.ended()
    assert not list(app.services.escalations.recent(1))  # nothing raised before the line
    c.say("My account is locked since this morning")
    assert c.said("helpdesk.handover") and c.ended()
    escalation = last_escalation(app)
    assert escalation.reason == "requested_by_person"
    assert dict(escalation.extra) == {"problem": "My account is locked since this morning"}


def test_the_hand_over_says_it_once(conversation: Conversation, app: Application) -> None:
    c = conversation
    c.start()
    c.say("helpdesk")
    lines = c.say("skip")
    ticket = next(iter(app.services.escalations.recent(1)))[0]
    assert sum(ticket in line for line in lines) == 1, lines
    assert not any("Transferring" in line for line in lines), lines
    assert last_escalation(app).extra == ()  # skipped: no line on the ticket


def test_the_problem_line_is_one_trimmed_line_without_control_characters(
        conversation: Conversation, app: Application) -> None:
    c = conversation
    c.start()
    c.choose("helpdesk")
    c.say("Cannot\nlog in\x1b[31m \u202eafter\ttravel " + "x" * 1000)
    problem = dict(last_escalation(app).extra)["problem"]
    assert problem.startswith("Cannot log in [31m after travel x")
    assert len(problem) == 300
    assert all(ch.isprintable() for ch in problem)


def test_a_password_typed_as_the_problem_reaches_only_the_ticket(
        conversation: Conversation, app: Application, audit_stream: io.StringIO,
        redis_client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c = conversation
    c.start()
    c.choose("helpdesk")
    c.say(PASSWORD_TYPED_AS_PROBLEM)
    # The agents see it (they tell the person to change it); nothing else keeps it.
    assert dict(last_escalation(app).extra) == {"problem": PASSWORD_TYPED_AS_PROBLEM}
    assert PASSWORD_TYPED_AS_PROBLEM not in caplog.text
    assert PASSWORD_TYPED_AS_PROBLEM not in audit_stream.getvalue()
    # Sessions, counters, tickets remembered: every plain value in Redis (the escalation
    # stream, which is the ticket, is no plain value).
    for key in redis_client.scan_iter():
        if redis_client.type(key) == b"string":
            value = cast(bytes | None, redis_client.get(key)) or b""
            assert PASSWORD_TYPED_AS_PROBLEM.encode() not in value, key


def test_the_helpdesk_word_mid_flow_asks_too_and_keeps_what_was_established(
        conversation: Conversation, app: Application) -> None:
    c = conversation
    prove_identity(c, "alice")
    c.say("helpdesk")
    assert c.asks("helpdesk.ask_problem")
    c.say("The new password is refused every time")
    escalation = last_escalation(app)
    assert escalation.passed == ("identity_proof",) and escalation.username == "alice"
    assert dict(escalation.extra) == {"problem": "The new password is refused every time"}


def test_cancel_at_the_problem_question_raises_no_ticket(
        conversation: Conversation, app: Application) -> None:
    c = conversation
    c.start()
    c.choose("helpdesk")
    c.say("cancel")
    assert c.said("common.cancelled") and not list(app.services.escalations.recent(1))


def test_automatic_escalations_do_not_ask(conversation: Conversation,
                                          app: Application) -> None:
    c = conversation
    prove_identity(c, "erin")  # protected: a person must handle it
    assert not c.asks("helpdesk.ask_problem") and c.ended()
    assert last_escalation(app).reason == "protected_account"


def test_a_call_is_transferred_at_once_and_told_once(conversation: Conversation,
                                                     app: Application) -> None:
    c = conversation.other("+15550001003", channel="voice")
    c.start()
    c.say("helpdesk")
    assert not c.asks("helpdesk.ask_problem")
    assert any(isinstance(a, TransferToHelpdesk) for a in c.actions)
    assert not c.said("helpdesk.handover")  # the voice channel says the transfer itself


def test_over_sms_the_line_reaches_the_ticket_and_the_hand_over_reads_once(
        stack: WebStack) -> None:
    person = Texter(stack, "+15557770101")
    person.send("Hello")
    asked = person.text(person.send("helpdesk"))
    assert "In one line, what is the problem?" in asked, asked
    reply = person.text(person.send("Locked out after my holidays"))
    ticket, escalation = next(iter(stack.application.services.escalations.recent(1)))
    assert reply.count(ticket) == 1, reply
    assert "I am handing you over" in reply and "Help desk ticket" not in reply, reply
    assert dict(escalation.extra) == {"problem": "Locked out after my holidays"}
    assert escalation.channel == "sms"


def test_on_a_call_zero_transfers_and_says_it_once(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-handover-once")
    caller.call()
    caller.answer(digits="0")
    said = caller.said()
    assert caller.response.find("Dial") is not None, said
    assert said.count("Your ticket is") == 1 and "handing you over" not in said, said

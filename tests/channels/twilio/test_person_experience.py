"""Issue 12, "the person", on SMS and voice: signed Twilio webhooks on real slapd and Redis."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from bot.local_stack import LocalRedis, SlapdInfo
from bot.web import create_app
from dialogs.memory import ManualClock
from tests.channels.twilio.support import PUBLIC_URL, FakeSms, WebStack, web_settings
from tests.channels.twilio.test_sms import Texter, prove_by_sms
from tests.channels.twilio.test_voice import Caller
from tests.engine.conftest import demo_application
from tests.engine.conversation import RecordingRenderer


def test_an_sms_senders_language_lasts_beyond_one_conversation(stack: WebStack) -> None:
    person = Texter(stack)
    person.send("Hello")
    person.send("6")  # Language / Langue
    chosen = person.text(person.send("2"))  # Français
    assert "français" in chosen.casefold(), chosen
    person.send("annuler")
    again = person.text(person.send("Bonjour"))
    assert "Assistant mots de passe" in again, again  # not English again


def test_a_menu_number_right_after_a_conversation_ended_is_acted_on(stack: WebStack) -> None:
    person = Texter(stack)
    reply = prove_by_sms(stack, person, "alice")
    assert re.search(re.escape(PUBLIC_URL) + r"/password/", reply), reply  # that one ended
    helpdesk = person.text(person.send("5"))  # the help desk, as in the menu last seen
    assert "what is the problem" in helpdesk, helpdesk
    assert "Forgot password" not in helpdesk  # not the menu again


def test_voice_help_speaks_of_keys_not_pictures_or_typing(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-help")
    caller.call()
    caller.answer(digits="2")  # unlock
    caller.answer(digits="1003")
    caller.answer(digits=caller.hear_captcha())
    assert "Question" in caller.said(), caller.said()
    caller.answer(speech="help")
    said = caller.said()
    assert "employee number" in said and "Press star" in said, said
    assert "picture" not in said and "type 'cancel'" not in said, said


@pytest.fixture
def clocked(slapd: SlapdInfo, redis_server: LocalRedis,
            redis_client: object) -> Iterator[tuple[WebStack, ManualClock]]:
    """The web app on a clock the test moves."""
    settings = web_settings(slapd, redis_server.info.url)
    sms, renderer, clock = FakeSms(), RecordingRenderer(), ManualClock(time.time())
    with demo_application(settings, renderer=renderer, sms_sender=sms,
                          clock=clock) as application:
        yield WebStack(settings, application, create_app(settings, application), sms,
                       renderer), clock


def test_a_caller_hears_when_less_than_a_minute_is_left(
        clocked: tuple[WebStack, ManualClock]) -> None:
    stack, clock = clocked
    caller = Caller(stack, call_sid="CA-clock")
    caller.call()
    caller.answer(digits="2")
    caller.answer(digits="1003")
    assert "minute" not in caller.said()
    digits = caller.hear_captcha()
    clock.advance(100)
    caller.answer(digits=digits)
    clock.advance(100)
    caller.answer(speech="not the answer")
    assert "Less than a minute" not in caller.said()  # 100 s left
    clock.advance(50)
    caller.answer(speech="not the answer either")
    assert "Less than a minute is left." in caller.said(), caller.said()  # 50 s left

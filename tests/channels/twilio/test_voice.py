"""The phone channel over signed Twilio webhooks: TwiML read back with ElementTree."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlparse

from flask.testing import FlaskClient

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from tests.channels.twilio.support import (
    HELPDESK,
    PUBLIC_URL,
    WebStack,
    post_signed,
    question_id,
    twiml,
)
from tests.directory.test_openldap import binds
from tests.engine.conversation import recording_audio

CAROL = "+15550001003"


class Caller:
    """A phone call: keys and speech in, the TwiML Twilio would play out."""

    def __init__(self, stack: WebStack, sender: str = CAROL, call_sid: str = "CA-1") -> None:
        self.client: FlaskClient = stack.client()
        self.sender = sender
        self.call_sid = call_sid
        self.response: ET.Element = ET.Element("Response")

    def call(self) -> ET.Element:
        params = {"CallSid": self.call_sid, "From": self.sender, "To": "+15550009999"}
        self.response = twiml(post_signed(self.client, "/twilio/voice", params))
        return self.response

    def answer(self, digits: str = "", speech: str = "") -> ET.Element:
        gather = self.gather()
        url = gather.get("action", "")
        assert url.startswith(PUBLIC_URL + "/twilio/voice/step?step="), url
        params = {"CallSid": self.call_sid, "From": self.sender}
        if digits:
            params["Digits"] = digits
        if speech:
            params["SpeechResult"] = speech
            params["Confidence"] = "0.9"
        path = url.removeprefix(PUBLIC_URL)
        self.response = twiml(post_signed(self.client, path, params))
        return self.response

    def gather(self) -> ET.Element:
        gather = self.response.find("Gather")
        assert gather is not None, self.said()
        return gather

    def said(self) -> str:
        return " | ".join(say.text or "" for say in self.response.iter("Say"))

    def hear_captcha(self) -> str:
        """The audio captcha's digits, as the caller hears them: the call plays our audio
        (twice, inside the ``<Gather>``) and never says a digit (issue 11)."""
        plays = [play.text or "" for play in self.gather().iter("Play")]
        assert len(plays) == 2 and plays[0] != plays[1], plays  # one single-use URL per play
        assert plays[0].startswith(PUBLIC_URL + "/twilio/media/"), plays
        assert not re.search(r"\d", self.said()), self.said()
        return recording_audio().last_answer

    def hung_up(self) -> bool:
        return self.response.find("Hangup") is not None


def test_phone_unlock_by_employee_number(stack: WebStack, slapd: SlapdInfo) -> None:
    carol = demo_user("carol")
    caller = Caller(stack)
    caller.call()
    menu = caller.gather()
    assert menu.get("input") == "dtmf speech" and menu.get("numDigits") == "1"
    assert menu.get("language") == "en-CA" and "Unlock my account: press 2." in caller.said()
    caller.answer(digits="2")
    assert "employee number" in caller.said() and caller.gather().get("numDigits") is None
    caller.answer(digits="1003")
    # The captcha: our audio, played twice; 4 to 6 digits keyed back in, then hash.
    digits = caller.hear_captcha()
    gather = caller.gather()
    assert gather.get("numDigits") is None and gather.get("finishOnKey") == "#"
    assert "press hash" in caller.said() and 4 <= len(digits) <= 6
    caller.answer(digits=digits)
    answers = demo_answers("carol")
    for _ in range(2):
        assert "Question" in caller.said(), caller.said()
        caller.answer(speech=answers[question_id(stack.catalogue, caller.said())])
    assert "Key in the code" in caller.said(), caller.said()
    caller.answer(digits=stack.sms.last_code(CAROL))
    # Carol enrolled in French: the outcome is said in French, with the French voice.
    assert "compte est déverrouillé" in caller.said(), caller.said()
    assert any(say.get("language") == "fr-CA" for say in caller.response.iter("Say"))
    assert caller.hung_up()
    assert binds(slapd, carol.dn, carol.password)  # unlocked, password unchanged


def test_silence_is_asked_again_once_then_a_polite_goodbye(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-silent")
    caller.call()
    caller.answer()
    assert "Sorry, I did not get that." in caller.said() and caller.gather() is not None
    caller.answer(speech="the weather is nice")  # garbage under a menu counts the same
    assert "Goodbye" in caller.said() and caller.hung_up()
    assert caller.response.find("Gather") is None


def test_one_retry_resets_after_a_good_answer(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-retry")
    caller.call()
    caller.answer()
    caller.answer(speech="unlock my account")  # speech picks the menu choice
    assert "employee number" in caller.said(), caller.said()
    caller.answer()
    assert "Sorry, I did not get that." in caller.said() and not caller.hung_up()


def test_zero_transfers_to_the_help_desk(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-zero")
    caller.call()
    caller.answer(digits="2")
    caller.answer(digits="0")
    dial = caller.response.find("Dial")
    assert dial is not None, caller.said()
    number = dial.find("Number")
    assert number is not None and number.text == HELPDESK.replace(" ", "")
    assert "Your ticket is T " in caller.said()
    # The agent who answers hears the ticket id first (Twilio fetches the whisper URL).
    whisper_url = number.get("url", "")
    assert whisper_url.startswith(PUBLIC_URL + "/twilio/voice/whisper?ticket=T-")
    path = whisper_url.removeprefix(PUBLIC_URL)
    client = stack.flask.test_client()
    said = twiml(post_signed(client, path, {"CallSid": "CA-agent-leg"})).findtext("Say") or ""
    assert said.startswith("Help desk call from the password assistant, ticket T ")
    assert post_signed(client, path, {"CallSid": "CA-agent-leg"},
                       token="forged").status_code == 403


def test_star_goes_back_to_the_menu(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-star")
    caller.call()
    caller.answer(digits="2")
    caller.answer(digits="*")
    assert "What would you like to do?" in caller.said()
    assert caller.gather().get("numDigits") == "1"


def test_retried_step_is_processed_once(stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-twice")
    caller.call()
    action = caller.gather().get("action", "")
    first = caller.answer(digits="2")
    params = {"CallSid": "CA-twice", "From": CAROL, "Digits": "2"}
    again = twiml(post_signed(caller.client, action.removeprefix(PUBLIC_URL), params))
    assert ET.tostring(again) == ET.tostring(first)
    next_step = urlparse(caller.gather().get("action", "")).query
    assert next_step == "step=2"

"""Pure pieces of the Twilio channels: segments, reply parsing, outbound SMS, fail-closed start."""

from __future__ import annotations

import io
from contextlib import redirect_stderr
from typing import Any

import pytest
from twilio.http.response import Response as TwilioResponse

from bot.local_stack import LocalRedis, SlapdInfo
from bot.services import build_application
from bot.web import create_app
from bot.web_command import run_web
from channels.catalogue import Catalogue
from channels.twilio.inputs import Prompt, sms_event, voice_event
from channels.twilio.segments import encoding, segments
from channels.twilio.sms_sender import SmsSendError, TwilioSmsSender
from config import ConfigError
from dialogs.events import Event
from dialogs.messages import Message
from tests.channels.twilio.support import web_settings

SAMPLE = {"count": 6, "authority": "the IT desk", "phone": "+1 555 0100", "number": 1,
          "total": 2, "question_msg": "q.first_pet", "minutes": 10, "ticket": "T-7KQ4MZ2X",
          "url": "https://sspm.example.test/password/" + "x" * 32}


def test_segments_follow_gsm7_and_ucs2() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 307) == 3
    assert encoding("réinitialisé à") == "gsm7"  # é and à are in GSM-7
    assert encoding("reçu") == "ucs2" and segments("ç" + "a" * 69) == 1
    assert segments("ç" + "a" * 70) == 2
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension: two septets
    assert segments("") == 0


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_sms_text_fits_one_gsm7_segment(language: str) -> None:
    catalogue = Catalogue.load()
    for message_id in sorted(catalogue.ids(language)):
        if message_id.startswith("sms."):
            text = catalogue.render(Message.of(message_id, **SAMPLE), language)
            assert encoding(text) == "gsm7" and segments(text) == 1, (message_id, text)


def test_sms_replies_become_events() -> None:
    menu = Prompt(expect="choice", choices=("forgot", "unlock"))
    assert sms_event(menu, " 2 ", "SM1") == Event.chose("unlock", event_id="SM1")
    assert sms_event(menu, "Unlock", "SM1") == Event.chose("unlock", event_id="SM1")
    assert sms_event(menu, "help", "SM1").kind == "text"
    code = Prompt(expect="digits")
    assert sms_event(code, "123 456", "SM2") == Event("digits", "123456", message_ref="SM2",
                                                      event_id="SM2")
    assert sms_event(Prompt(), "alice", "SM3").text == "alice"


def test_voice_answers_become_events() -> None:
    menu = Prompt(expect="choice", choices=("forgot", "unlock", "helpdesk"),
                  labels=("I forgot my password", "Déverrouiller mon compte", "Help desk"))
    assert voice_event(menu, "2", "", "c:1") == Event.chose("unlock", event_id="c:1")
    assert voice_event(menu, "", "déverrouiller", "c:1") == Event.chose("unlock", event_id="c:1")
    assert voice_event(menu, "", "I forgot my password", "c:1") == Event.chose(
        "forgot", event_id="c:1")
    assert voice_event(menu, "", "number three", "c:1") is None
    assert voice_event(menu, "", "three", "c:1") == Event.chose("helpdesk", event_id="c:1")
    assert voice_event(menu, "9", "", "c:1") is None
    assert voice_event(menu, "*", "", "c:1") == Event.typed("menu", event_id="c:1")
    digits = Prompt(expect="digits", digits=4)
    assert voice_event(digits, "", "four two one nine", "c:2") == Event("digits", "4219",
                                                                       event_id="c:2")
    assert voice_event(digits, "", "no idea", "c:2") is None
    text = Prompt()
    assert voice_event(text, "", "one zero zero three", "c:3") == Event("digits", "1003",
                                                                       event_id="c:3")
    assert voice_event(text, "", "Nineteen eighty four", "c:3") == Event(
        "speech", "Nineteen eighty four", event_id="c:3")
    assert voice_event(text, "", "", "c:3") is None


class RecordingHttp:
    """Stands in for twilio's HTTP client: no network, the request is kept."""

    def __init__(self, status: int = 201) -> None:
        self.status = status
        self.requests: list[dict[str, Any]] = []

    def request(self, method: str, uri: str, **kwargs: Any) -> TwilioResponse:
        self.requests.append({"method": method, "uri": uri, **kwargs})
        return TwilioResponse(self.status, '{"sid": "SM1", "status": "queued"}' if
                              self.status < 400 else '{"code": 21211, "message": "bad"}')


def test_sms_sender_uses_the_messages_api() -> None:
    http = RecordingHttp()
    TwilioSmsSender("AC" + "1" * 32, "token", "+15550009999",
                    http_client=http).send_sms("+15550001001", "Your code is 123456")
    [sent] = http.requests
    assert sent["method"] == "POST" and sent["uri"].endswith("/Messages.json")
    assert sent["data"] == {"To": "+15550001001", "From": "+15550009999",
                            "Body": "Your code is 123456"}


def test_sms_sender_translates_twilio_errors() -> None:
    sender = TwilioSmsSender("AC" + "1" * 32, "token", "+1555", http_client=RecordingHttp(400))
    with pytest.raises(SmsSendError) as raised:
        sender.send_sms("+15550001001", "Your code is 123456")
    assert "123456" not in str(raised.value)


def test_the_default_sender_has_a_bounded_timeout() -> None:
    sender = TwilioSmsSender("AC" + "1" * 32, "token", "+15550009999")
    assert 0 < sender._client.http_client.timeout <= 10


def test_a_missing_auth_token_or_public_url_stops_the_start(slapd: SlapdInfo,
                                                           redis_server: LocalRedis) -> None:
    url = redis_server.info.url
    no_token = web_settings(slapd, url, twilio={})
    no_url = web_settings(slapd, url, public_url="")
    mms_off = web_settings(slapd, url, sms={"mms_captcha": False})
    for settings, key in ((no_token, "twilio.auth_token"), (no_url, "public_url"),
                          (mms_off, "channels.sms.captcha")):
        application = build_application(settings, audit_stream=io.StringIO())
        try:
            with pytest.raises(ConfigError) as raised:
                create_app(settings, application)
        finally:
            application.close()
        assert raised.value.key == key
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        assert run_web(no_token, "127.0.0.1", 0) == 2
    assert "TWILIO_AUTH_TOKEN" in stderr.getvalue()


def test_mms_off_works_with_the_sms_captcha_off(slapd: SlapdInfo,
                                                redis_server: LocalRedis) -> None:
    # The media route stays while the voice captcha plays its audio from it (issue 11).
    for voice_captcha, media_route in ((True, True), (False, False)):
        settings = web_settings(slapd, redis_server.info.url, sms={"mms_captcha": False},
                                channels={"sms": {"captcha": False},
                                          "voice": {"captcha": voice_captcha}})
        application = build_application(settings, audit_stream=io.StringIO())
        try:
            rules = {rule.rule for rule in create_app(settings, application).url_map.iter_rules()}
        finally:
            application.close()
        assert "/twilio/sms" in rules
        assert ("/twilio/media/<token>" in rules) is media_route

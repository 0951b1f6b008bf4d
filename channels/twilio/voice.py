"""``POST /twilio/voice`` (a call comes in) and ``POST /twilio/voice/step?step=N`` (an answer).

Verify (signature, before the views run) → parse (keys and speech against the last prompt) →
``engine.handle`` → render a ``VoiceResponse``. The step number travels in the ``<Gather>``
action URL (signed by Twilio with the rest of the URL), so each answer is the event
``{CallSid}:{step}``: a retried step is processed once and answered with the TwiML stored for
the call. Silence or an answer that fits nothing is re-prompted once, then the call ends
politely. ``0`` hands the caller to the help desk from anywhere; ``*`` is the menu. A hand-over
dials the help desk only while the caller's number is under its cap of transfers
(``allow_transfer``: ``Outbound.allow_call``, ``[outbound] calls_per_destination``); beyond it
the caller is told to call the help desk directly and the call ends, so one number pressing
``0`` over and over cannot ring the agents' phones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, request
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.exceptions import HTTPException

from channels.catalogue import Catalogue, normalise_language
from channels.console import DialogEngine
from channels.twilio.calls import ChannelRecords
from channels.twilio.inputs import Prompt, voice_event
from channels.twilio.media import MEDIA_PATH, CaptchaMedia
from channels.twilio.signature import TwilioSignature
from channels.twilio.texts import own_text
from channels.twilio.voice_render import VOICES, VoiceRenderer
from dialogs.actions import Action, Notify, SendSms, TransferToHelpdesk
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message

CHANNEL = "voice"
KIND = "call"
HELPDESK_KEY = "0"
HELPDESK_CHOICE = "helpdesk"  # the engine's menu choice for the hand-over
RETRIES = 1  # silence or garbage is asked again once, then the call ends

Dispatch = Callable[[SendSms | Notify, str], bool]
ErrorHook = Callable[[str, BaseException], None]
AllowTransfer = Callable[[str], bool]  # the caller's number → may we dial the help desk for it


class VoiceChannel:
    """The phone conversation: what the views call once a request is known to be Twilio's."""

    def __init__(self, engine: DialogEngine, catalogue: Catalogue, records: ChannelRecords,
                 dispatch: Dispatch, *, public_url: str, language: str,
                 helpdesk_number: str, allow_transfer: AllowTransfer,
                 media: CaptchaMedia | None = None) -> None:
        self._engine = engine
        self._media = media
        self._catalogue = catalogue
        self._records = records
        self._dispatch = dispatch
        self._base = public_url.rstrip("/")
        self._language = language
        self._helpdesk = helpdesk_number
        self._allow_transfer = allow_transfer

    def start(self, call_sid: str, caller: str) -> str:
        record = self._records.load(KIND, call_sid)
        actions = self._engine.handle(ConversationKey(CHANNEL, caller),
                                      Event("start", event_id=f"{call_sid}:0"))
        if not actions:
            return self._replay(record)
        record = {"caller": caller, "language": self._language, "retries": 0}
        return self._finish(call_sid, record, actions, next_step=1)

    def step(self, call_sid: str, step: int, digits: str, speech: str) -> str:
        record = self._records.load(KIND, call_sid)
        if not record:
            return self._goodbye("voice.call_expired", self._language)
        if step != record.get("step"):
            return self._replay(record)  # a retried (or stale) step: answered once already
        key = ConversationKey(CHANNEL, str(record["caller"]))
        event_id = f"{call_sid}:{step}"
        if digits.strip() == HELPDESK_KEY:
            return self._after(call_sid, record, self._to_helpdesk(key, event_id), step)
        event = voice_event(Prompt.from_record(record.get("prompt")), digits, speech, event_id)
        if event is not None:
            record["retries"] = 0
            return self._after(call_sid, record, self._engine.handle(key, event), step)
        return self._retry(call_sid, record, key, event_id, step)

    def _retry(self, call_sid: str, record: dict[str, Any], key: ConversationKey,
               event_id: str, step: int) -> str:
        retries = int(record.get("retries", 0))
        language = str(record.get("language", self._language))
        if retries >= RETRIES:
            self._records.delete(KIND, call_sid)
            return self._goodbye("voice.goodbye_no_input", language)
        record["retries"] = retries + 1
        actions = self._engine.handle(key, Event("timeout", event_id=event_id))
        return self._after(call_sid, record, actions, step,
                           before=(Message.of("voice.no_input"),))

    def whisper(self, ticket: str, language: str) -> str:
        response = VoiceResponse()
        spelled = " ".join(ch for ch in ticket if ch.isalnum())
        voice = VOICES.get(normalise_language(language), VOICES["en"])
        response.say(own_text(self._catalogue, "voice.whisper", normalise_language(language),
                              ticket=spelled), voice=voice.say_voice, language=voice.say_language)
        return str(response)

    def _to_helpdesk(self, key: ConversationKey, event_id: str) -> list[Action]:
        # A global engine command: the ticket keeps what the call had established.
        return self._engine.handle(key, Event.typed(HELPDESK_CHOICE, event_id=event_id))

    def _after(self, call_sid: str, record: dict[str, Any], actions: list[Action], step: int,
               before: tuple[Message, ...] = ()) -> str:
        if not actions:
            return self._replay(record)
        return self._finish(call_sid, record, actions, step + 1, before)

    def _finish(self, call_sid: str, record: dict[str, Any], actions: list[Action],
                next_step: int, before: tuple[Message, ...] = ()) -> str:
        url = f"{self._base}/twilio/voice/step?step={next_step}"
        # Counted only when this turn hands over: a retried step replays its stored TwiML.
        transfer = any(isinstance(action, TransferToHelpdesk) for action in actions)
        dial_allowed = not transfer or self._allow_transfer(str(record.get("caller", "")))
        renderer = VoiceRenderer(self._catalogue, str(record.get("language", self._language)),
                                 url, self._helpdesk, dial_allowed=dial_allowed,
                                 publish=self._publish if self._media is not None else None)
        turn = renderer.render(actions, before)
        for action, language in turn.outbound:
            self._dispatch(action, language)
        xml = str(turn.twiml)
        if turn.prompt is not None:
            record["prompt"] = turn.prompt.to_record()
        record.update(step=next_step, language=turn.language, twiml=xml)
        self._records.save(KIND, call_sid, record)
        return xml

    def _publish(self, wav: bytes) -> str:
        """The audio captcha at a single-use URL for ``<Play>``."""
        assert self._media is not None
        return self._base + MEDIA_PATH + self._media.publish(wav, "audio/wav")

    def _replay(self, record: dict[str, Any]) -> str:
        stored = record.get("twiml")
        if isinstance(stored, str) and stored:
            return stored
        return self._goodbye("voice.call_expired", str(record.get("language", self._language)))

    def _goodbye(self, message_id: str, language: str) -> str:
        voice = VOICES.get(language, VOICES["en"])
        response = VoiceResponse()
        response.say(own_text(self._catalogue, message_id, language), voice=voice.say_voice,
                     language=voice.say_language)
        response.hangup()
        return str(response)

    def failed(self) -> str:
        return self._goodbye("common.internal_error", self._language)


def twiml(xml: str) -> Response:
    return Response(xml, mimetype="application/xml")


def voice_blueprint(channel: VoiceChannel, signature: TwilioSignature,
                    on_error: ErrorHook) -> Blueprint:
    blueprint = Blueprint("twilio_voice", __name__)
    signature.protect(blueprint)

    @blueprint.post("/twilio/voice")
    def incoming_call() -> Response:
        call_sid, caller = _required("CallSid"), _required("From")
        return twiml(channel.start(call_sid, caller))

    @blueprint.post("/twilio/voice/step")
    def answer() -> Response:
        step = request.args.get("step", "")
        if not step.isdecimal():
            abort(400)
        form = request.form
        return twiml(channel.step(_required("CallSid"), int(step), form.get("Digits", ""),
                                  form.get("SpeechResult", "")))

    @blueprint.post("/twilio/voice/whisper")
    def whisper() -> Response:
        """Played to the help desk agent who answers a transferred call, before connecting."""
        ticket = "".join(ch for ch in request.args.get("ticket", "") if ch.isalnum() or ch == "-")
        return twiml(channel.whisper(ticket[:16], request.args.get("lang", "en")))

    @blueprint.errorhandler(Exception)
    def failed(exc: Exception) -> Response | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        on_error(CHANNEL, exc)
        return twiml(channel.failed())

    return blueprint


def _required(name: str) -> str:
    value = request.form.get(name, "")
    if not value:
        abort(400)
    return value

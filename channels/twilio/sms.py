"""``POST /twilio/sms``: one inbound SMS → one engine turn → a TwiML ``MessagingResponse``.

Verify (signature, before this view runs) → parse (the last prompt maps "2" to a choice) →
``engine.handle`` → render. The last prompt is the channel's memo, read and written inside
the engine's two Redis round trips (issue 13), not in two more of its own. A retried
``MessageSid`` is processed once: the engine returns no action and the reply is empty. A
captcha goes out as an MMS image from a single-use URL; an audio captcha as a link to a
single-use WAV ("Listen: <url>") in a message of its own, since MMS audio is patchy across
carriers and handsets (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, abort, request
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.exceptions import HTTPException

from channels.catalogue import Catalogue
from channels.console import MemoEngine
from channels.twilio.calls import ChannelRecords
from channels.twilio.inputs import Prompt, sms_event
from channels.twilio.media import MEDIA_PATH, CaptchaMedia
from channels.twilio.signature import TwilioSignature
from channels.twilio.sms_render import SmsPart, SmsRenderer, SmsTurn, pack
from channels.twilio.texts import channel_text, own_text
from dialogs.actions import Action, Notify, SendSms
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message
from dialogs.ports import MemoWrite

CHANNEL = "sms"
MAX_BODY = 1600  # Twilio's own limit for one inbound message

Dispatch = Callable[[SendSms | Notify, str], bool]


class SmsChannel:
    """The SMS conversation: what the view calls once the request is known to be Twilio's."""

    def __init__(self, engine: MemoEngine, catalogue: Catalogue, records: ChannelRecords,
                 media: CaptchaMedia | None, dispatch: Dispatch, *, public_url: str,
                 language: str) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._records = records
        self._media = media
        self._dispatch = dispatch
        self._base = public_url.rstrip("/")
        self._language = language

    def receive(self, sender: str, body: str, message_sid: str) -> MessagingResponse:
        reading = _SmsReading(SmsRenderer(self._catalogue, self._language), body[:MAX_BODY],
                              message_sid, self._records.ttl_seconds)
        actions = self._engine.handle(ConversationKey(CHANNEL, sender), reading.plain(),
                                      memo=reading)
        # Rendered inside the turn when the engine ran it; else (duplicate, outage) now.
        turn = reading.turn if reading.turn is not None else reading.renderer.render(actions)
        for action, language in turn.outbound:
            self._dispatch(action, language)
        return self._reply(turn)

    def _reply(self, turn: SmsTurn) -> MessagingResponse:
        reply = MessagingResponse()
        texts: list[str] = []
        for part in turn.parts:
            if part.audio_wav is not None:
                texts += [part.text, *self._listen(part.audio_wav, part.language)]
                continue
            if part.image_png is None:
                texts.append(part.text)
                continue
            self._add_texts(reply, texts)
            texts = []
            self._add_media(reply, part)
        self._add_texts(reply, texts)
        return reply

    def _listen(self, wav: bytes, language: str) -> list[str]:
        """The audio challenge's link, once, as its own text (packed if it fits)."""
        if self._media is None:
            return []
        url = self._base + MEDIA_PATH + self._media.publish(wav, "audio/wav")
        return [own_text(self._catalogue, "sms.captcha_listen", language, url=url)]

    @staticmethod
    def _add_texts(reply: MessagingResponse, texts: list[str]) -> None:
        for text in pack(texts):
            reply.message(text)

    def _add_media(self, reply: MessagingResponse, part: SmsPart) -> None:
        message = reply.message()
        message.body(part.text)
        if self._media is not None and part.image_png is not None:
            message.media(self._base + MEDIA_PATH + self._media.publish(part.image_png))

    def unavailable(self) -> MessagingResponse:
        reply = MessagingResponse()
        reply.message(channel_text(self._catalogue, CHANNEL, Message.of("common.internal_error"),
                                   self._language))
        return reply


class _SmsReading:
    """One inbound SMS read with the last prompt (the memo); remembers the next prompt."""

    def __init__(self, renderer: SmsRenderer, body: str, sid: str, ttl_seconds: int) -> None:
        self.renderer = renderer
        self.body = body
        self.sid = sid
        self.ttl_seconds = ttl_seconds
        self.turn: SmsTurn | None = None

    def plain(self) -> Event:
        """The message as typed text: what the engine's delivery id is taken from."""
        return sms_event(Prompt(), self.body, self.sid)

    def event(self, memo: dict[str, Any]) -> Event:
        return sms_event(Prompt.from_record(memo.get("prompt")), self.body, self.sid)

    def remember(self, actions: list[Action]) -> MemoWrite | None:
        self.turn = self.renderer.render(actions)
        if self.turn.prompt is None:
            return None
        return MemoWrite({"prompt": self.turn.prompt.to_record()}, self.ttl_seconds)


def twiml(response: MessagingResponse) -> Response:
    return Response(str(response), mimetype="application/xml")


ErrorHook = Callable[[str, BaseException], None]


def sms_blueprint(channel: SmsChannel, signature: TwilioSignature,
                  on_error: ErrorHook) -> Blueprint:
    blueprint = Blueprint("twilio_sms", __name__)
    signature.protect(blueprint)

    @blueprint.post("/twilio/sms")
    def inbound_sms() -> Response:
        form = request.form
        sender, sid = form.get("From", ""), form.get("MessageSid", "")
        if not sender or not sid:
            abort(400)
        return twiml(channel.receive(sender, form.get("Body", ""), sid))

    @blueprint.errorhandler(Exception)
    def failed(exc: Exception) -> Response | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        on_error(CHANNEL, exc)
        return twiml(channel.unavailable())

    return blueprint

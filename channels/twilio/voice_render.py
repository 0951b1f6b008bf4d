"""Actions → one TwiML ``VoiceResponse`` (pure: no I/O).

Says are spoken in the conversation's language (English or French voice); the last question
of the turn becomes a ``<Gather input="dtmf speech">`` that posts to the next step, with
``numDigits`` where the number of keys is known (a menu, the spoken captcha) and the caller
may barge in. The captcha is our audio challenge (issue 11: digits in several voices over
babble, which speech recognisers stumble on), ``<Play>``ed twice inside the ``<Gather>`` from
single-use URLs (``publish``), so the caller keys in while listening; its length varies (4 to
6), so the caller ends with hash. Only when audio cannot be rendered are bare digits read with
the TTS voice (the fallback), digit by digit, twice. A hand-over says the ticket
and ``<Dial>``s the help desk, unless the caller's transfers are capped (``dial_allowed``,
decided by the channel's limit check): then it says to call the help desk directly; the end
of a conversation hangs up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.twiml.voice_response import Gather, VoiceResponse

from channels.catalogue import Catalogue, normalise_language
from channels.twilio.inputs import Prompt
from channels.twilio.texts import channel_text, own_text
from dialogs.actions import (
    Action,
    Ask,
    End,
    ForgetMessage,
    Notify,
    Say,
    SendSms,
    ShowCaptcha,
    TransferToHelpdesk,
    UseLanguage,
)
from dialogs.messages import Message, ParamValue
from dialogs.turn import CLOCK_WARNING_SECONDS

CHANNEL = "voice"
GATHER_TIMEOUT_SECONDS = 6
AUDIO_PLAYS = 2

Publish = Callable[[bytes], str]
"""A WAV → the public single-use URL Twilio fetches it from (``CaptchaMedia``)."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Voice:
    """How one language sounds and is heard: the TTS voice and the recogniser's language."""

    say_voice: str
    say_language: str
    gather_language: str


VOICES = {
    "en": Voice("Polly.Joanna", "en-US", "en-CA"),
    "fr": Voice("Polly.Chantal", "fr-CA", "fr-CA"),
}


@dataclass
class VoiceTurn:
    twiml: VoiceResponse = field(default_factory=VoiceResponse)
    outbound: list[tuple[SendSms | Notify, str]] = field(default_factory=list)
    prompt: Prompt | None = None
    language: str = "en"
    ended: bool = False


class VoiceRenderer:
    """Renders one turn; ``action_url`` is where the caller's answer goes (the next step)."""

    def __init__(self, catalogue: Catalogue, language: str, action_url: str,
                 helpdesk_number: str, *, dial_allowed: bool = True,
                 publish: Publish | None = None) -> None:
        self._catalogue = catalogue
        self._publish = publish
        self._dial_allowed = dial_allowed
        self._language = normalise_language(language)
        self._action_url = action_url
        self._helpdesk = "".join(ch for ch in helpdesk_number if ch.isdigit() or ch == "+")

    def render(self, actions: list[Action], before: tuple[Message, ...] = ()) -> VoiceTurn:
        turn = VoiceTurn(language=self._language)
        last_question = max((i for i, a in enumerate(actions)
                             if isinstance(a, Ask | ShowCaptcha)), default=-1)
        for message in before:
            self._say(turn, turn.twiml, self._text(message, turn.language), turn.language)
        for index, action in enumerate(actions):
            self._one(turn, action, gather=index == last_question)
        if last_question < 0 and not turn.ended:
            turn.twiml.hangup()  # nothing to answer: do not leave the caller in silence
            turn.ended = True
        return turn

    def _one(self, turn: VoiceTurn, action: Action, gather: bool) -> None:
        language = turn.language
        match action:
            case UseLanguage():
                turn.language = normalise_language(action.language)
            case Say():
                self._say(turn, turn.twiml, self._text(action.message, language), language)
            case Ask():
                self._ask(turn, action, gather)
            case ShowCaptcha():
                self._captcha(turn, action, gather)
            case SendSms() | Notify():
                turn.outbound.append((action, language))
            case TransferToHelpdesk():
                self._transfer(turn, action)
            case End():
                turn.twiml.hangup()
                turn.ended = True
            case ForgetMessage():
                pass  # nothing said on a call can be unsaid

    def _ask(self, turn: VoiceTurn, ask: Ask, gather: bool) -> None:
        labels = tuple(self._text(c.label, turn.language) for c in ask.choices)
        prompt = Prompt.of(ask, labels)
        target = self._gather(turn, prompt) if gather else turn.twiml
        if ask.seconds_left is not None and ask.seconds_left < CLOCK_WARNING_SECONDS:
            # A caller sees no countdown: the time left is said when it matters (issue 12).
            self._say(turn, target, self._own("voice.time_left", turn.language), turn.language)
        self._say(turn, target, self._text(ask.message, turn.language), turn.language)
        for number, label in enumerate(labels, start=1):
            line = self._own("voice.choice", turn.language, label=label, number=number)
            self._say(turn, target, line, turn.language)
        if gather:
            turn.prompt = prompt

    def _captcha(self, turn: VoiceTurn, show: ShowCaptcha, gather: bool) -> None:
        prompt = Prompt.of(show)
        target = self._gather(turn, prompt) if gather else turn.twiml
        self._say(turn, target, self._text(show.message, turn.language), turn.language)
        wav = show.challenge.audio_wav
        if wav is not None:
            self._play(turn, target, wav)
        elif show.challenge.spoken_digits:
            digits = ", ".join(show.challenge.spoken_digits)
            line = self._own("voice.captcha_digits", turn.language, digits=digits)
            self._say(turn, target, line, turn.language, loop=2)
        if gather:
            turn.prompt = prompt

    def _play(self, turn: VoiceTurn, target: VoiceResponse | Gather, wav: bytes) -> None:
        """Each play from its own single-use URL (a URL serves once, whoever fetches it)."""
        if self._publish is None:
            logger.error("audio captcha without a media store: nothing to play")
            return
        for number in range(AUDIO_PLAYS):
            if number:
                self._say(turn, target, self._own("voice.captcha_again", turn.language),
                          turn.language)
            target.play(self._publish(wav))

    def _gather(self, turn: VoiceTurn, prompt: Prompt) -> Gather:
        keys = prompt.digits or (1 if prompt.choices and len(prompt.choices) <= 9 else None)
        return turn.twiml.gather(
            input="dtmf speech", action=self._action_url, method="POST",
            language=VOICES.get(turn.language, VOICES["en"]).gather_language,
            timeout=GATHER_TIMEOUT_SECONDS, speech_timeout="auto", num_digits=keys,
            finish_on_key="#", action_on_empty_result=True,
            hints=", ".join(prompt.labels) or None)

    def _transfer(self, turn: VoiceTurn, transfer: TransferToHelpdesk) -> None:
        ticket = " ".join(ch for ch in transfer.ticket_id if ch.isalnum())
        if self._helpdesk and not self._dial_allowed:
            # Over this caller's cap of transfers: no dial; the number to call instead.
            spoken = " ".join(ch for ch in self._helpdesk if ch.isdigit())
            self._say(turn, turn.twiml, self._own("voice.transfer_capped", turn.language,
                                                  ticket=ticket, phone=spoken), turn.language)
            return  # the End that follows a hand-over (or render) hangs up
        self._say(turn, turn.twiml, self._own("voice.transfer", turn.language, ticket=ticket),
                  turn.language)
        if self._helpdesk:
            # The agent hears the ticket id before the caller is connected (a whisper).
            whisper = self._action_url.split("/twilio/voice/")[0] + "/twilio/voice/whisper?" \
                + urlencode({"ticket": transfer.ticket_id, "lang": turn.language})
            turn.twiml.dial().number(self._helpdesk, url=whisper, method="POST")

    @staticmethod
    def _say(turn: VoiceTurn, target: VoiceResponse | Gather, text: str, language: str,
             loop: int | None = None) -> None:
        voice = VOICES.get(language, VOICES["en"])
        target.say(text, voice=voice.say_voice, language=voice.say_language, loop=loop)

    def _text(self, message: Message, language: str) -> str:
        return channel_text(self._catalogue, CHANNEL, message, language)

    def _own(self, message_id: str, language: str, **params: ParamValue) -> str:
        return own_text(self._catalogue, message_id, language, **params)

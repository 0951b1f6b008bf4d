"""Actions → the texts of one SMS reply (pure: no I/O).

Numbered menus ("1 Forgot password"), the countdown after a proof prompt, the captcha as an
image for MMS, or as a sound the channel links to (``audio_wav``). A captcha's choices are not
numbered: its prompt names the words (NEW, AUDIO), which keeps it in one segment. Texts are
packed into as few messages as fit one segment each; a text too long
for one segment goes alone (DESIGN.md 2: SMS).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from channels.catalogue import Catalogue, normalise_language
from channels.twilio.inputs import Prompt
from channels.twilio.segments import fits_one
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
from dialogs.messages import Message

CHANNEL = "sms"


@dataclass(frozen=True)
class SmsPart:
    text: str
    image_png: bytes | None = None
    audio_wav: bytes | None = None
    language: str = "en"  # of the texts the channel adds (the audio link's)


@dataclass
class SmsTurn:
    """What one turn sends: the reply's parts, messages for elsewhere, the next prompt."""

    parts: list[SmsPart] = field(default_factory=list)
    outbound: list[tuple[SendSms | Notify, str]] = field(default_factory=list)
    prompt: Prompt | None = None
    ended: bool = False


class SmsRenderer:
    def __init__(self, catalogue: Catalogue, language: str = "en") -> None:
        self._catalogue = catalogue
        self._default = language

    def render(self, actions: list[Action]) -> SmsTurn:
        turn = SmsTurn()
        language = self._default
        for action in actions:
            if isinstance(action, UseLanguage):
                language = normalise_language(action.language)
            else:
                self._one(turn, action, language)
        return turn

    def _one(self, turn: SmsTurn, action: Action, language: str) -> None:
        match action:
            case Say():
                turn.parts.append(SmsPart(self._text(action.message, language)))
            case Ask():
                turn.parts.append(SmsPart(self._ask(action, language)))
                turn.prompt = Prompt.of(action)
            case ShowCaptcha():
                text = self._with_countdown(action.message, action.seconds_left, language)
                challenge = action.challenge
                turn.parts.append(SmsPart(text, challenge.image_png, challenge.audio_wav,
                                          language))
                turn.prompt = Prompt.of(action)
            case SendSms() | Notify():
                turn.outbound.append((action, language))
            case TransferToHelpdesk():
                turn.parts.append(SmsPart(own_text(self._catalogue, "sms.transferred",
                                                   language, ticket=action.ticket_id)))
            case End():
                turn.ended = True
                turn.prompt = Prompt()
            case ForgetMessage():
                pass  # an SMS cannot be unsent; the engine never asks a password by SMS

    def _ask(self, ask: Ask, language: str) -> str:
        lines = [self._with_countdown(ask.message, ask.seconds_left, language)]
        lines += [self._text(note, language) for note in ask.notes]
        lines += [f"{n} {self._text(choice.label, language)}"
                  for n, choice in enumerate(ask.choices, start=1)]
        if ask.choices:
            lines.append(own_text(self._catalogue, "sms.reply_number", language,
                                  count=len(ask.choices)))
        return "\n".join(lines)

    def _with_countdown(self, message: Message, seconds: int | None, language: str) -> str:
        text = self._text(message, language)
        if seconds is None:
            return text
        return f"{text} ({self._catalogue.countdown(seconds, language)})"

    def _text(self, message: Message, language: str) -> str:
        return channel_text(self._catalogue, CHANNEL, message, language)


def pack(texts: list[str]) -> list[str]:
    """Join consecutive texts (one per line) while the result still fits one segment."""
    messages: list[str] = []
    for text in texts:
        if messages and fits_one(joined := messages[-1] + "\n" + text):
            messages[-1] = joined
        else:
            messages.append(text)
    return messages

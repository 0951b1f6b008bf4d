"""A conversation driver for transcript tests: events in, rendered lines out.

It plays the person: it reads what the bot shows (the captcha's text is read from the
renderer, as a person reads the picture; the one-time code from the SMS the bot sent).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from captcha.audio import AudioCaptchaRenderer, AudioChallenge
from captcha.image import ImageCaptchaRenderer
from channels.catalogue import Catalogue
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
from dialogs.engine import Engine
from dialogs.events import ConversationKey, Event


class RecordingRenderer(ImageCaptchaRenderer):
    """The real renderer; remembers the last text so the test can 'read' the picture."""

    last_text: str = ""

    def random_text(self, length: int | None = None) -> str:
        self.last_text = super().random_text(length)
        return self.last_text


class RecordingAudioRenderer(AudioCaptchaRenderer):
    """The real audio renderer; remembers the last answer so the test can 'hear' it.

    No channel ever says the digits of an audio challenge: tests read them here, as a
    person hears them.
    """

    last_answer: str = ""

    def render(self, answer: str, language: str = "en", *,
               intro: str | None = None) -> AudioChallenge:
        self.last_answer = answer
        return super().render(answer, language, intro=intro)


@functools.cache
def recording_audio() -> RecordingAudioRenderer:
    """One warmed renderer for the whole test session (warming runs espeak-ng ~300 times)."""
    return RecordingAudioRenderer()


@dataclass
class Conversation:
    engine: Engine
    catalogue: Catalogue
    renderer: RecordingRenderer
    channel: str = "console"
    sender: str = "tester"
    language: str = "en"
    transcript: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    sms: list[tuple[str, str]] = field(default_factory=list)
    last_captcha: ShowCaptcha | None = None  # the one outstanding, shown in this or a past turn
    _refs: int = 0

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(self.channel, self.sender)

    def other(self, sender: str, channel: str = "console") -> Conversation:
        """Another person (or the same one elsewhere) talking to the same engine."""
        return Conversation(self.engine, self.catalogue, self.renderer, channel=channel,
                            sender=sender)

    def through_captcha(self, login: str, flow: str = "forgot") -> list[str]:
        """Start, pick ``flow``, give ``login`` and solve the captcha: the usual first steps."""
        self.start()
        self.choose(flow)
        self.say(login)
        return self.solve_captcha()

    def send_event(self, event: Event) -> list[str]:
        self.actions = self.engine.handle(self.key, event)
        self.last_captcha = self.captcha() or self.last_captcha
        lines = [line for action in self.actions if (line := self._render(action))]
        self.transcript.extend(["> " + (event.text or f"<{event.kind}>"), *lines])
        return lines

    def start(self) -> list[str]:
        return self.send_event(Event.start())

    def say(self, text: str) -> list[str]:
        self._refs += 1
        return self.send_event(Event.typed(text, message_ref=f"m{self._refs}"))

    def choose(self, choice_id: str) -> list[str]:
        return self.send_event(Event.chose(choice_id))

    def solve_captcha(self) -> list[str]:
        assert self.last_captcha is not None, self.text()
        challenge = self.last_captcha.challenge
        heard = challenge.spoken_digits
        if challenge.kind == "audio":
            heard = recording_audio().last_answer
        if heard is not None and self.channel == "voice":  # a caller keys the digits in
            return self.send_event(Event("digits", heard))
        return self.say(heard if heard is not None else self.renderer.last_text)

    def captcha(self) -> ShowCaptcha | None:
        """The challenge shown in the last turn, if one was."""
        shown = [a for a in self.actions if isinstance(a, ShowCaptcha)]
        return shown[-1] if shown else None

    def last_code(self) -> str:
        assert self.sms, "no SMS was sent"
        match = re.search(r"\b(\d{6,})\b", self.sms[-1][1])
        assert match, self.sms[-1][1]
        return match.group(1)

    def asked_question(self) -> str:
        for action in self.actions:
            if isinstance(action, Ask) and action.message.id == "proof.ask_question":
                return str(action.message.param_dict()["question_msg"])
        raise AssertionError(f"no question asked: {self.text()}")

    def answer_questions(self, answers: dict[str, str], wrong: bool = False) -> list[str]:
        lines: list[str] = []
        for _ in range(5):
            question = self.asked_question()
            lines = self.say("not the answer" if wrong else answers.get(question, "unknown"))
            if not any(isinstance(a, Ask) and a.message.id == "proof.ask_question"
                       for a in self.actions):
                return lines
        raise AssertionError("too many questions")

    def asks(self, message_id: str) -> bool:
        return any(isinstance(a, Ask) and a.message.id == message_id for a in self.actions)

    def said(self, message_id: str) -> bool:
        return any(isinstance(a, Say | Ask) and a.message.id == message_id for a in self.actions)

    def ended(self) -> bool:
        return any(isinstance(a, End) for a in self.actions)

    def forgotten(self) -> list[str]:
        return [a.message_ref for a in self.actions if isinstance(a, ForgetMessage)]

    def text(self) -> str:
        return "\n".join(self.transcript)

    def _render(self, action: Action) -> str:
        render = self.catalogue.render
        match action:
            case UseLanguage():
                self.language = action.language
                return ""
            case Say():
                return render(action.message, self.language)
            case Ask():
                choices = "".join(f" [{c.id}]" for c in action.choices)
                left = f" ({self.catalogue.countdown(action.seconds_left, self.language)})" \
                    if action.seconds_left is not None else ""
                return render(action.message, self.language) + left + choices
            case ShowCaptcha():
                choices = "".join(f" [{c.id}]" for c in action.choices)
                return f"[captcha {action.challenge.kind}] " \
                    + render(action.message, self.language) + choices
            case SendSms():
                text = render(action.message, self.language)
                self.sms.append((action.to, text))
                return f"[sms to {action.to}] {text}"
            case Notify():
                return f"[notify {action.channel} {action.address}] " + render(
                    action.message, self.language)
            case TransferToHelpdesk():
                return f"[transfer {action.ticket_id}]"
            case ForgetMessage():
                return f"[deleted {action.message_ref}]"
            case End():
                return "[end]"
        return ""

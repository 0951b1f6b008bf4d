"""The console channel: talk to the dialog engine in a terminal, or pipe a script into it.

Thin by design (STYLE.md habit 5): read a line → turn it into an :class:`~dialogs.events.Event`
→ ``engine.handle`` → print the actions. No business rule lives here; the conventions are only
about reading and printing:

- The conversation starts with ``Event.start()`` as soon as :meth:`ConsoleChannel.run` is called.
- Under a menu, ``2`` or the choice id (``unlock``) becomes ``Event("choice", id)``; under an
  ``Ask(expect="digits")``, a line of digits (spaces and dashes dropped, as a keypad would send
  it) becomes ``Event("digits", ...)``; anything else, the commands ``menu``, ``cancel``,
  ``help`` and ``language`` included, is sent as typed text for the engine to judge.
- Blank lines are ignored, except right after an ``End``: the next line, blank or not, starts a
  new conversation with ``Event.start()``, and a non-blank line is then sent as the first
  answer. So a script reads the same for every conversation it holds. If that start ends
  the conversation at once (the service is unavailable), the line is not sent: one answer
  per line, not the same refusal twice.
- ``quit`` / ``exit`` (or end of input) leave with status 0; while a secret is expected, the
  line is always taken as the secret. Ctrl-C leaves with 130.
- A secret answer is read with ``getpass`` (nothing echoes) when stdin is a terminal; from a pipe
  the line is read normally. A secret ``Say`` is printed: the console is the person's own screen.
- ``SendSms`` and ``Notify`` are never printed: a one-time code proves possession of the bound
  phone only if it reaches that phone and nowhere else (issue 10, property 10). They are
  rendered in the conversation's language and handed to ``deliver`` (the application's
  outbound, with its caps); without one they go nowhere. Whether one left is not shown either:
  a decoy sends nothing, so "not sent" would tell an enrolled account from an unknown one.
  Only ``sspm demo`` passes senders that print (its throwaway users have no phones).
- Language: when a ``Say`` or ``Ask`` carries the message ``language.changed`` with a
  ``language`` parameter, the console renders in that language from that message on, until
  the conversation ends: the next one starts in the configured language (the engine
  remembers a person's choice, not this process).
- If the engine raises, the person reads ``common.internal_error``; the exception goes to the
  log, never a traceback to the screen.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol, TextIO, assert_never

from channels.catalogue import Catalogue, normalise_language
from dialogs.actions import (
    Action,
    Ask,
    Choice,
    End,
    ForgetMessage,
    Notify,
    Say,
    SendSms,
    ShowCaptcha,
    TransferToHelpdesk,
    UseLanguage,
)
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message
from dialogs.ports import ChannelMemo

CHANNEL = "console"
LANGUAGE_CHANGED = "language.changed"
QUIT_WORDS = frozenset({"quit", "exit"})
KEYPAD_SEPARATORS = " -"

logger = logging.getLogger(__name__)

Deliver = Callable[[SendSms | Notify, str], bool]
"""Send an outbound action with its rendered text; True if it left."""


class DialogEngine(Protocol):
    """What a channel drives: one event in, the actions to show out."""

    def handle(self, key: ConversationKey, event: Event) -> list[Action]: ...


class MemoEngine(Protocol):
    """The engine, for a channel that keeps a memo of its last prompt (``ChannelMemo``)."""

    def handle(self, key: ConversationKey, event: Event,
               memo: ChannelMemo | None = None) -> list[Action]: ...


@dataclass(frozen=True)
class _Prompt:
    """How to read the next line: what the last question asked for."""

    choices: tuple[Choice, ...] = ()
    secret: bool = False
    expect: str = "text"


class ConsoleChannel:
    """Runs conversations between the engine and a terminal (or any pair of text streams)."""

    def __init__(
        self,
        engine: DialogEngine,
        catalogue: Catalogue,
        *,
        stdin: TextIO,
        stdout: TextIO,
        sender: str = "local",
        captcha_dir: Path,
        language: str = "en",
        secret_reader: Callable[[str], str] | None = None,
        deliver: Deliver | None = None,
    ) -> None:
        self._engine = engine
        self._catalogue = catalogue
        self._stdin = stdin
        self._stdout = stdout
        self._key = ConversationKey(CHANNEL, sender)
        self._captcha_dir = captcha_dir
        self._language = normalise_language(language)
        # Each conversation starts in the configured language: the last person's choice is
        # theirs, remembered by the engine, not by this process (issue 12).
        self._start_language = self._language
        self._read_secret = secret_reader or getpass.getpass
        self._deliver = deliver
        self._prompt = _Prompt()
        self._ended = False
        self._lines_read = 0
        self._captchas_shown = 0

    @property
    def language(self) -> str:
        return self._language

    def run(self) -> int:
        """Hold conversations until ``quit``, ``exit`` or end of input; the exit status."""
        try:
            return self._loop()
        except KeyboardInterrupt:
            self._print("")
            return 130

    def _loop(self) -> int:
        self._dispatch(Event.start(self._language))
        while (line := self._read_line()) is not None:
            text = line if self._prompt.secret else line.strip()
            if not self._prompt.secret and text.lower() in QUIT_WORDS:
                self._say(Message.of("common.goodbye"))
                return 0
            if self._ended:
                # The line opens the next conversation itself: "1" or "forgot" starts that
                # flow at once, anything else gets the greeting, said once (issue 12).
                self._ended = False
                self._language = self._start_language
                self._prompt = _Prompt()
                if not text.strip():
                    self._dispatch(Event.start(self._language))
                    continue
                first = self._event_for(text)
                self._dispatch(replace(first, language_hint=self._language))
                continue
            if text.strip():
                self._dispatch(self._event_for(text))
        return 0

    # -- reading ----------------------------------------------------------------------------

    def _read_line(self) -> str | None:
        """The next line without its line break, or None at end of input."""
        interactive = self._stdin.isatty()
        if interactive and self._prompt.secret:
            return self._read_hidden()
        if interactive:
            self._stdout.write("> ")
            self._stdout.flush()
        line = self._stdin.readline()
        if not line:
            return None
        self._lines_read += 1
        return line.rstrip("\r\n")

    def _read_hidden(self) -> str | None:
        hint = self._render(Message.of("common.secret_hidden"))
        try:
            secret = self._read_secret(f"{hint} ")
        except EOFError:
            return None
        self._lines_read += 1
        return secret

    def _event_for(self, text: str) -> Event:
        choice = _matching_choice(self._prompt.choices, text)
        if choice is not None:
            return Event.chose(choice.id)
        if self._prompt.expect == "digits" and _is_keyed_digits(text):
            return Event("digits", _strip_separators(text), message_ref=self._ref())
        return Event.typed(text, message_ref=self._ref())

    def _ref(self) -> str:
        return f"line-{self._lines_read}"

    # -- the engine -------------------------------------------------------------------------

    def _dispatch(self, event: Event) -> None:
        try:
            for action in self._engine.handle(self._key, event):
                self._show(action)
        except Exception:
            logger.exception("console conversation %s: the turn failed", self._key)
            self._say(Message.of("common.internal_error"))
        self._stdout.flush()

    # -- printing ---------------------------------------------------------------------------

    def _show(self, action: Action) -> None:
        match action:
            case Say():
                self._follow_language(action.message)
                self._say(action.message)
            case Ask():
                self._show_ask(action)
            case ShowCaptcha():
                self._show_captcha(action)
            case ForgetMessage():
                pass  # a terminal cannot unsay what was typed into it
            case SendSms() | Notify():
                self._hand_over(action)
            case TransferToHelpdesk():
                self._say(Message.of("common.transferred", ticket=action.ticket_id))
            case UseLanguage():
                self._language = normalise_language(action.language)
            case End():
                self._print("")
                self._ended = True
                self._prompt = _Prompt()
            case _:
                assert_never(action)

    def _hand_over(self, action: SendSms | Notify) -> None:
        """Out through the bound channel, never onto this screen (see the module docstring)."""
        if self._deliver is None:
            logger.warning("console: no outbound, message not delivered",
                           extra={"message_id": action.message.id})
            return
        self._deliver(action, self._render(action.message))

    def _show_ask(self, ask: Ask) -> None:
        self._follow_language(ask.message)
        self._say(ask.message)
        for note in ask.notes:
            self._say(note)
        self._show_countdown(ask.seconds_left)
        for number, choice in enumerate(ask.choices, start=1):
            self._print(f"{number}) {self._render(choice.label)}")
        if ask.choices:
            self._say(Message.of("common.choose_number"))
        self._prompt = _Prompt(ask.choices, ask.secret_input, ask.expect)

    def _show_captcha(self, show: ShowCaptcha) -> None:
        """The picture or the sound is saved to a file whose path is printed; the prompt names
        the words for another one (a menu number would read like an answer)."""
        self._say(show.message)
        self._show_countdown(show.seconds_left)
        challenge = show.challenge
        if challenge.image_png is not None:
            path = self._save_captcha(challenge.image_png, "png")
            self._say(Message.of("common.captcha_saved", path=str(path)))
        if challenge.audio_wav is not None:
            path = self._save_captcha(challenge.audio_wav, "wav")
            self._say(Message.of("common.captcha_audio_saved", path=str(path)))
        if challenge.spoken_digits is not None:
            self._say(Message.of("common.captcha_spoken", digits=" ".join(challenge.spoken_digits)))
        expect = "digits" if challenge.kind in ("spoken", "audio") else "text"
        self._prompt = _Prompt(expect=expect)

    def _show_countdown(self, seconds_left: int | None) -> None:
        if seconds_left is not None:
            self._print(f"[{self._catalogue.countdown(seconds_left, self._language)}]")

    def _save_captcha(self, data: bytes, extension: str) -> Path:
        self._captchas_shown += 1
        self._captcha_dir.mkdir(parents=True, exist_ok=True)
        path = self._captcha_dir / f"captcha-{self._captchas_shown}.{extension}"
        path.write_bytes(data)
        return path

    def _follow_language(self, message: Message) -> None:
        language = message.param_dict().get("language")
        if message.id == LANGUAGE_CHANGED and isinstance(language, str):
            self._language = normalise_language(language)

    def _render(self, message: Message) -> str:
        return self._catalogue.render(message, self._language)

    def _say(self, message: Message) -> None:
        self._print(self._render(message))

    def _print(self, text: str) -> None:
        self._stdout.write(text + "\n")


def _matching_choice(choices: tuple[Choice, ...], text: str) -> Choice | None:
    """The choice picked by its number (``2``) or by its id (``unlock``), if any."""
    answer = text.strip()
    by_number = {str(number): choice for number, choice in enumerate(choices, start=1)}
    if answer in by_number:
        return by_number[answer]
    return next((c for c in choices if c.id.casefold() == answer.casefold()), None)


def _is_keyed_digits(text: str) -> bool:
    stripped = _strip_separators(text)
    return stripped.isascii() and stripped.isdecimal()


def _strip_separators(text: str) -> str:
    return "".join(char for char in text if char not in KEYPAD_SEPARATORS)

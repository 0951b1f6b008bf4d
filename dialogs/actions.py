"""Outbound actions: what the engine asks a channel to do. Channels decide how it looks.

Prompts are ``Message`` ids with parameters; the catalogues own the words. An action may
carry a secret on its way out (a one-time code in ``SendSms``, a temporary password in
``Say``): actions are never stored or logged, and ``secret=True`` tells a channel to show the
message protected (Telegram ``protect_content``) and delete it after a while.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dialogs.captcha_port import Challenge
from dialogs.messages import Message


@dataclass(frozen=True)
class Choice:
    id: str
    label: Message


@dataclass(frozen=True)
class Say:
    message: Message
    secret: bool = False


@dataclass(frozen=True)
class Ask:
    """A prompt that waits for an answer.

    ``choices`` is empty for free text. ``secret_input`` means the answer will be a secret
    (password, answer, code): a channel masks it where it can and deletes it once read.
    ``seconds_left`` is the proof's countdown, shown as ``04:18 left``.
    ``expect`` hints the input type for channels that must choose (voice: DTMF or speech).
    """

    message: Message
    choices: tuple[Choice, ...] = ()
    secret_input: bool = False
    seconds_left: int | None = None
    expect: str = "text"  # "text", "digits", "choice"
    notes: tuple[Message, ...] = field(default=())
    digits: int | None = None  # how many keys, when known (a keypad can stop by itself)


@dataclass(frozen=True)
class ShowCaptcha:
    """A challenge to show or play. ``choices`` (another one, listen instead) become buttons
    under the picture where a channel has buttons; elsewhere the prompt names the words."""

    challenge: Challenge
    message: Message
    seconds_left: int | None = None
    choices: tuple[Choice, ...] = ()


@dataclass(frozen=True)
class ForgetMessage:
    """Delete the person's message that carried a secret (Telegram ``deleteMessage``)."""

    message_ref: str


@dataclass(frozen=True)
class SendSms:
    """Send a text to a phone number (one-time code, temporary password, notice)."""

    to: str
    message: Message
    secret: bool = False


@dataclass(frozen=True)
class Notify:
    """Tell the person on another bound channel (e.g. after a reset): ``channel``/``address``."""

    channel: str
    address: str
    message: Message


@dataclass(frozen=True)
class TransferToHelpdesk:
    ticket_id: str


@dataclass(frozen=True)
class UseLanguage:
    """Render what follows in ``language``: the first action of every turn, and again when
    the person's language changes mid-turn."""

    language: str


@dataclass(frozen=True)
class End:
    """The conversation is over; the next message starts afresh."""


Action = (Say | Ask | ShowCaptcha | ForgetMessage | SendSms | Notify | TransferToHelpdesk
          | UseLanguage | End)

"""Inbound events: what a channel hands the engine, whatever the platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EventKind = Literal["start", "text", "choice", "digits", "speech", "timeout"]


@dataclass(frozen=True)
class ConversationKey:
    """Who the engine is talking to: a channel and the sender's identity on it.

    ``sender`` is the Telegram user id, the phone number for SMS and voice, or a console id.
    """

    channel: str
    sender: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.sender}"


@dataclass(frozen=True)
class Event:
    """One inbound event.

    ``text`` carries the typed text, the chosen choice id, the keyed digits or the speech
    transcript. ``message_ref`` is the platform's id of the person's message, so that a
    message that carried a secret can be deleted. ``event_id`` is the platform's delivery id
    (Telegram ``update_id``, Twilio ``MessageSid``...) for idempotent retries.
    """

    kind: EventKind
    text: str = ""
    message_ref: str | None = None
    event_id: str | None = None
    language_hint: str | None = None

    @staticmethod
    def start(language_hint: str | None = None) -> Event:
        return Event("start", language_hint=language_hint)

    @staticmethod
    def typed(text: str, message_ref: str | None = None, event_id: str | None = None) -> Event:
        return Event("text", text, message_ref=message_ref, event_id=event_id)

    @staticmethod
    def chose(choice_id: str, event_id: str | None = None) -> Event:
        return Event("choice", choice_id, event_id=event_id)

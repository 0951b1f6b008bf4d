"""The person's language, remembered per sender (issue 12: "language belongs to the person").

A conversation's language used to live in the process (the console) or in the session (SMS),
so one person's choice leaked to the next person at a shared console and an SMS sender was
greeted in English again after choosing French. The choice is now remembered per channel
and sender, keyed by a keyed digest (no phone number or chat id in the store), for a long
time; an enrolled account's own language comes from its enrolment record.
"""

from __future__ import annotations

from typing import Protocol

from dialogs.sealing import Sealer

REMEMBER_SECONDS = 180 * 86_400  # half a year: a person rarely changes language


class LanguagePreferences(Protocol):
    """Languages chosen by senders, by an opaque key (``sender_key``)."""

    def recall(self, key: str) -> str | None:
        """The language remembered under ``key``, or None."""
        ...

    def remember(self, key: str, language: str, ttl_seconds: int) -> None:
        """Keep ``language`` under ``key`` for ``ttl_seconds``."""
        ...


def sender_key(sealer: Sealer, channel: str, sender: str) -> str:
    """The store's key for one sender on one channel: a keyed digest, never the number."""
    return sealer.keyed_digest("language", channel, sender)

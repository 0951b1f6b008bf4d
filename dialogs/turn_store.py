"""What a turn hands the session store and takes from it, besides the record (issue 13).

- ``delivery``: the platform's delivery id, with how long that platform may send it again;
  the store keeps the id that long and no longer (issue 13 found 24 h keys per SMS).
- ``PrefetchedLanguages``: the sender's remembered language, read by the store's ``open``
  with the record, stands in for the ``LanguagePreferences`` port during the turn, so asking
  for it costs no second round trip; choosing a language still writes through.
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.events import ConversationKey, Event
from dialogs.languages import LanguagePreferences
from dialogs.ports import Delivery

# Telegram keeps an update its webhook did not take for up to 24 h, and sends it again
# meanwhile; Twilio gives a webhook 15 s in all and retries (connection overrides) within that
# budget, so 15 min is sixty times what it needs. Channels without ids (console) skip this.
RETRY_SECONDS = {"telegram": 86_400}
DEFAULT_RETRY_SECONDS = 900


def delivery(key: ConversationKey, event: Event) -> Delivery | None:
    if not event.event_id:
        return None
    return Delivery(event.event_id, RETRY_SECONDS.get(key.channel, DEFAULT_RETRY_SECONDS))


@dataclass
class PrefetchedLanguages:
    """``LanguagePreferences`` for one turn: ``sender``'s language as ``open`` read it."""

    inner: LanguagePreferences
    sender: str
    language: str | None

    def recall(self, key: str) -> str | None:
        if key == self.sender:
            return self.language
        return self.inner.recall(key)

    def remember(self, key: str, language: str, ttl_seconds: int) -> None:
        self.inner.remember(key, language, ttl_seconds)
        if key == self.sender:
            self.language = language

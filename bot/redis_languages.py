"""``LanguagePreferences`` on Redis: ``{prefix}{T}:g`` -> language code, with a long TTL.

The key is already a keyed digest of channel and sender (``dialogs.languages.sender_key``),
so Redis holds no phone number or chat id here; the value is a bare language code. ``T`` is
that digest's tag, which is also the tag of the sender's conversation (``bot.redis_keys``):
the script that opens a turn reads the language with the session, in one round trip.
"""

from __future__ import annotations

from typing import cast

import redis

from bot.redis_keys import tagged
from dialogs.ports import StoreUnavailable


class RedisLanguages:
    def __init__(self, client: redis.Redis, prefix: str = "sspm:") -> None:
        self._client = client
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return tagged(self._prefix, key, "g")

    def recall(self, key: str) -> str | None:
        try:
            raw = cast("bytes | str | None", self._client.get(self._key(key)))
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        if raw is None:
            return None
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw

    def remember(self, key: str, language: str, ttl_seconds: int) -> None:
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        try:
            self._client.set(self._key(key), language.encode("utf-8"), ex=ttl_seconds)
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

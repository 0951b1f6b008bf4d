"""``SignIns`` on Redis: ``{prefix}signin:{digest}`` -> DN, EX = the link's lifetime.

The key is an HMAC of the conversation (a phone number, for SMS), so Redis holds no list of
who enrolled; the value is the account's DN only, never a password. ``take`` is GETDEL: a
mark lets one enrolment continue, once (a replayed "OK" finds nothing).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import cast

import redis

from dialogs.ports import StoreUnavailable


class RedisSignIns:
    def __init__(self, client: redis.Redis, secret_key: bytes, prefix: str = "sspm:") -> None:
        self._client = client
        self._prefix = prefix
        self._secret = hmac.new(secret_key, b"sspm.signin.v1", hashlib.sha256).digest()

    def _key(self, conversation: str) -> str:
        digest = hmac.new(self._secret, conversation.encode(), hashlib.sha256).hexdigest()
        return f"{self._prefix}signin:{digest}"

    def mark(self, conversation: str, dn: str, ttl_seconds: int) -> None:
        if ttl_seconds < 1:
            raise ValueError("ttl_seconds must be at least 1")
        try:
            self._client.set(self._key(conversation), dn.encode("utf-8"), ex=ttl_seconds)
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    def take(self, conversation: str) -> str | None:
        try:
            raw = cast("bytes | str | None", self._client.getdel(self._key(conversation)))
        except redis.RedisError as exc:
            raise StoreUnavailable(type(exc).__name__) from exc
        if raw is None:
            return None
        return raw.decode("utf-8") if isinstance(raw, bytes) else raw

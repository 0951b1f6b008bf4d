"""Small per-conversation records the Twilio channels keep between two webhooks.

SMS keeps the last prompt per sender (to map a reply "2" to the 2nd choice); voice keeps, per
call, the next step number, the last prompt, the retry count and the last TwiML (to answer a
retried step the same way). The TwiML may hold a spoken captcha's digits, so every record is
sealed (AES-GCM, bound to its key: DESIGN.md 5.11) and has a TTL. Redis errors leave as
``StoreUnavailable``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis

from dialogs.ports import StoreUnavailable
from dialogs.sealing import Sealer


@contextmanager
def unavailable_on_redis_error() -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(type(exc).__name__) from exc


class ChannelRecords:
    """JSON records by ``(kind, key)``, sealed at rest, each with ``ttl_seconds``."""

    def __init__(self, client: redis.Redis, sealer: Sealer, prefix: str,
                 ttl_seconds: int) -> None:
        self._client = client
        self._sealer = sealer
        self._prefix = prefix + "twilio:"
        self._ttl = max(1, ttl_seconds)

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def _key(self, kind: str, key: str) -> str:
        digest = hashlib.sha256(f"{kind}\x1f{key}".encode()).hexdigest()[:40]
        return f"{self._prefix}{kind}:{digest}"

    def load(self, kind: str, key: str) -> dict[str, Any]:
        with unavailable_on_redis_error():
            raw = self._client.get(self._key(kind, key))
        if raw is None:
            return {}
        text = raw.decode("ascii") if isinstance(raw, bytes) else str(raw)
        opened = self._sealer.open(f"{kind}:{key}", text)
        if opened is None:
            return {}
        record = json.loads(opened)
        return record if isinstance(record, dict) else {}

    def save(self, kind: str, key: str, record: dict[str, Any]) -> None:
        sealed = self._sealer.seal(f"{kind}:{key}", json.dumps(record, separators=(",", ":")))
        with unavailable_on_redis_error():
            self._client.set(self._key(kind, key), sealed, ex=self._ttl)

    def delete(self, kind: str, key: str) -> None:
        with unavailable_on_redis_error():
            self._client.delete(self._key(kind, key))

"""``MemorySessionStore``: the in-memory ``SessionStore``, for fast tests (production uses
``bot.redis_sessions``; both pass ``tests/stores/test_session_store_contract.py``).

Pure Python: no I/O here.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from dialogs.memory import TRACE_SECONDS, _Expiring, _positive, decode_record, encode_record
from dialogs.ports import (
    DELIVERY_IDS_KEPT,
    Clock,
    Delivery,
    Lookup,
    MemoWrite,
    Opening,
    StoreUnavailable,
)


class MemorySessionStore:
    """``SessionStore`` in dicts. The lock is a token per key, waited for on a condition (no
    expiry: a thread cannot crash away from it); like the Redis store it raises
    ``StoreUnavailable`` when it cannot be taken within ``lock_wait`` seconds. It reads no
    relay or language (``Opening.prefetched`` is False): the engine asks those ports.

    ``Lookup.EXPIRED`` is reported until the next save or delete of that key.
    """

    def __init__(self, clock: Clock, lock_wait: float = 10.0) -> None:
        self._guard = threading.Condition()
        self._records = _Expiring(clock)
        self._traces = _Expiring(clock)
        self._deliveries = _Expiring(clock)
        self._memos = _Expiring(clock)
        self._holders: dict[str, str] = {}
        self._lock_wait = lock_wait

    def open(self, key: str, delivery: Delivery | None = None) -> Opening:
        window = _positive(delivery.retry_seconds, "retry_seconds") if delivery else 0
        deadline = time.monotonic() + self._lock_wait
        with self._guard:
            while True:
                if delivery is not None and delivery.id in self._seen(key):
                    return Opening(key, duplicate=True)
                if key not in self._holders:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreUnavailable(f"lock for {key!r} not acquired within "
                                           f"{self._lock_wait} s")
                self._guard.wait(left)
            token = secrets.token_urlsafe(12)
            self._holders[key] = token
            if delivery is not None:
                seen = (*self._seen(key), delivery.id)[-DELIVERY_IDS_KEPT:]
                self._deliveries.put(key, seen, window)
            return Opening(key, token, self._load(key), memo=dict(self._memos.get(key) or {}))

    def close(self, opening: Opening, *, record: dict[str, Any] | None = None,
              ttl_seconds: int = 0, delete: bool = False, memo: MemoWrite | None = None
              ) -> None:
        if opening.duplicate:
            return
        if record is not None and delete:
            raise ValueError("close saves a record or deletes it, not both")
        text = encode_record(record) if record is not None else None
        ttl = _positive(ttl_seconds, "ttl_seconds") if text is not None else 0
        with self._guard:
            if self._holders.get(opening.key) != opening.token:
                raise StoreUnavailable(f"lock for {opening.key!r} lost during the turn")
            if text is not None:
                self._put(opening.key, text, ttl)
            elif delete:
                self._drop(opening.key)
            if memo is not None:
                self._memos.put(opening.key, decode_record(encode_record(memo.memo)),
                                _positive(memo.ttl_seconds, "memo ttl_seconds"))
            del self._holders[opening.key]
            self._guard.notify_all()

    def load(self, key: str) -> dict[str, Any] | Lookup:
        with self._guard:
            return self._load(key)

    def save(self, key: str, record: dict[str, Any], ttl_seconds: int) -> None:
        text = encode_record(record)
        with self._guard:
            self._put(key, text, ttl_seconds)

    def delete(self, key: str) -> None:
        with self._guard:
            self._drop(key)

    def _seen(self, key: str) -> tuple[str, ...]:
        return tuple(self._deliveries.get(key) or ())

    def _load(self, key: str) -> dict[str, Any] | Lookup:
        text = self._records.get(key)
        if text is not None:
            return decode_record(text)
        return Lookup.EXPIRED if self._traces.get(key) is not None else Lookup.NEW

    def _put(self, key: str, text: str, ttl_seconds: int) -> None:
        ttl = _positive(ttl_seconds, "ttl_seconds")
        self._records.put(key, text, ttl)
        self._traces.put(key, True, ttl + TRACE_SECONDS)

    def _drop(self, key: str) -> None:
        self._records.pop(key)
        self._traces.pop(key)

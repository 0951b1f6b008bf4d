"""Captcha answers kept only as an HMAC of the expected answer, with an expiry.

The digest covers the challenge id, the conversation and the normalised answer, under a secret
key, so a kept value reveals nothing about the answer (even to someone reading Redis), cannot
be replayed for another challenge, and fails when checked from another conversation.

Two ways to keep it:

- a **token** (``issue_token``, ``token_solves``): the digest and its expiry as a short string
  the conversation keeps in its own session (issue 13: no Redis key, no round trip of its own);
  the expiry is inside the digest too, so an edited expiry matches nothing. Single use is the
  session's: the step that checks a token drops it.
- a **store** (``MemoryCaptchaStore``, ``RedisCaptchaStore``): SET with a TTL, GETDEL to check.
  Kept to check challenges issued before tokens, still outstanding in live sessions at an
  upgrade.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis
from redis.exceptions import RedisError

from captcha.errors import CaptchaStoreUnavailable

# Shorter keys make the HMAC guessable offline from a leaked Redis dump.
MIN_KEY_BYTES = 16
_DOMAIN = b"sspm-captcha-v1"


class CaptchaStore(Protocol):
    """Where challenges wait for their single attempt."""

    @property
    def key(self) -> bytes:
        """The secret key of its digests (``CaptchaService`` keys its tokens with it too)."""
        ...

    def put(self, challenge_id: str, conversation: str, answer: str, ttl_seconds: int) -> None:
        """Remember the keyed hash of ``answer`` for ``challenge_id`` for ``ttl_seconds``."""
        ...

    def consume(self, challenge_id: str, conversation: str, attempt: str) -> bool:
        """Remove the challenge and tell whether ``attempt`` from ``conversation`` solves it."""
        ...


def normalise_answer(answer: str) -> str:
    """Upper-case and drop all whitespace: answers are case-insensitive, spacing is noise."""
    return "".join(answer.split()).upper()


def answer_digest(secret_key: bytes, challenge_id: str, conversation: str, answer: str) -> str:
    """HMAC-SHA256 (hex) over the challenge id, the conversation and the normalised answer."""
    # Length-prefixed fields: no choice of id/conversation/answer can collide with another.
    message = bytearray(_DOMAIN)
    for field in (challenge_id, conversation, normalise_answer(answer)):
        data = field.encode("utf-8")
        message += len(data).to_bytes(4, "big") + data
    return hmac.new(secret_key, bytes(message), hashlib.sha256).hexdigest()


# 128 bits of the HMAC: as hard to forge offline as the whole digest for a challenge that
# lives minutes, and 32 characters less in every session that shows one.
_TOKEN_DIGEST_CHARS = 32


def issue_token(secret_key: bytes, challenge_id: str, conversation: str, answer: str,
                expires_at: float) -> str:
    """``<expiry, hex seconds>.<digest>``: what a session keeps to check one attempt."""
    expiry = f"{max(0, int(expires_at)):x}"
    digest = answer_digest(_check_key(secret_key), f"{challenge_id}@{expiry}", conversation,
                           answer)
    return f"{expiry}.{digest[:_TOKEN_DIGEST_CHARS]}"


def token_solves(secret_key: bytes, token: str, challenge_id: str, conversation: str,
                 attempt: str, now: float) -> bool:
    """True when ``attempt`` is the answer ``token`` was issued for, before its expiry."""
    expiry, _, digest = token.partition(".")
    try:
        live = now < int(expiry, 16)
    except ValueError:
        return False
    expected = answer_digest(_check_key(secret_key), f"{challenge_id}@{expiry}", conversation,
                             attempt)[:_TOKEN_DIGEST_CHARS]
    return live and _matches(digest, expected)


def _check_key(secret_key: bytes) -> bytes:
    if len(secret_key) < MIN_KEY_BYTES:
        raise ValueError(f"captcha secret key must be at least {MIN_KEY_BYTES} bytes")
    return bytes(secret_key)


def _check_ttl(ttl_seconds: int) -> None:
    if ttl_seconds < 1:
        raise ValueError("ttl_seconds must be at least 1")


def _matches(stored: str | None, expected: str) -> bool:
    # Constant-time comparison: no timing hint of how much of a digest matched.
    return stored is not None and hmac.compare_digest(stored, expected)


class MemoryCaptchaStore:
    """In-process store for tests and single-process demos; thread-safe."""

    def __init__(self, secret_key: bytes, clock: Callable[[], float] = time.monotonic) -> None:
        self._key = _check_key(secret_key)
        self._clock = clock
        self._entries: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    @property
    def key(self) -> bytes:
        return self._key

    def put(self, challenge_id: str, conversation: str, answer: str, ttl_seconds: int) -> None:
        _check_ttl(ttl_seconds)
        digest = answer_digest(self._key, challenge_id, conversation, answer)
        now = self._clock()
        with self._lock:
            self._purge(now)
            self._entries[challenge_id] = (digest, now + ttl_seconds)

    def consume(self, challenge_id: str, conversation: str, attempt: str) -> bool:
        expected = answer_digest(self._key, challenge_id, conversation, attempt)
        with self._lock:
            entry = self._entries.pop(challenge_id, None)
        stored = entry[0] if entry is not None and self._clock() < entry[1] else None
        return _matches(stored, expected)

    def __len__(self) -> int:
        """Number of challenges held, expired ones not yet purged included."""
        with self._lock:
            return len(self._entries)

    def _purge(self, now: float) -> None:
        # Abandoned challenges are dropped on the next put, so memory stays bounded.
        expired = [cid for cid, (_, deadline) in self._entries.items() if deadline <= now]
        for cid in expired:
            del self._entries[cid]


class RedisCaptchaStore:
    """Redis store: SET with EX on issue, GETDEL on check (atomic, so strictly single use)."""

    def __init__(
        self, client: redis.Redis, secret_key: bytes, prefix: str = "sspm:captcha:"
    ) -> None:
        self._client = client
        self._key = _check_key(secret_key)
        self._prefix = prefix

    @property
    def key(self) -> bytes:
        return self._key

    def put(self, challenge_id: str, conversation: str, answer: str, ttl_seconds: int) -> None:
        _check_ttl(ttl_seconds)
        digest = answer_digest(self._key, challenge_id, conversation, answer)
        try:
            self._client.set(self._prefix + challenge_id, digest, ex=ttl_seconds)
        except RedisError as exc:
            raise CaptchaStoreUnavailable(f"captcha store unreachable: {exc!r}") from exc

    def consume(self, challenge_id: str, conversation: str, attempt: str) -> bool:
        expected = answer_digest(self._key, challenge_id, conversation, attempt)
        try:
            raw = self._client.getdel(self._prefix + challenge_id)
        except RedisError as exc:
            raise CaptchaStoreUnavailable(f"captcha store unreachable: {exc!r}") from exc
        stored = raw.decode("ascii") if isinstance(raw, bytes) else raw
        return _matches(stored if isinstance(stored, str) else None, expected)

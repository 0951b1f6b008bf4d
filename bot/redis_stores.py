"""Redis implementations of ``SessionStore``, ``Counters`` and ``Escalations``.

Keys (one builder, ``_Keys``; ``prefix`` defaults to ``sspm:``)::

    {prefix}session:{key}    JSON record, EX = the conversation's TTL
    {prefix}trace:{key}      "1", EX = TTL + 1 day: tells EXPIRED from NEW after the record is gone
    {prefix}lock:{key}       redis-py Lock token, PX = lock_timeout
    {prefix}event:{id}       "1", EX = idempotency window (SET NX)
    {prefix}count:{key}      INCR counter, EX = window, set at the first increment only
    {prefix}block:{key}      "1", EX = block duration
    {prefix}link:{digest}    JSON grant of a single-use password link, EX = its lifetime
    {prefix}relay:{conv}     ticket of the agent holding a conversation, EX = relay lifetime
    {prefix}relaylog:{id}    list of relayed messages, EX = 1 day
    {prefix}ticket:{id}      JSON help desk state of an escalation, EX = 30 days
    {prefix}escalations      stream, no TTL, trimmed to ~maxlen entries (DESIGN.md section 4)
    {prefix}lastticket:{o}   a sender's or account's latest ticket id, EX = its ticket cap's window

Errors: every ``redis.RedisError`` (connection refused, timeout, lock trouble, a server error)
leaves this module as ``dialogs.ports.StoreUnavailable``, raised ``from`` the original by one
context manager, ``_unavailable_on_redis_error``. Other exceptions are bugs and pass through
(``TypeError`` for a non-JSON record, ``ValueError`` for a TTL under one second).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import asdict, replace
from typing import Any, cast

import redis

from dialogs.memory import (
    TRACE_SECONDS,
    SystemClock,
    decode_record,
    encode_record,
    new_ticket_id,
)
from dialogs.ports import (
    LINK_PURPOSES,
    Clock,
    Escalation,
    LinkGrant,
    Lookup,
    StoreUnavailable,
    TicketState,
)
from dialogs.sealing import Sealer

# How often a waiting worker retries a held lock. redis-py's default (0.1 s) would add up to
# 100 ms to every contended event; a SET NX per 10 ms per waiter is nothing for Redis.
_LOCK_POLL_SECONDS = 0.01


@contextmanager
def _unavailable_on_redis_error() -> Iterator[None]:
    """The one place where redis-py's exceptions become the port's ``StoreUnavailable``."""
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(f"redis: {type(exc).__name__}: {exc}") from exc


def _text(value: bytes | str) -> str:
    # The client may or may not have been built with decode_responses=True.
    return value.decode() if isinstance(value, bytes) else value


class _Keys:
    """The one key builder, so every key name lives in one place (see the module docstring)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, kind: str, key: str) -> str:
        return f"{self.prefix}{kind}:{key}"

    @property
    def escalations(self) -> str:
        return f"{self.prefix}escalations"


def _positive(seconds: int, what: str) -> int:
    if seconds < 1:
        raise ValueError(f"{what} must be at least 1 second, got {seconds}")
    return seconds


class RedisSessionStore:
    """``SessionStore`` on Redis: one JSON string per conversation, plus a breadcrumb.

    ``lock`` is a redis-py ``Lock`` (SET NX PX with a random token, released by a script that
    checks the token), so it serialises threads and processes alike. It expires after
    ``lock_timeout`` seconds so a crashed worker cannot wedge a conversation; if it cannot be
    taken within ``lock_wait`` seconds the store is treated as unavailable.
    ``Lookup.EXPIRED`` is reported until the next ``save`` or ``delete`` of that key.
    """

    def __init__(self, client: redis.Redis, prefix: str = "sspm:", lock_timeout: float = 30.0,
                 lock_wait: float = 10.0) -> None:
        self._client = client
        self._keys = _Keys(prefix)
        self._lock_timeout = lock_timeout
        self._lock_wait = lock_wait

    def lock(self, key: str) -> AbstractContextManager[None]:
        return self._locked(key)

    @contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        # thread_local=False: the Lock object is private to this call, and a thread-local token
        # would break if the body hands over to another thread (asyncio.to_thread).
        with _unavailable_on_redis_error():
            lock = self._client.lock(self._keys("lock", key), timeout=self._lock_timeout,
                                     sleep=_LOCK_POLL_SECONDS, blocking_timeout=self._lock_wait,
                                     thread_local=False)
            if not lock.acquire():
                raise StoreUnavailable(f"lock for {key!r} not acquired within {self._lock_wait} s")
        try:
            yield
        except BaseException:
            # The body's own exception matters more than a failed release (the lock will
            # expire by itself): release quietly and re-raise the original.
            with suppress(redis.RedisError):
                lock.release()
            raise
        # Released after a clean body: a failure here means the lock expired while we worked
        # (another worker may have interleaved), which the caller must hear about.
        with _unavailable_on_redis_error():
            lock.release()

    def load(self, key: str) -> dict[str, Any] | Lookup:
        with _unavailable_on_redis_error():
            # One round trip, one snapshot of both keys.
            values = self._client.mget([self._keys("session", key), self._keys("trace", key)])
        # redis-py types sync and async replies alike (ResponseT); this client is sync.
        record, trace = cast(list[bytes | str | None], values)
        if record is not None:
            return decode_record(record)
        return Lookup.EXPIRED if trace is not None else Lookup.NEW

    def save(self, key: str, record: dict[str, Any], ttl_seconds: int) -> None:
        text = encode_record(record)
        ttl = _positive(ttl_seconds, "ttl_seconds")
        with _unavailable_on_redis_error():
            pipe = self._client.pipeline(transaction=True)
            pipe.set(self._keys("session", key), text, ex=ttl)
            pipe.set(self._keys("trace", key), "1", ex=ttl + TRACE_SECONDS)
            pipe.execute()

    def delete(self, key: str) -> None:
        with _unavailable_on_redis_error():
            self._client.delete(self._keys("session", key), self._keys("trace", key))

    def first_delivery(self, event_id: str, ttl_seconds: int) -> bool:
        ttl = _positive(ttl_seconds, "ttl_seconds")
        with _unavailable_on_redis_error():
            return bool(self._client.set(self._keys("event", event_id), "1", nx=True, ex=ttl))


class RedisCounters:
    """``Counters`` on Redis: INCR with a fixed window that starts at the first increment."""

    def __init__(self, client: redis.Redis, prefix: str = "sspm:") -> None:
        self._client = client
        self._keys = _Keys(prefix)

    def count(self, key: str) -> int:
        with _unavailable_on_redis_error():
            value = cast(bytes | str | None, self._client.get(self._keys("count", key)))
        return int(value) if value is not None else 0

    def increment(self, key: str, window_seconds: int) -> int:
        window = _positive(window_seconds, "window_seconds")
        name = self._keys("count", key)
        with _unavailable_on_redis_error():
            # MULTI: the counter never exists without its TTL. EXPIRE NX (Redis >= 7.0) only
            # sets a TTL when there is none, so later increments do not extend the window.
            pipe = self._client.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, window, nx=True)
            value, _ = pipe.execute()
        return int(value)

    def block(self, key: str, seconds: int) -> None:
        ttl = _positive(seconds, "seconds")
        with _unavailable_on_redis_error():
            self._client.set(self._keys("block", key), "1", ex=ttl)

    def blocked(self, key: str) -> bool:
        with _unavailable_on_redis_error():
            return bool(self._client.exists(self._keys("block", key)))

    def clear(self, key: str) -> None:
        with _unavailable_on_redis_error():
            self._client.delete(self._keys("count", key), self._keys("block", key))


# Escalation fields stored as JSON text in the stream (the rest are plain strings).
_JSON_FIELDS = ("passed", "failed", "extra")


def _escalation_fields(ticket: str, escalation: Escalation) -> dict[str, str]:
    fields = {"ticket": ticket}
    for name, value in asdict(escalation).items():
        if name in _JSON_FIELDS:
            fields[name] = json.dumps(value)
        elif name == "created_at":
            fields[name] = repr(float(value))  # repr round-trips a float exactly
        else:
            fields[name] = str(value)
    return fields


def _escalation_from(raw: dict[Any, Any]) -> tuple[str, Escalation]:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    ticket = fields.pop("ticket")
    extra = tuple((str(k), str(v)) for k, v in json.loads(fields.pop("extra")))
    escalation = Escalation(
        reason=fields["reason"], channel=fields["channel"], domain=fields["domain"],
        username=fields["username"], language=fields["language"], contact=fields["contact"],
        passed=tuple(json.loads(fields["passed"])), failed=tuple(json.loads(fields["failed"])),
        created_at=float(fields["created_at"]), extra=extra)
    return ticket, escalation


class RedisEscalations:
    """``Escalations`` on a Redis stream (the one key without a TTL, trimmed to ~``maxlen``).

    The ticket id is a short random code (``dialogs.memory.new_ticket_id``) stored as a field:
    the person quotes it to the help desk, so it must not be the guessable stream id.
    """

    def __init__(self, client: redis.Redis, prefix: str = "sspm:", maxlen: int = 10_000,
                 *, clock: Clock | None = None) -> None:
        self._client = client
        self._keys = _Keys(prefix)
        self._key = self._keys.escalations
        self._maxlen = maxlen
        self._clock: Clock = clock if clock is not None else SystemClock()

    def raise_escalation(self, escalation: Escalation) -> str:
        if not escalation.created_at:
            escalation = replace(escalation, created_at=self._clock.now())
        ticket = new_ticket_id()
        fields = _escalation_fields(ticket, escalation)
        with _unavailable_on_redis_error():
            # MAXLEN ~: trimming whole macro-nodes is far cheaper than an exact cap.
            self._client.xadd(self._key, fields,  # type: ignore[arg-type]
                              maxlen=self._maxlen, approximate=True)
        return ticket

    def recent(self, count: int = 50) -> Iterator[tuple[str, Escalation]]:
        with _unavailable_on_redis_error():
            entries = cast(list[tuple[Any, dict[Any, Any]]],
                           self._client.xrevrange(self._key, count=count))
        return iter([_escalation_from(raw) for _, raw in entries])

    def remember_ticket(self, owner: str, ticket: str, ttl_seconds: int) -> None:
        ttl = _positive(ttl_seconds, "ttl_seconds")
        with _unavailable_on_redis_error():
            self._client.set(self._keys("lastticket", owner), ticket, ex=ttl)

    def last_ticket(self, owner: str) -> str | None:
        with _unavailable_on_redis_error():
            value = cast(bytes | str | None, self._client.get(self._keys("lastticket", owner)))
        return _text(value) if value is not None else None


class RedisPasswordLinks:
    """``PasswordLinks`` on Redis: ``{prefix}link:{digest}`` JSON, EX = the link's lifetime.

    Only an HMAC of the token is a key, so reading Redis does not yield usable links;
    ``consume`` is GETDEL, so two submissions of one link cannot both pass.
    """

    def __init__(self, client: redis.Redis, secret_key: bytes, prefix: str = "sspm:",
                 *, clock: Clock | None = None) -> None:
        self._client = client
        self._keys = _Keys(prefix)
        self._secret = hmac.new(secret_key, b"sspm.link.v1", hashlib.sha256).digest()
        self._clock = clock or SystemClock()

    def _key(self, token: str) -> str:
        digest = hmac.new(self._secret, token.encode(), hashlib.sha256).hexdigest()
        return self._keys("link", digest)

    def issue(self, grant: LinkGrant, ttl_seconds: int) -> str:
        token = secrets.token_urlsafe(24)
        stored = replace(grant, expires_at=self._clock.now() + ttl_seconds)
        with _unavailable_on_redis_error():
            self._client.set(self._key(token), json.dumps(asdict(stored)),
                             ex=_positive(ttl_seconds, "link lifetime"))
        return token

    def peek(self, token: str) -> LinkGrant | None:
        with _unavailable_on_redis_error():
            raw = self._client.get(self._key(token))
        return _grant(cast("bytes | str | None", raw))

    def consume(self, token: str) -> LinkGrant | None:
        with _unavailable_on_redis_error():
            raw = self._client.getdel(self._key(token))
        return _grant(cast("bytes | str | None", raw))

    def restore(self, token: str, grant: LinkGrant) -> None:
        ttl = int(grant.expires_at - self._clock.now())
        if ttl < 1:
            return
        with _unavailable_on_redis_error():
            self._client.set(self._key(token), json.dumps(asdict(grant)), ex=ttl)


def _grant(raw: bytes | str | None) -> LinkGrant | None:
    """A stored grant; one from before ``purpose`` existed reads as a reset link (it was one).
    An unknown purpose opens nothing: the page must never guess what a link allows."""
    if raw is None:
        return None
    try:
        fields = json.loads(_text(raw))
        grant = LinkGrant(**fields)
    except (TypeError, ValueError):
        return None
    return grant if grant.purpose in LINK_PURPOSES else None


class RedisRelays:
    """``Relays`` on Redis: ``{prefix}relay:{conversation}`` -> ticket, and the ticket's
    message list ``{prefix}relaylog:{ticket}``; both expire with the relay's lifetime.

    Message texts are sealed (AES-GCM, bound to the ticket): a person may type a secret to an
    agent despite the warning, and it must not sit in Redis in clear (DESIGN.md 5.11).
    """

    def __init__(self, client: redis.Redis, secret_key: bytes, prefix: str = "sspm:", *,
                 clock: Clock | None = None, log_ttl_seconds: int = 86_400,
                 max_messages: int = 500) -> None:
        self._sealer = Sealer(secret_key)
        self._client = client
        self._keys = _Keys(prefix)
        self._clock = clock or SystemClock()
        self._log_ttl = log_ttl_seconds
        self._max = max_messages

    def active(self, conversation: str) -> str | None:
        with _unavailable_on_redis_error():
            raw = self._client.get(self._keys("relay", conversation))
        return _text(cast("bytes | str", raw)) if raw is not None else None

    def start(self, ticket: str, conversation: str, ttl_seconds: int) -> None:
        with _unavailable_on_redis_error():
            self._client.set(self._keys("relay", conversation), ticket,
                             ex=_positive(ttl_seconds, "relay lifetime"))

    def stop(self, ticket: str, conversation: str) -> None:
        key = self._keys("relay", conversation)
        with _unavailable_on_redis_error():
            if self.active(conversation) == ticket:
                self._client.delete(key)

    def record(self, ticket: str, who: str, text: str) -> None:
        key = self._keys("relaylog", ticket)
        sealed = self._sealer.seal(f"relay:{ticket}", text[:2000])
        entry = json.dumps({"who": who, "text": sealed, "at": self._clock.now()})
        with _unavailable_on_redis_error():
            pipe = self._client.pipeline(transaction=True)
            pipe.rpush(key, entry)
            pipe.ltrim(key, -self._max, -1)
            pipe.expire(key, self._log_ttl)
            pipe.execute()

    def messages(self, ticket: str) -> list[dict[str, str | float]]:
        with _unavailable_on_redis_error():
            raw = cast("list[bytes]", self._client.lrange(self._keys("relaylog", ticket), 0, -1))
        messages: list[dict[str, str | float]] = []
        for item in raw:
            entry = json.loads(_text(item))
            entry["text"] = self._sealer.open(f"relay:{ticket}", str(entry["text"])) or ""
            messages.append(entry)
        return messages


class RedisTickets:
    """``Tickets`` on Redis: ``{prefix}ticket:{id}`` JSON, kept ``ttl_seconds`` (30 days)."""

    def __init__(self, client: redis.Redis, prefix: str = "sspm:",
                 ttl_seconds: int = 30 * 86_400) -> None:
        self._client = client
        self._keys = _Keys(prefix)
        self._ttl = ttl_seconds

    def get(self, ticket: str) -> TicketState:
        with _unavailable_on_redis_error():
            raw = self._client.get(self._keys("ticket", ticket))
        if raw is None:
            return TicketState()
        data = json.loads(_text(cast("bytes | str", raw)))
        data["notes"] = tuple(tuple(note) for note in data.get("notes", []))
        return TicketState(**data)

    def put(self, ticket: str, state: TicketState) -> None:
        with _unavailable_on_redis_error():
            self._client.set(self._keys("ticket", ticket), json.dumps(asdict(state)),
                             ex=self._ttl)

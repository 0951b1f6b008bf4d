"""Redis implementations of ``Counters``, ``Escalations``, ``PasswordLinks``, ``Relays`` and
``Tickets`` (``SessionStore`` is ``bot.redis_sessions``; key names, ``bot.redis_keys``).

Keys (``prefix`` defaults to ``sspm:``; ``{T}`` is a hash tag, issue 14)::

    {prefix}{T}:n            INCR counter, EX = window, set at the first increment only;
                             T = tag of the counted name (an account, a sender...)
    {prefix}{T}:b            "1", EX = block duration; same T as its counter
    {prefix}link:{digest}    JSON grant of a single-use password link, EX = its lifetime
    {prefix}{T}:r            ticket of the agent holding a conversation, EX = relay lifetime;
                             T = the conversation's tag, so a turn's first script reads it
    {prefix}relaylog:{id}    list of relayed messages, EX = 1 day
    {prefix}ticket:{id}      JSON help desk state of an escalation, EX = 30 days
    {prefix}escalations      stream, no TTL, trimmed to ~maxlen entries (DESIGN.md section 4)
    {prefix}lastticket:{o}   a sender's or account's latest ticket id, EX = its ticket cap's window

Errors: every ``redis.RedisError`` (connection refused, timeout, lock trouble, a server error)
leaves this module as ``dialogs.ports.StoreUnavailable``, raised ``from`` the original by one
context manager, ``unavailable_on_redis_error``. Other exceptions are bugs and pass through
(``TypeError`` for a non-JSON record, ``ValueError`` for a TTL under one second).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any, cast

import redis

from bot.redis_keys import ConversationKeys, tagged
from dialogs.memory import SystemClock, new_ticket_id
from dialogs.ports import (
    LINK_PURPOSES,
    Clock,
    Escalation,
    Guess,
    LinkGrant,
    StoreUnavailable,
    Tally,
    TicketState,
)
from dialogs.sealing import Sealer


@contextmanager
def unavailable_on_redis_error() -> Iterator[None]:
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


# The counters' scripts each touch one counter and its block: one hash tag, so one slot of a
# Redis Cluster (issue 14). EXPIRE NX (Redis >= 7.0) sets a TTL only when there is none, so
# the window starts at the first increment and later increments do not extend it.
_GIVE_BACK = """
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0
"""

# KEYS: counter, block. ARGV: window, limit, proven ('1' or '0'). Returns {attempt, refused}.
_TAKE_GUESS = """
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX')
if redis.call('EXISTS', KEYS[2]) == 1 or n > tonumber(ARGV[2]) then return {n, 1} end
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2])
elseif n >= tonumber(ARGV[2]) then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
end
return {n, 0}
"""


class RedisCounters:
    """``Counters`` on Redis: a fixed window that starts at the first increment.

    Every method is one round trip (issue 13). ``increment_all`` pipelines INCR and EXPIRE NX
    per counter; for several counters not in a transaction, since redis-py splits a pipeline
    by node under a Cluster and refuses scripts and cross-slot transactions in one. Should a
    connection die between a counter's INCR and its EXPIRE, the counter's next increment
    gives it its TTL (EXPIRE NX sets one only where none is): a sender so caught is counted
    one window longer, never for ever. ``increment`` of one counter is a MULTI (atomic), and
    ``take_guess`` and ``give_back`` are single-slot scripts (atomic).
    """

    def __init__(self, client: redis.Redis, prefix: str = "sspm:") -> None:
        self._client = client
        self._prefix = prefix
        self._give_back = client.register_script(_GIVE_BACK)
        self._take_guess = client.register_script(_TAKE_GUESS)

    def _names(self, key: str) -> tuple[str, str]:
        """The counter's key and its block's: one hash tag, so ``clear`` is one slot."""
        counter = tagged(self._prefix, key, "n")
        return counter, counter[:-1] + "b"

    def count(self, key: str) -> int:
        return self.tally(key).count

    def tally(self, key: str) -> Tally:
        with unavailable_on_redis_error():
            value, block = cast(list[bytes | str | None], self._client.mget(self._names(key)))
        return Tally(int(value) if value is not None else 0, block is not None)

    def increment(self, key: str, window_seconds: int) -> int:
        return self.increment_all(((key, window_seconds),))[0]

    def increment_all(self, windows: Sequence[tuple[str, int]]) -> tuple[int, ...]:
        checked = [(self._names(key)[0], _positive(window, "window_seconds"))
                   for key, window in windows]
        if not checked:
            return ()
        with unavailable_on_redis_error():
            pipe = self._client.pipeline(transaction=len(checked) == 1)
            for name, window in checked:
                pipe.incr(name)
                pipe.expire(name, window, nx=True)
            replies = pipe.execute()
        return tuple(int(n) for n in replies[::2])

    def give_back(self, key: str) -> None:
        with unavailable_on_redis_error():
            self._give_back(keys=[self._names(key)[0]])

    def take_guess(self, key: str, window_seconds: int, limit: int, *, proven: bool) -> Guess:
        window = _positive(window_seconds, "window_seconds")
        with unavailable_on_redis_error():
            attempt, refused = cast(list[int], self._take_guess(
                keys=list(self._names(key)), args=[window, limit, "1" if proven else "0"]))
        return Guess(int(attempt), refused=bool(refused))

    def block(self, key: str, seconds: int) -> None:
        ttl = _positive(seconds, "seconds")
        with unavailable_on_redis_error():
            self._client.set(self._names(key)[1], "1", ex=ttl)

    def blocked(self, key: str) -> bool:
        return self.tally(key).blocked

    def clear(self, key: str) -> None:
        with unavailable_on_redis_error():
            self._client.delete(*self._names(key))


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
        with unavailable_on_redis_error():
            # MAXLEN ~: trimming whole macro-nodes is far cheaper than an exact cap.
            self._client.xadd(self._key, fields,  # type: ignore[arg-type]
                              maxlen=self._maxlen, approximate=True)
        return ticket

    def recent(self, count: int = 50) -> Iterator[tuple[str, Escalation]]:
        with unavailable_on_redis_error():
            entries = cast(list[tuple[Any, dict[Any, Any]]],
                           self._client.xrevrange(self._key, count=count))
        return iter([_escalation_from(raw) for _, raw in entries])

    def remember_ticket(self, owner: str, ticket: str, ttl_seconds: int) -> None:
        ttl = _positive(ttl_seconds, "ttl_seconds")
        with unavailable_on_redis_error():
            self._client.set(self._keys("lastticket", owner), ticket, ex=ttl)

    def last_ticket(self, owner: str) -> str | None:
        with unavailable_on_redis_error():
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
        with unavailable_on_redis_error():
            self._client.set(self._key(token), json.dumps(asdict(stored)),
                             ex=_positive(ttl_seconds, "link lifetime"))
        return token

    def peek(self, token: str) -> LinkGrant | None:
        with unavailable_on_redis_error():
            raw = self._client.get(self._key(token))
        return _grant(cast("bytes | str | None", raw))

    def consume(self, token: str) -> LinkGrant | None:
        with unavailable_on_redis_error():
            raw = self._client.getdel(self._key(token))
        return _grant(cast("bytes | str | None", raw))

    def restore(self, token: str, grant: LinkGrant) -> None:
        ttl = int(grant.expires_at - self._clock.now())
        if ttl < 1:
            return
        with unavailable_on_redis_error():
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
    """``Relays`` on Redis: ``{prefix}{T}:r`` -> ticket (``T`` the conversation's tag), and
    the ticket's message list ``{prefix}relaylog:{ticket}``; both expire with the relay.

    Message texts are sealed (AES-GCM, bound to the ticket): a person may type a secret to an
    agent despite the warning, and it must not sit in Redis in clear (DESIGN.md 5.11).
    """

    def __init__(self, client: redis.Redis, secret_key: bytes, prefix: str = "sspm:", *,
                 clock: Clock | None = None, log_ttl_seconds: int = 86_400,
                 max_messages: int = 500) -> None:
        self._sealer = Sealer(secret_key)
        self._client = client
        self._keys = _Keys(prefix)
        self._conversations = ConversationKeys(prefix, secret_key)
        self._clock = clock or SystemClock()
        self._log_ttl = log_ttl_seconds
        self._max = max_messages

    def active(self, conversation: str) -> str | None:
        with unavailable_on_redis_error():
            raw = self._client.get(self._conversations(conversation, "r"))
        return _text(cast("bytes | str", raw)) if raw is not None else None

    def start(self, ticket: str, conversation: str, ttl_seconds: int) -> None:
        with unavailable_on_redis_error():
            self._client.set(self._conversations(conversation, "r"), ticket,
                             ex=_positive(ttl_seconds, "relay lifetime"))

    def stop(self, ticket: str, conversation: str) -> None:
        key = self._conversations(conversation, "r")
        with unavailable_on_redis_error():
            if self.active(conversation) == ticket:
                self._client.delete(key)

    def record(self, ticket: str, who: str, text: str) -> None:
        key = self._keys("relaylog", ticket)
        sealed = self._sealer.seal(f"relay:{ticket}", text[:2000])
        entry = json.dumps({"who": who, "text": sealed, "at": self._clock.now()})
        with unavailable_on_redis_error():
            pipe = self._client.pipeline(transaction=True)
            pipe.rpush(key, entry)
            pipe.ltrim(key, -self._max, -1)
            pipe.expire(key, self._log_ttl)
            pipe.execute()

    def messages(self, ticket: str) -> list[dict[str, str | float]]:
        with unavailable_on_redis_error():
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
        with unavailable_on_redis_error():
            raw = self._client.get(self._keys("ticket", ticket))
        if raw is None:
            return TicketState()
        data = json.loads(_text(cast("bytes | str", raw)))
        data["notes"] = tuple(tuple(note) for note in data.get("notes", []))
        return TicketState(**data)

    def put(self, ticket: str, state: TicketState) -> None:
        with unavailable_on_redis_error():
            self._client.set(self._keys("ticket", ticket), json.dumps(asdict(state)),
                             ex=self._ttl)

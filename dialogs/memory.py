"""In-memory implementations of the ports in ``dialogs.ports``, and the helpers they share
(the session store is ``dialogs.memory_sessions``).

They exist for fast tests and the console demo; production uses ``bot.redis_stores`` and
``bot.audit_log``. Both families pass the same contract tests (``tests/stores/``), so what is
true here is true against Redis: records round-trip through JSON (only JSON primitives
survive, anything else is a ``TypeError`` at save), TTLs run on the injected ``Clock``, and
``load`` tells an expired conversation (``Lookup.EXPIRED``) from one never seen (``Lookup.NEW``).

Pure Python: no I/O here (``dialogs/`` never imports redis and friends).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from dialogs.ports import Clock, Escalation, Guess, LinkGrant, Tally, TicketState

# After a record's TTL runs out, how long ``load`` still remembers that it existed, so a
# person who comes back late is told "your session expired" rather than greeted as new.
TRACE_SECONDS = 86_400

# Ticket ids are read over the phone and typed by help desk agents: no 0/O, 1/I/L, 5/S, 8/B.
TICKET_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
TICKET_LENGTH = 8

# Field names an audit record refuses (case-insensitive substrings): callers must never pass
# a secret, and a name like these is the most likely sign that one is about to be logged.
SECRET_FIELD_WORDS = ("password", "answer", "code", "secret", "token", "pin")

# Keys an audit record always has; a free-form field may not overwrite them.
AUDIT_RESERVED = frozenset({"ts", "event", "result", "channel", "who"})


def encode_record(record: dict[str, Any]) -> str:
    """The JSON text stored for a session record; ``TypeError`` if it is not pure JSON.

    NaN and infinities are refused too: they are not JSON, and another reader would choke.
    """
    if not isinstance(record, dict):
        raise TypeError(f"a session record must be a dict, not {type(record).__name__}")
    try:
        return json.dumps(record, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:
        raise TypeError(f"session record is not JSON: {exc}") from exc


def decode_record(text: str | bytes) -> dict[str, Any]:
    """The inverse of ``encode_record``."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise TypeError("stored session record is not a JSON object")
    return value


def new_ticket_id() -> str:
    """A short, unguessable, human-readable ticket id such as ``T-7KQ4MZ2X``."""
    return "T-" + "".join(secrets.choice(TICKET_ALPHABET) for _ in range(TICKET_LENGTH))


def check_audit_fields(fields: Mapping[str, object]) -> None:
    """Refuse secret-looking or reserved field names and non-primitive values (``ValueError``
    / ``TypeError``), before anything is written."""
    for name, value in fields.items():
        lowered = name.lower()
        if any(word in lowered for word in SECRET_FIELD_WORDS):
            raise ValueError(f"audit field {name!r} looks like a secret; never audit secrets")
        if lowered in AUDIT_RESERVED:
            raise ValueError(f"audit field {name!r} is reserved")
        if not isinstance(value, str | int | bool):
            raise TypeError(f"audit field {name!r} must be str, int or bool")


def _positive(seconds: int, what: str) -> int:
    # Redis refuses EX 0 with an obscure error; refuse it here too so both behave alike.
    if seconds < 1:
        raise ValueError(f"{what} must be at least 1 second, got {seconds}")
    return seconds


class SystemClock:
    """The wall clock (deadlines are shown to people, so not ``time.monotonic``)."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to: TTL tests without sleeping."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class _Expiring:
    """A dict of values with deadlines on a clock; expired entries read as absent."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._items: dict[str, tuple[float, Any]] = {}
        self._writes = 0

    def item(self, key: str) -> tuple[float, Any] | None:
        """``(deadline, value)``, or None once the deadline has passed."""
        item = self._items.get(key)
        if item is not None and item[0] <= self._clock.now():
            del self._items[key]
            return None
        return item

    def get(self, key: str) -> Any | None:
        item = self.item(key)
        return item[1] if item is not None else None

    def put(self, key: str, value: Any, seconds: float) -> None:
        self.put_until(key, value, self._clock.now() + seconds)

    def put_until(self, key: str, value: Any, deadline: float) -> None:
        self._items[key] = (deadline, value)
        self._writes += 1
        if self._writes % 256 == 0:
            self._sweep()

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def _sweep(self) -> None:
        # Without this, a long-running demo would keep every conversation it ever saw.
        now = self._clock.now()
        for key in [k for k, (deadline, _) in self._items.items() if deadline <= now]:
            del self._items[key]


class MemoryCounters:
    """``Counters`` in a dict: a fixed window that starts at the first increment."""

    def __init__(self, clock: Clock) -> None:
        self._guard = threading.Lock()
        self._counts = _Expiring(clock)
        self._blocks = _Expiring(clock)

    def count(self, key: str) -> int:
        with self._guard:
            value = self._counts.get(key)
            return int(value) if value is not None else 0

    def tally(self, key: str) -> Tally:
        with self._guard:
            value = self._counts.get(key)
            return Tally(int(value) if value is not None else 0,
                         self._blocks.get(key) is not None)

    def increment(self, key: str, window_seconds: int) -> int:
        window = _positive(window_seconds, "window_seconds")
        with self._guard:
            return self._increment(key, window)

    def increment_all(self, windows: Sequence[tuple[str, int]]) -> tuple[int, ...]:
        checked = [(key, _positive(window, "window_seconds")) for key, window in windows]
        with self._guard:
            return tuple(self._increment(key, window) for key, window in checked)

    def give_back(self, key: str) -> None:
        with self._guard:
            item = self._counts.item(key)
            if item is not None and int(item[1]) > 0:
                self._counts.put_until(key, int(item[1]) - 1, item[0])

    def take_guess(self, key: str, window_seconds: int, limit: int, *, proven: bool) -> Guess:
        window = _positive(window_seconds, "window_seconds")
        with self._guard:
            attempt = self._increment(key, window)
            if self._blocks.get(key) is not None or attempt > limit:
                return Guess(attempt, refused=True)
            if proven:
                self._counts.pop(key)
                self._blocks.pop(key)
            elif attempt >= limit:
                self._blocks.put(key, True, window)
            return Guess(attempt, refused=False)

    def _increment(self, key: str, window: int) -> int:
        item = self._counts.item(key)
        if item is None:
            self._counts.put(key, 1, window)
            return 1
        # Keep the deadline set by the first increment: the window does not slide.
        deadline, value = item
        self._counts.put_until(key, value + 1, deadline)
        return int(value) + 1

    def block(self, key: str, seconds: int) -> None:
        ttl = _positive(seconds, "seconds")
        with self._guard:
            self._blocks.put(key, True, ttl)

    def blocked(self, key: str) -> bool:
        with self._guard:
            return self._blocks.get(key) is not None

    def clear(self, key: str) -> None:
        with self._guard:
            self._counts.pop(key)
            self._blocks.pop(key)


class MemoryEscalations:
    """``Escalations`` in a list, capped at ``maxlen`` like the Redis stream."""

    def __init__(self, clock: Clock, maxlen: int = 10_000) -> None:
        self._guard = threading.Lock()
        self._clock = clock
        self._maxlen = maxlen
        self._items: list[tuple[str, Escalation]] = []
        self._owners = _Expiring(clock)

    def raise_escalation(self, escalation: Escalation) -> str:
        if not escalation.created_at:
            escalation = replace(escalation, created_at=self._clock.now())
        ticket = new_ticket_id()
        with self._guard:
            self._items.append((ticket, escalation))
            del self._items[:-self._maxlen]
        return ticket

    def recent(self, count: int = 50) -> Iterator[tuple[str, Escalation]]:
        with self._guard:
            newest_first = self._items[::-1][:count]
        return iter(newest_first)

    def remember_ticket(self, owner: str, ticket: str, ttl_seconds: int) -> None:
        ttl = _positive(ttl_seconds, "ttl_seconds")
        with self._guard:
            self._owners.put(owner, ticket, ttl)

    def last_ticket(self, owner: str) -> str | None:
        with self._guard:
            value = self._owners.get(owner)
        return str(value) if value is not None else None


class MemoryAudit:
    """``Audit`` into ``.records``: a list of dicts (no timestamp: tests compare them)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self.records: list[dict[str, str | int | bool]] = []

    def record(self, event: str, *, result: str, channel: str, who: str = "",
               **fields: str | int | bool) -> None:
        check_audit_fields(fields)
        entry: dict[str, str | int | bool] = {
            "event": event, "result": result, "channel": channel, "who": who, **fields}
        with self._guard:
            self.records.append(entry)


class MemorySignIns:
    """In-memory ``SignIns``: conversation -> (DN, expiry), taken once."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._marks: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def mark(self, conversation: str, dn: str, ttl_seconds: int) -> None:
        with self._lock:
            self._marks[conversation] = (dn, self._clock.now() + ttl_seconds)

    def take(self, conversation: str) -> str | None:
        with self._lock:
            dn, expires = self._marks.pop(conversation, ("", 0.0))
        return dn if dn and expires > self._clock.now() else None


class MemoryLanguages:
    """In-memory ``LanguagePreferences`` (``dialogs.languages``): key -> language, expiring."""

    def __init__(self, clock: Clock) -> None:
        self._items = _Expiring(clock)
        self._lock = threading.Lock()

    def recall(self, key: str) -> str | None:
        with self._lock:
            value = self._items.get(key)
        return str(value) if value is not None else None

    def remember(self, key: str, language: str, ttl_seconds: int) -> None:
        with self._lock:
            self._items.put(key, language, ttl_seconds)


class MemoryPasswordLinks:
    """In-memory ``PasswordLinks``: tokens kept only as keyed digests, single use, with TTL."""

    def __init__(self, clock: Clock, secret_key: bytes = b"memory-links-key") -> None:
        self._clock = clock
        self._key = secret_key
        self._grants: dict[str, LinkGrant] = {}
        self._lock = threading.Lock()

    def _digest(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    def issue(self, grant: LinkGrant, ttl_seconds: int) -> str:
        token = secrets.token_urlsafe(24)
        stored = replace(grant, expires_at=self._clock.now() + ttl_seconds)
        with self._lock:
            self._grants[self._digest(token)] = stored
        return token

    def peek(self, token: str) -> LinkGrant | None:
        with self._lock:
            grant = self._grants.get(self._digest(token))
        return grant if grant is not None and grant.expires_at > self._clock.now() else None

    def consume(self, token: str) -> LinkGrant | None:
        with self._lock:
            grant = self._grants.pop(self._digest(token), None)
        return grant if grant is not None and grant.expires_at > self._clock.now() else None

    def restore(self, token: str, grant: LinkGrant) -> None:
        with self._lock:
            self._grants[self._digest(token)] = grant


class MemoryTickets:
    def __init__(self) -> None:
        self._states: dict[str, TicketState] = {}
        self._lock = threading.Lock()

    def get(self, ticket: str) -> TicketState:
        with self._lock:
            return self._states.get(ticket, TicketState())

    def put(self, ticket: str, state: TicketState) -> None:
        with self._lock:
            self._states[ticket] = state


class MemoryRelays:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._active: dict[str, tuple[str, float]] = {}
        self._logs: dict[str, list[dict[str, str | float]]] = {}
        self._lock = threading.Lock()

    def active(self, conversation: str) -> str | None:
        with self._lock:
            entry = self._active.get(conversation)
        return entry[0] if entry is not None and entry[1] > self._clock.now() else None

    def start(self, ticket: str, conversation: str, ttl_seconds: int) -> None:
        with self._lock:
            self._active[conversation] = (ticket, self._clock.now() + ttl_seconds)

    def stop(self, ticket: str, conversation: str) -> None:
        with self._lock:
            if self._active.get(conversation, ("", 0.0))[0] == ticket:
                del self._active[conversation]

    def record(self, ticket: str, who: str, text: str) -> None:
        with self._lock:
            self._logs.setdefault(ticket, []).append(
                {"who": who, "text": text, "at": self._clock.now()})

    def messages(self, ticket: str) -> list[dict[str, str | float]]:
        with self._lock:
            return list(self._logs.get(ticket, []))

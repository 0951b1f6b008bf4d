"""The engine's ports besides the directory and captchas: small ``typing.Protocol``s.

Real implementations live outside ``dialogs/`` (``bot.redis_stores``, ``bot.audit_log``);
in-memory ones for fast tests live in ``dialogs.memory``. Values crossing these ports are
JSON primitives only, and never a secret in clear (DESIGN.md section 5.11).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from dialogs.actions import Action
    from dialogs.events import Event


class StoreUnavailable(Exception):
    """The session store (Redis) is down or too slow; nothing was changed."""


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (wall clock: deadlines are shown to people)."""
        ...


class Lookup(Enum):
    """Why ``SessionStore.load`` found no live record."""

    NEW = "new"
    EXPIRED = "expired"


# A provider retries a delivery whose reply failed, before the person has sent much more:
# a store remembers the last 16 delivery ids of a conversation, which bounds what it keeps.
DELIVERY_IDS_KEPT = 16


@dataclass(frozen=True)
class Delivery:
    """A platform's id for one inbound delivery, and how long that platform may send it again
    (the store remembers the id that long, and no longer: issue 13)."""

    id: str
    retry_seconds: int


@dataclass(frozen=True)
class Opening:
    """The start of one turn: the conversation's lock held, and what the turn reads first.

    ``token`` proves the lock is this turn's; ``close`` writes only while it still holds.
    ``duplicate``: the delivery was seen before; no lock was taken and nothing is to close.
    ``prefetched``: the store also read the conversation's relay mark (``relay``, the ticket
    of the agent holding it) and its sender's remembered language (``language``), so the
    engine need not ask the ``Relays`` and ``LanguagePreferences`` ports; when False, those
    two are unknown rather than absent.
    """

    key: str
    token: str = ""
    record: dict[str, Any] | Lookup = Lookup.NEW
    duplicate: bool = False
    prefetched: bool = False
    relay: str | None = None
    language: str | None = None
    # The channel's own small record for this conversation (e.g. what the last SMS prompt
    # asked for), read in the same round trip; empty when there is none.
    memo: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MemoWrite:
    """A channel memo to write at ``close``, with its own TTL (it outlives the record)."""

    memo: dict[str, Any]
    ttl_seconds: int


class ChannelMemo(Protocol):
    """A channel's reading of one delivery with what it remembered of the last turn (issue
    13: the memo travels in the turn's two round trips instead of two more)."""

    def event(self, memo: dict[str, Any]) -> Event:
        """The event this turn handles, read with the channel's memo (``{}`` if none)."""
        ...

    def remember(self, actions: list[Action]) -> MemoWrite | None:
        """The memo for the next turn, from this turn's actions; None keeps it as it is."""
        ...


class SessionStore(Protocol):
    """One JSON record per conversation, with one TTL; a per-conversation lock.

    A turn is ``open`` then ``close``: one round trip each on Redis (issue 13). ``open``
    takes the conversation's lock (waiting a bounded time, else ``StoreUnavailable``),
    records the delivery id, and returns the record: the record, or ``Lookup.EXPIRED`` when
    a record existed recently but its TTL ran out (so the person gets a friendly restart),
    or ``Lookup.NEW``. ``load``, ``save`` and ``delete`` work outside a turn, without the
    lock (tests and tools).
    """

    def open(self, key: str, delivery: Delivery | None = None) -> Opening:
        """Take the lock and read; a ``delivery`` seen before gives ``duplicate`` at once."""
        ...

    def close(self, opening: Opening, *, record: dict[str, Any] | None = None,
              ttl_seconds: int = 0, delete: bool = False, memo: MemoWrite | None = None
              ) -> None:
        """Save ``record`` for ``ttl_seconds``, or ``delete`` it, or with neither leave it,
        and release the lock, all at once and only while ``opening.token`` still holds it:
        a lock lost meanwhile (another worker may have interleaved) writes nothing and
        raises ``StoreUnavailable``."""
        ...

    def load(self, key: str) -> dict[str, Any] | Lookup:
        ...

    def save(self, key: str, record: dict[str, Any], ttl_seconds: int) -> None:
        ...

    def delete(self, key: str) -> None:
        ...


@dataclass(frozen=True)
class Tally:
    """A counter and its block, read together (one round trip on Redis)."""

    count: int = 0
    blocked: bool = False


@dataclass(frozen=True)
class Guess:
    """One guess taken from a budget (``Counters.take_guess``): the how-manieth it was, and
    whether it was refused (blocked, or over the limit) so its outcome must not be told."""

    attempt: int
    refused: bool


class Counters(Protocol):
    """Shared counters and blocks (every channel and worker sees the same ones).

    Issue 13: what a turn asks of them costs one round trip on Redis: ``tally`` reads a
    counter and its block together, ``increment_all`` adds to several counters at once, and
    ``take_guess`` spends, judges and settles a guess in one atomic step.
    """

    def count(self, key: str) -> int:
        ...

    def tally(self, key: str) -> Tally:
        """``count`` and ``blocked`` at once."""
        ...

    def increment(self, key: str, window_seconds: int) -> int:
        """Add one; the window starts at the first increment. Returns the new count."""
        ...

    def increment_all(self, windows: Sequence[tuple[str, int]]) -> tuple[int, ...]:
        """``increment`` each ``(key, window_seconds)``, at once; the new counts, in order.
        Each increment is atomic on its own; together they are not a transaction."""
        ...

    def give_back(self, key: str) -> None:
        """Take one off a live counter (never below zero, never starting a window)."""
        ...

    def take_guess(self, key: str, window_seconds: int, limit: int, *, proven: bool) -> Guess:
        """Spend one guess of ``key``'s budget and settle it, atomically (DESIGN.md 5.3).

        Refused when ``key`` is blocked or this guess is past ``limit``: then nothing else
        changes, and the caller must not tell the outcome. Otherwise a ``proven`` guess
        clears the counter and its block (the owner proved it: earlier failures were
        theirs), and a failed guess that reaches ``limit`` blocks ``key`` for the window.
        Parallel guesses never get more outcomes told than the budget, however they race.
        """
        ...

    def block(self, key: str, seconds: int) -> None:
        ...

    def blocked(self, key: str) -> bool:
        ...

    def clear(self, key: str) -> None:
        ...


@dataclass(frozen=True)
class Escalation:
    """What the help desk receives: context, never a secret."""

    reason: str
    channel: str
    domain: str
    username: str = ""
    passed: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    language: str = "en"
    contact: str = ""
    created_at: float = 0.0
    extra: tuple[tuple[str, str], ...] = field(default=())


class Escalations(Protocol):
    def raise_escalation(self, escalation: Escalation) -> str:
        """Record the escalation; return its ticket id."""
        ...

    def recent(self, count: int = 50) -> Iterator[tuple[str, Escalation]]:
        """Newest first."""
        ...

    def remember_ticket(self, owner: str, ticket: str, ttl_seconds: int) -> None:
        """Remember ``ticket`` as ``owner``'s latest (a keyed digest of a sender or account),
        so that once the ticket cap is reached the person is given that ticket again."""
        ...

    def last_ticket(self, owner: str) -> str | None:
        """The ticket last remembered for ``owner``, while its TTL runs."""
        ...


class Audit(Protocol):
    def record(self, event: str, *, result: str, channel: str, who: str = "",
               **fields: str | int | bool) -> None:
        """One structured audit record; callers never pass a secret."""
        ...


LinkPurpose = Literal["reset", "change", "enrol_sign_in"]
LINK_PURPOSES: tuple[LinkPurpose, ...] = ("reset", "change", "enrol_sign_in")


@dataclass(frozen=True)
class LinkGrant:
    """What a single-use password link allows, once, for this account.

    ``purpose``: ``reset`` (forgot, identity already proven: set a new password), ``change``
    (the current password, then a new one: the person's own change) or ``enrol_sign_in`` (the
    current password only: marks the SMS conversation that asked for the link as signed in).
    A grant stored before ``purpose`` existed reads as ``reset``, which is what it was. ``dn``
    is empty for a login the directory does not know: the page then behaves exactly as for a
    wrong password, so the link tells nothing (DESIGN.md 5.2).

    Carries no secret; the token itself is only ever kept as a keyed digest.
    """

    domain: str
    dn: str
    login: str
    channel: str
    sender: str
    language: str = "en"
    expires_at: float = 0.0
    purpose: LinkPurpose = "reset"
    # What the page would otherwise search the directory for (issue 13): the account's
    # stable id (a write re-reads the entry and refuses another one at the DN) and the
    # words a new password must not contain. Absent in grants issued before them.
    uid: str = ""
    personal_words: tuple[str, ...] = ()


class PasswordLinks(Protocol):
    """Single-use secure web links to the password page (SMS never carries a password)."""

    def issue(self, grant: LinkGrant, ttl_seconds: int) -> str:
        """Store the grant; return the token to put in the URL."""
        ...

    def peek(self, token: str) -> LinkGrant | None:
        """The grant, if the token is live; does not use it up."""
        ...

    def consume(self, token: str) -> LinkGrant | None:
        """Atomically take the grant: a second call gets None."""
        ...

    def restore(self, token: str, grant: LinkGrant) -> None:
        """Put a consumed grant back (the directory refused the password: let them retry)."""
        ...


class SignIns(Protocol):
    """Conversations signed in on the password page (enrolment over SMS types no password).

    The page marks the SMS conversation that asked for an ``enrol_sign_in`` link once the
    person's password bound there; the enrol flow takes the mark when the person replies.
    Holds the account's DN only (no secret); a mark lives as long as a link and is taken once.
    """

    def mark(self, conversation: str, dn: str, ttl_seconds: int) -> None:
        ...

    def take(self, conversation: str) -> str | None:
        """Atomically remove and return the DN marked for ``conversation``, if any."""
        ...


class Relays(Protocol):
    """Live relay between a person and a help desk agent: the bot steps aside meanwhile."""

    def active(self, conversation: str) -> str | None:
        """The ticket whose agent holds this conversation, or None."""
        ...

    def start(self, ticket: str, conversation: str, ttl_seconds: int) -> None:
        ...

    def stop(self, ticket: str, conversation: str) -> None:
        ...

    def record(self, ticket: str, who: str, text: str) -> None:
        """Append one message (``who`` is "person" or the agent's username)."""
        ...

    def messages(self, ticket: str) -> list[dict[str, str | float]]:
        ...


@dataclass(frozen=True)
class TicketState:
    """The help desk's working state of one escalation (no secret: codes only as digests)."""

    status: str = "open"  # open, claimed, resolved
    agent: str = ""
    username: str = ""
    verified: bool = False
    code_digest: str = ""
    code_expires: float = 0.0
    code_tries: int = 0
    notes: tuple[tuple[str, str, float], ...] = ()  # (agent, text, at)


class Tickets(Protocol):
    def get(self, ticket: str) -> TicketState:
        ...

    def put(self, ticket: str, state: TicketState) -> None:
        ...

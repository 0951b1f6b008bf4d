"""The engine's ports besides the directory and captchas: small ``typing.Protocol``s.

Real implementations live outside ``dialogs/`` (``bot.redis_stores``, ``bot.audit_log``);
in-memory ones for fast tests live in ``dialogs.memory``. Values crossing these ports are
JSON primitives only, and never a secret in clear (DESIGN.md section 5.11).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal, Protocol


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


class SessionStore(Protocol):
    """One JSON record per conversation, with one TTL; a per-conversation lock.

    ``load`` returns the record, or ``Lookup.EXPIRED`` when a record existed recently but its
    TTL ran out (so the person gets a friendly restart), or ``Lookup.NEW``.
    """

    def lock(self, key: str) -> AbstractContextManager[None]:
        """Hold while handling one event, so concurrent events never interleave."""
        ...

    def load(self, key: str) -> dict[str, Any] | Lookup:
        ...

    def save(self, key: str, record: dict[str, Any], ttl_seconds: int) -> None:
        ...

    def delete(self, key: str) -> None:
        ...

    def first_delivery(self, event_id: str, ttl_seconds: int) -> bool:
        """True the first time ``event_id`` is seen; False for a retried delivery."""
        ...


class Counters(Protocol):
    """Shared counters and blocks (every channel and worker sees the same ones)."""

    def count(self, key: str) -> int:
        ...

    def increment(self, key: str, window_seconds: int) -> int:
        """Add one; the window starts at the first increment. Returns the new count."""
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

"""Is a new password in a breached-password corpus? (issue 15, "Breached passwords").

The corpus is asked through the k-anonymity range protocol: only the first five hexadecimal
digits of the password's SHA-1 leave the server; the corpus answers with every suffix it
holds under that prefix, and the match is made here. The range source is a port, so the
engine stays pure and a hospital can point the adapter at its own mirror.

Whether an unanswered question lets the password through (fail open) or refuses it for now
(fail closed) is the operator's choice; either way the person hears why in plain words.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from dialogs.messages import Message

log = logging.getLogger(__name__)

PREFIX_LENGTH = 5

MESSAGES: dict[str, frozenset[str]] = {
    "password.breached": frozenset(),
    "password.breach_check_unavailable": frozenset(),
}
MESSAGE_IDS: frozenset[str] = frozenset(MESSAGES)


class BreachCheckUnavailable(Exception):
    """The range source did not answer in time, or answered something unreadable."""


class BreachRange(Protocol):
    def suffixes(self, prefix: str) -> Mapping[str, int]:
        """Every 35-digit upper-case SHA-1 suffix under ``prefix``, with its count.

        Raises :class:`BreachCheckUnavailable` when the corpus cannot be asked.
        """


@dataclass(frozen=True)
class BreachPolicy:
    fail_closed: bool = False
    min_count: int = 1  # a suffix seen fewer times is not held against the password


def split_digest(password: str) -> tuple[str, str]:
    """The prefix sent and the suffix kept, of the password's upper-case SHA-1."""
    # SHA-1 is what the range protocol is defined on; it protects nothing here by itself.
    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    return digest[:PREFIX_LENGTH], digest[PREFIX_LENGTH:]


class BreachedPasswords:
    """The one question the flows ask: what is wrong with this password, if anything?"""

    def __init__(self, source: BreachRange, policy: BreachPolicy | None = None) -> None:
        self.source = source
        self.policy = policy or BreachPolicy()

    def problem(self, password: str) -> Message | None:
        prefix, suffix = split_digest(password)
        try:
            seen = self.source.suffixes(prefix).get(suffix, 0)
        except BreachCheckUnavailable as exc:
            log.warning("breached-password check unavailable: %s", exc,
                        extra={"fail_closed": self.policy.fail_closed})
            return Message.of("password.breach_check_unavailable") \
                if self.policy.fail_closed else None
        if seen >= self.policy.min_count:
            return Message.of("password.breached")
        return None

"""Protected groups, nesting included: who self-service and the help desk must never touch.

The attack (issue 10, property 8): on OpenLDAP a member of a group *inside* a protected group
was reset, because ``(member=<dn>)`` on the protected group itself only sees direct members.
Active Directory follows nesting in the server (LDAP_MATCHING_RULE_IN_CHAIN); OpenLDAP does not,
and the ``memberOf`` overlay cannot be assumed on a directory someone else set up. So:

- **Expand**: from the configured groups, read every ``member`` / ``uniqueMember`` value
  breadth-first; a value that is itself a group (``groupOfNames``, ``groupOfUniqueNames``,
  ``group``, or any entry carrying members) is followed. Cycles are cut by a seen-set; depth,
  groups and reads are bounded. The expanded *list of groups* is cached per domain for a short
  time, so the walk costs a few reads a minute, not a few per lookup.
- **Look up** (issue 13: the per-group searches were most of a reset's LDAP operations): the
  walk reads every member entry anyway, so it keeps the DN *the server* gives each member
  entry, and a lookup compares the account's DN, also as the server gives it, with that set:
  no directory operation per lookup, and no client-side parsing of how a member value was
  escaped or spaced. The price: a membership added or removed shows within the cache time
  (``CACHE_SECONDS``), as a group newly nested already did. Where the server follows nesting
  itself (AD's IN_CHAIN, ``nested=False``), the server is still asked on each lookup.
- **Fail closed**: a configured group that cannot be read, or a walk cut by a bound, makes
  every account protected (self-service refuses after the proof, so nothing is enumerated;
  ``sspm check`` names the group). A typo in the configuration must never unprotect the admins.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ldap3 import BASE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.dn import parse_dn

from directory.pool import ConnectionPool

log = logging.getLogger(__name__)

MAX_DEPTH = 8  # levels of nesting below a configured group
MAX_GROUPS = 256  # groups in the expanded set
MAX_READS = 5000  # entries read in one walk (members that turn out to be people included)
CACHE_SECONDS = 60.0

MEMBER_ATTRIBUTES = ("member", "uniqueMember")
# An entry is followed as a group if it is one by class or simply carries members.
GROUP_CLASSES = frozenset({"groupofnames", "groupofuniquenames", "group"})
_OPTIONAL_UID = re.compile(r"#'[01]*'B$")  # nameAndOptionalUID: "<dn>#'0101'B"


@dataclass(frozen=True)
class Expansion:
    """The groups whose members are protected, and whether that list can be trusted."""

    groups: tuple[str, ...]
    missing: tuple[str, ...] = ()  # configured groups that could not be read
    cut: str = ""  # the bound that stopped the walk, if one did
    # Every entry under the groups, nested ones included, as normalised server DNs (the
    # walk's; empty where the server is asked instead).
    members: frozenset[str] = frozenset()

    @property
    def trustworthy(self) -> bool:
        return not self.missing and not self.cut


class ProtectedGroups:
    """One domain's protected groups; thread-safe, share one per directory."""

    def __init__(self, groups: Sequence[str], pool: ConnectionPool,
                 member_filter: Callable[[str], str], *, nested: bool = True,
                 cache_seconds: float = CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``member_filter(dn)`` matches a group having ``dn`` as a member; ``nested=False``
        for a server whose filter already follows nesting (AD's IN_CHAIN)."""
        self._configured = tuple(groups)
        self._pool = pool
        self._member_filter = member_filter
        self._nested = nested
        self._cache_seconds = cache_seconds
        self.clock = clock  # public so a test can move time past the cache
        self._lock = threading.Lock()
        self._cached: Expansion | None = None
        self._expires = 0.0

    def contains(self, dn: str) -> bool:
        """Is ``dn`` protected: a member of a protected group, directly or through nesting?"""
        if not self._configured:
            return False
        expansion = self.current()
        if not expansion.trustworthy:
            return True  # fail closed; logged once per expansion
        if self._nested:
            return normalised_dn(dn) in expansion.members
        member_filter = self._member_filter(dn)
        return self._pool.run("check protected groups", lambda c: any(
            group_matches(c, group, member_filter) for group in expansion.groups))

    def current(self) -> Expansion:
        """The cached expansion, walked again once it is older than the cache time."""
        with self._lock:
            now = self.clock()
            if self._cached is None or now >= self._expires:
                self._cached = self.expand()
                self._expires = now + self._cache_seconds
            return self._cached

    def expand(self) -> Expansion:
        """Walk the configured groups now (``sspm check`` uses this uncached)."""
        if not self._configured:
            return Expansion(())
        expansion = self._pool.run("expand protected groups", self._walk)
        if expansion.missing:
            log.error("protected group unreadable: every account is treated as protected",
                      extra={"groups": list(expansion.missing)})
        if expansion.cut:
            log.error("protected groups too large to expand: every account is treated as "
                      "protected", extra={"bound": expansion.cut})
        return expansion

    def _walk(self, connection: Connection) -> Expansion:
        if not self._nested:
            missing = tuple(g for g in self._configured
                            if _entry(connection, g) is None)
            return Expansion(self._configured, missing)
        return _Walk(connection, self._configured).run()


class _Walk:
    """One breadth-first expansion over one connection, bounded and cycle-safe."""

    def __init__(self, connection: Connection, configured: tuple[str, ...]) -> None:
        self.connection = connection
        self.configured = configured
        self.groups: dict[str, str] = {}  # normalised DN -> DN as the directory wrote it
        self.members: set[str] = set()  # normalised server DNs of every entry under them
        self.read: set[str] = set()  # every DN read, groups or not: each is read once
        self.missing: list[str] = []

    def run(self) -> Expansion:
        frontier = list(self.configured)
        for depth in range(MAX_DEPTH + 2):
            next_frontier: list[str] = []
            for dn in frontier:
                key = normalised_dn(dn)
                if key in self.read:
                    continue
                if len(self.read) >= MAX_READS:
                    return self._result(cut=f"more than {MAX_READS} entries")
                self.read.add(key)
                entry = _entry(self.connection, dn)
                if entry is None:
                    if depth == 0:
                        self.missing.append(dn)
                    continue  # an entry gone since it was listed
                server_dn, members = entry
                if depth > 0:
                    self.members.add(normalised_dn(server_dn))
                if members is None:
                    if depth == 0:
                        self.missing.append(dn)  # configured, but not a group
                    continue  # a person
                if depth > MAX_DEPTH:
                    return self._result(cut=f"nesting deeper than {MAX_DEPTH}")
                if len(self.groups) >= MAX_GROUPS:
                    return self._result(cut=f"more than {MAX_GROUPS} groups")
                self.groups[key] = dn
                next_frontier += [m for m in members if normalised_dn(m) not in self.read]
            frontier = next_frontier
            if not frontier:
                break
        return self._result()

    def _result(self, cut: str = "") -> Expansion:
        return Expansion(tuple(self.groups.values()), tuple(self.missing), cut,
                         frozenset(self.members))


def _entry(connection: Connection, dn: str) -> tuple[str, list[str] | None] | None:
    """The entry's DN as the server gives it, and its member DNs if it is a group (by class,
    or because it carries members); None if there is no such entry."""
    try:
        connection.search(dn, "(objectClass=*)", search_scope=BASE,
                          attributes=[*MEMBER_ATTRIBUTES, "objectClass"])
    except (ldap_exc.LDAPNoSuchObjectResult, ldap_exc.LDAPInvalidDNSyntaxResult):
        return None
    for entry in connection.response or []:
        if entry.get("type") == "searchResEntry":
            attributes = entry.get("attributes", {})
            values = [v for name in MEMBER_ATTRIBUTES for v in attributes.get(name) or []]
            classes = {str(c).lower() for c in attributes.get("objectClass") or []}
            group = bool(values) or bool(classes & GROUP_CLASSES)
            members = [_OPTIONAL_UID.sub("", str(v)) for v in values] if group else None
            return str(entry.get("dn", dn)), members
    return None


def group_matches(connection: Connection, group: str, member_filter: str) -> bool:
    """Does the group entry ``group`` match ``member_filter`` (a membership test)?"""
    try:
        connection.search(group, member_filter, search_scope=BASE, attributes=["1.1"])
    except ldap_exc.LDAPNoSuchObjectResult:
        return False  # a group deleted meanwhile has no members
    return any(e.get("type") == "searchResEntry" for e in connection.response or [])


def normalised_dn(dn: str) -> str:
    """A comparison key for cycle detection only; membership itself is the server's match."""
    try:
        parts = parse_dn(dn, strip=True)
    except ldap_exc.LDAPInvalidDnError:  # an unparsable value is compared as typed
        return dn.strip().lower()
    return "".join(f"{attr.lower()}={value.lower()}{separator}"
                   for attr, value, separator in parts)

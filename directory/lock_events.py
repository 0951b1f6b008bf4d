"""Accounts that became locked since a time, found without a full scan (issue 15).

OpenLDAP ppolicy: a lock writes ``pwdAccountLockedTime`` through an internal modify, which
also moves the entry's ``modifyTimestamp`` (checked on slapd 2.5.13: the lock, the failure
times and ``modifyTimestamp`` carry the same second). The filter asks for locked entries
modified since the watermark; the lock time itself is returned so that an old lock on an
entry modified for another reason is told apart by the caller.

Active Directory: ``lockoutTime`` is the lock's own time (a FILETIME, 0 once unlocked), so
``lockoutTime>=…`` is the filter. It is not indexed (schema searchFlags 0), so alone it would
walk every person on the DC each pass; ``uSNChanged`` is, and a lock is a write that moves it
(on the DC where it happened and, replicated in, on the others). USNs are the DC's own: each
pass reads the DC's ``highestCommittedUSN`` on the connection it then searches with, and keeps
it per DC with the local time read. A later search for locks since ``since`` adds
``uSNChanged>=`` the newest mark taken no later than ``since``: whatever changed after that
moment has a higher USN on that DC. The marks live in this process only: a first pass, a
restart, a new DC or a caller whose watermark fell behind the marks kept gets the
``lockoutTime`` filter alone, as before.

Only the DN, the login and the lock time are read here; the caller reads each account through
``LdapDirectory.find_account``, so the product's one set of rules (protected, disabled,
administrator's lock) decides what the account is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, SUBTREE, Connection
from ldap3.utils.conv import escape_filter_chars

from directory.ldap_directory import LdapDirectory
from directory.openldap import ADMIN_LOCK, first, generalized_time, text

log = logging.getLogger(__name__)

PAGE_SIZE = 500
SIZE_LIMIT_EXCEEDED = 4
FILETIME_EPOCH_OFFSET = 11_644_473_600  # seconds from 1601-01-01 to 1970-01-01


@dataclass(frozen=True)
class Found:
    """One entry a search returned: who, and the time that matters (lock or expiry)."""

    dn: str
    login: str
    at: float  # seconds since the epoch; 0.0 for an administrator's permanent lock


def ldap_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y%m%d%H%M%SZ")


def filetime(epoch: float) -> int:
    return int((epoch + FILETIME_EPOCH_OFFSET) * 10_000_000)


def from_filetime(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        number = int(text(value))
    except ValueError:
        return None
    if number <= 0 or number >= 0x7FFFFFFFFFFFFFFF:  # 0: never; max: never expires
        return None
    return number / 10_000_000 - FILETIME_EPOCH_OFFSET


def paged(directory: LdapDirectory, operation: str, search_filter: str,
          attributes: list[str], base: str | None = None) -> list[dict[str, Any]]:
    """Every entry of a subtree search, in pages (a server's size limit is per page)."""
    def work(connection: Connection) -> list[dict[str, Any]]:
        return paged_on(connection, directory, operation, search_filter, attributes, base)

    return directory.pool.run(operation, work)


def paged_on(connection: Connection, directory: LdapDirectory, operation: str,
             search_filter: str, attributes: list[str],
             base: str | None = None) -> list[dict[str, Any]]:
    """``paged`` on a connection the caller already holds."""
    entries = connection.extend.standard.paged_search(
        base or directory.settings.search_base, search_filter, search_scope=SUBTREE,
        attributes=attributes, paged_size=PAGE_SIZE, generator=False)
    if (connection.result or {}).get("result") == SIZE_LIMIT_EXCEEDED:
        # ldap3 does not raise for this one: the answer is silently cut (slapd's default
        # is 500 entries, paged or not). Say so; what came back is still used.
        log.warning("directory size limit cut a notifier search: give the service "
                    "account unlimited size (slapd: limits dn.exact=... size=unlimited "
                    "size.pr=unlimited)", extra={"operation": operation})
    return [e for e in entries or [] if e.get("type") == "searchResEntry"]


def locked_since(directory: LdapDirectory, since: float) -> list[Found]:
    """Entries locked at or after ``since`` (seconds since the epoch), by the dialect's filter."""
    if directory.settings.dialect == "ad":
        return _ad_locked_since(directory, since)
    return _ppolicy_locked_since(directory, since)


def _ppolicy_locked_since(directory: LdapDirectory, since: float) -> list[Found]:
    settings = directory.settings
    login = settings.attributes.username
    object_class = escape_filter_chars(settings.user_object_class)
    search_filter = (f"(&(objectClass={object_class})(pwdAccountLockedTime=*)"
                     f"(modifyTimestamp>={ldap_time(since)}))")
    found = []
    for entry in paged(directory, "locked accounts", search_filter,
                       [login, "pwdAccountLockedTime"]):
        attributes = entry.get("attributes", {})
        raw = first(attributes, "pwdAccountLockedTime")
        when = generalized_time(raw)
        admin = text(raw) == ADMIN_LOCK or (when is not None and when.year <= 1)
        at = 0.0 if admin or when is None else when.timestamp()
        if at >= since or admin:
            found.append(Found(entry["dn"], text(first(attributes, login)), at))
    return found


USN_MARKS_KEPT = 64  # per DC: about an hour of passes at the default poll interval
_usn_marks: dict[tuple[str, str], list[tuple[float, int]]] = {}
_usn_lock = threading.Lock()


def _usn_floor(key: tuple[str, str], since: float) -> int | None:
    """The newest mark of this DC taken no later than ``since``, if one is kept."""
    with _usn_lock:
        usable = [usn for taken, usn in _usn_marks.get(key, []) if taken <= since]
    return max(usable) if usable else None


def _remember_usn(key: tuple[str, str], taken: float, usn: int) -> None:
    with _usn_lock:
        marks = _usn_marks.setdefault(key, [])
        marks.append((taken, usn))
        del marks[:-USN_MARKS_KEPT]


def _ad_locked_since(directory: LdapDirectory, since: float) -> list[Found]:
    login = directory.settings.attributes.username

    def work(connection: Connection) -> list[dict[str, Any]]:
        taken = time.time()  # before the read: a change after it has a higher USN
        connection.search("", "(objectClass=*)", search_scope=BASE,
                          attributes=["dsServiceName", "highestCommittedUSN"])
        root = (connection.response or [{}])[0].get("attributes", {})
        try:
            highest: int | None = int(text(first(root, "highestCommittedUSN")))
        except ValueError:
            highest = None
        key = (directory.settings.name, text(first(root, "dsServiceName")).lower())
        floor = _usn_floor(key, since) if highest is not None else None
        changed = f"(uSNChanged>={floor})" if floor is not None else ""
        search_filter = (f"(&(objectCategory=person)(objectClass=user)"
                         f"(lockoutTime>={filetime(since)}){changed})")
        entries = paged_on(connection, directory, "locked accounts", search_filter,
                           [login, "lockoutTime"])
        if highest is not None:
            _remember_usn(key, taken, highest)
        return entries

    found = []
    for entry in directory.pool.run("locked accounts", work):
        attributes = entry.get("attributes", {})
        at = from_filetime(first(attributes, "lockoutTime"))
        if at is not None:
            found.append(Found(entry["dn"], text(first(attributes, login)), at))
    return found

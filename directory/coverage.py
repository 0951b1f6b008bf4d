"""Enrolment coverage of one domain: who could use self-service, who has enrolled (issue 16).

Two paged searches under the users' base, whatever the number of people: everyone the login
filter matches (their login and display name), then those of them holding an enrolment
record (DNs only: the record's answer hashes are never read for a report). Pages of
``PAGE_SIZE`` keep each server reply small on a directory of a million entries.
"""

from __future__ import annotations

from typing import Any

from ldap3 import Connection
from ldap3.utils.conv import escape_filter_chars

from dialogs.reports import Coverage, Person
from directory.ldap_directory import LdapDirectory

PAGE_SIZE = 500


def _first(value: Any) -> str:
    if isinstance(value, list | tuple):
        return str(value[0]) if value else ""
    return "" if value is None else str(value)


# sizeLimitExceeded, timeLimitExceeded, adminLimitExceeded: the server stopped early. ldap3
# ends a paged search quietly on them, so the result code is read after the last page.
CUT_SHORT = {3, 4, 11}


def _paged(connection: Connection, base: str, search_filter: str,
           attributes: list[str]) -> tuple[list[dict[str, Any]], bool]:
    entries = connection.extend.standard.paged_search(
        base, search_filter, attributes=attributes, paged_size=PAGE_SIZE, generator=True)
    found = [entry for entry in entries if entry.get("type") == "searchResEntry"]
    result = (connection.result or {}).get("result", 0)
    return found, result not in CUT_SHORT


def coverage(directory: LdapDirectory, ous: tuple[str, ...] = ()) -> Coverage:
    settings = directory.settings
    names = settings.attributes
    people_filter = directory.dialect.user_filter("*")  # a presence filter: every person
    enrolled_filter = f"(&{people_filter}({escape_filter_chars(names.enrolment)}=*))"
    base = settings.search_base

    def read(connection: Connection) -> tuple[list[dict[str, Any]], set[str], bool]:
        people, all_people = _paged(connection, base, people_filter,
                                    [names.username, names.display_name])
        enrolled, all_enrolled = _paged(connection, base, enrolled_filter, ["1.1"])
        return people, {str(entry["dn"]).lower() for entry in enrolled}, \
            all_people and all_enrolled

    people, enrolled, complete = directory.pool.run("enrolment coverage", read)
    everyone = [Person(str(e["dn"]), _first(e["attributes"].get(names.username)),
                       _first(e["attributes"].get(names.display_name))) for e in people]
    missing = sorted((p for p in everyone if p.dn.lower() not in enrolled),
                     key=lambda p: (p.login.casefold(), p.dn))
    counted = sum(1 for p in everyone if p.dn.lower() in enrolled)
    return Coverage(settings.name, len(everyone), counted, tuple(missing),
                    tuple(_by_ou(ou, everyone, enrolled) for ou in ous), complete)


def _by_ou(ou: str, everyone: list[Person], enrolled: set[str]) -> tuple[str, int, int]:
    suffix = "," + ou.lower()
    inside = [p for p in everyone if p.dn.lower().endswith(suffix)]
    return ou, len(inside), sum(1 for p in inside if p.dn.lower() in enrolled)


PROBE_PAGES = 10  # sspm check pages through at most this many pages (5,000 people)


def paged_limit(directory: LdapDirectory) -> int | None:
    """How many people a paged search returned before the directory cut it short, or None
    when it was not cut short within ``PROBE_PAGES`` pages (``sspm check``)."""
    settings = directory.settings
    people_filter = directory.dialect.user_filter("*")

    def probe(connection: Connection) -> int | None:
        cookie: bytes | None = None
        seen = 0
        for _ in range(PROBE_PAGES):
            connection.search(settings.search_base, people_filter, attributes=["1.1"],
                              paged_size=PAGE_SIZE, paged_cookie=cookie)
            seen += sum(1 for e in connection.response or []
                        if e.get("type") == "searchResEntry")
            result = connection.result or {}
            if result.get("result", 0) in CUT_SHORT:
                return seen
            control = (result.get("controls") or {}).get("1.2.840.113556.1.4.319", {})
            cookie = control.get("value", {}).get("cookie")
            if not cookie:
                return None
        if cookie:
            # Abandon the rest politely: a last page of size 0 with the cookie ends it.
            connection.search(settings.search_base, people_filter, attributes=["1.1"],
                              paged_size=0, paged_cookie=cookie)
        return None

    return directory.pool.run("check paged search limit", probe)

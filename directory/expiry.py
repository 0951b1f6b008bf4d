"""Passwords that expire within a horizon, by the directory's own policy (issue 15).

OpenLDAP ppolicy: a password expires ``pwdMaxAge`` seconds after ``pwdChangedTime``, under
the account's ``pwdPolicySubentry`` or else the default policy. Each policy with a maximum age
gets one range filter on ``pwdChangedTime`` (changed after now - maxAge, so not expired yet,
and before now + horizon - maxAge): the server returns only the accounts in the window.

Active Directory: the domain's ``maxPwdAge`` bounds a ``pwdLastSet`` range the same way
(``msDS-UserPasswordExpiryTimeComputed`` is constructed and cannot be filtered on); the exact
time is then that computed attribute. Accounts under a fine-grained password policy (PSO) have
their own maximum age, so the domain window misses them when it is shorter; and the PSOs
themselves are readable by Domain Admins only (checked on Samba 4.17). What an ordinary reader
sees is the ``msDS-PSOApplied`` back-link on the users and global groups a PSO applies to:
those users (directly, or through nested membership of such a group) are read as well, without
a window, and the computed attribute decides. Accounts whose password never expires are left
out.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ldap3 import BASE, Connection
from ldap3.utils.conv import escape_filter_chars

from directory.active_directory import IN_CHAIN
from directory.ldap_directory import LdapDirectory
from directory.lock_events import Found, filetime, from_filetime, ldap_time, paged
from directory.openldap import first, generalized_time, text

DONT_EXPIRE_PASSWORD = 0x10000


def expiring_within(directory: LdapDirectory, now: float, horizon: float) -> list[Found]:
    """Accounts whose password expires after ``now`` and within ``horizon`` seconds."""
    if directory.settings.dialect == "ad":
        return _ad_expiring(directory, now, horizon)
    return _ppolicy_expiring(directory, now, horizon)


def policies(directory: LdapDirectory) -> dict[str, int]:
    """Every pwdPolicy entry under the base with a maximum age: DN -> pwdMaxAge seconds."""
    entries = paged(directory, "password policies", "(objectClass=pwdPolicy)", ["pwdMaxAge"],
                    base=directory.settings.base_dn)
    ages = {e["dn"]: int(text(first(e.get("attributes", {}), "pwdMaxAge")) or 0)
            for e in entries}
    return {dn: age for dn, age in ages.items() if age > 0}


def _default_policy_dn(directory: LdapDirectory) -> str:
    settings = directory.settings
    return settings.password_policy_dn or f"cn=default,ou=policies,{settings.base_dn}"


def _ppolicy_expiring(directory: LdapDirectory, now: float, horizon: float) -> list[Found]:
    login = directory.settings.attributes.username
    object_class = escape_filter_chars(directory.settings.user_object_class)
    default = _default_policy_dn(directory).lower()
    found = []
    for dn, max_age in policies(directory).items():
        clause = f"(pwdPolicySubentry={escape_filter_chars(dn)})"
        if dn.lower() == default:
            clause = f"(|{clause}(!(pwdPolicySubentry=*)))"
        search_filter = (f"(&(objectClass={object_class}){clause}"
                         f"(pwdChangedTime>={ldap_time(now - max_age + 1)})"
                         f"(pwdChangedTime<={ldap_time(now + horizon - max_age)}))")
        for entry in paged(directory, "expiring passwords", search_filter,
                           [login, "pwdChangedTime"]):
            attributes = entry.get("attributes", {})
            changed = generalized_time(first(attributes, "pwdChangedTime"))
            if changed is not None:
                found.append(Found(entry["dn"], text(first(attributes, login)),
                                   changed.timestamp() + max_age))
    return found


def _domain_max_age(directory: LdapDirectory) -> float:
    def work(connection: Connection) -> Any:
        connection.search(directory.settings.base_dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["maxPwdAge"])
        return first((connection.response or [{}])[0].get("attributes", {}), "maxPwdAge")

    value = directory.pool.run("domain password policy", work)
    if isinstance(value, timedelta):
        return abs(value.total_seconds())
    try:
        return abs(int(text(value))) / 10_000_000  # a negative count of 100 ns intervals
    except ValueError:
        return 0.0


def _ad_expiring(directory: LdapDirectory, now: float, horizon: float) -> list[Found]:
    max_age = _domain_max_age(directory)
    person = ("(objectCategory=person)(objectClass=user)"
              f"(!(userAccountControl:1.2.840.113556.1.4.803:={DONT_EXPIRE_PASSWORD}))")
    # Each search with the age its pwdLastSet falls back on when the computed time is absent.
    searches: list[tuple[str, float]] = []
    if 0 < max_age <= 100 * 365 * 86_400:  # "never expires" comes back huge
        searches.append((f"(&{person}(pwdLastSet>={filetime(now - max_age)})"
                         f"(pwdLastSet<={filetime(now + horizon - max_age)}))", max_age))
    # pwdLastSet=0 is a must-change, not an expiry: left out here as the window leaves it out.
    searches.append((f"(&{person}(pwdLastSet>=1){_pso_governed_filter(directory)})", 0.0))
    login = directory.settings.attributes.username
    found: dict[str, Found] = {}
    for search_filter, fallback_age in searches:
        for entry in paged(directory, "expiring passwords", search_filter,
                           [login, "pwdLastSet", "msDS-UserPasswordExpiryTimeComputed"]):
            attributes = entry.get("attributes", {})
            at = from_filetime(first(attributes, "msDS-UserPasswordExpiryTimeComputed"))
            if at is None and fallback_age:
                last_set = from_filetime(first(attributes, "pwdLastSet"))
                at = last_set + fallback_age if last_set is not None else None
            if at is not None and now < at <= now + horizon:
                found.setdefault(str(entry["dn"]).lower(),
                                 Found(entry["dn"], text(first(attributes, login)), at))
    return list(found.values())


def _pso_governed_filter(directory: LdapDirectory) -> str:
    """A filter clause for the users a fine-grained password policy applies to: directly, or
    through (nested) membership of a group it applies to."""
    groups = paged(directory, "password policy groups",
                   "(&(objectClass=group)(msDS-PSOApplied=*))", ["1.1"],
                   base=directory.settings.base_dn)
    clauses = ["(msDS-PSOApplied=*)"] + [
        f"(memberOf:{IN_CHAIN}:={escape_filter_chars(str(g['dn']))})" for g in groups]
    return f"(|{''.join(clauses)})"

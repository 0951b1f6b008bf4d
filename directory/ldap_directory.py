"""``LdapDirectory``: the ``Directory`` port over ldap3, for one authentication domain.

Every value from a person reaches LDAP only through ``escape_filter_chars`` in a filter;
nothing a person types becomes a DN (DESIGN.md section 5.4). Protected accounts are refused
here, whatever the service account's rights (section 5.9).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ldap3 import BASE, MODIFY_ADD, MODIFY_REPLACE, SUBTREE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from config.settings import DomainSettings
from dialogs.directory_port import (
    Account,
    AccountLocked,
    AccountProtected,
    AdministratorLock,
    BindOutcome,
    InvalidCredentials,
    PasswordExpired,
)
from dialogs.temporary_password import generate_temporary_password
from directory.errors import translated
from directory.openldap import OpenLdapDialect, PolicyTimes, first
from directory.pool import ConnectionPool
from directory.ppolicy import PPOLICY_REQUEST, policy_from_result

MAX_LOGIN_LENGTH = 256


class LdapDirectory:
    """One domain's directory. Thread-safe: share one instance per domain."""

    def __init__(self, settings: DomainSettings, *, pool: ConnectionPool | None = None,
                 dialect: OpenLdapDialect | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.pool = pool or ConnectionPool(settings)
        self.dialect = dialect or OpenLdapDialect()
        self._clock = clock
        self._policies: dict[str, PolicyTimes] = {}
        self._policy_lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def find_account(self, login: str) -> Account | None:
        login = login.strip()
        if not login or len(login) > MAX_LOGIN_LENGTH or "\x00" in login:
            return None
        attrs = self.settings.attributes
        value = escape_filter_chars(login)
        user_filter = (f"(&(objectClass={escape_filter_chars(self.settings.user_object_class)})"
                       f"(|({attrs.username}={value})({attrs.employee_number}={value})))")
        entries = self.pool.run("find account", lambda c: self._search(c, user_filter))
        if len(entries) != 1:
            return None  # none, or ambiguous: never guess which person this is
        return self._account(entries[0])

    def refresh(self, account: Account) -> Account:
        entries = self.pool.run("refresh account", lambda c: self._search(
            c, f"(objectClass={escape_filter_chars(self.settings.user_object_class)})",
            base=account.dn, scope=BASE))
        if not entries:
            raise InvalidCredentials("account vanished")
        return self._account(entries[0])

    def _attribute_list(self) -> list[str]:
        a = self.settings.attributes
        names = [a.username, a.employee_number, a.mobile, a.mail, a.display_name, a.given_name,
                 a.surname, a.enrolment, "objectClass", *self.dialect.state_attributes]
        return list(dict.fromkeys(names))

    def _search(self, connection: Connection, search_filter: str, base: str | None = None,
                scope: str = SUBTREE) -> list[dict[str, Any]]:
        connection.search(base or self.settings.search_base, search_filter, search_scope=scope,
                          attributes=self._attribute_list(), size_limit=2)
        return [e for e in connection.response or [] if e.get("type") == "searchResEntry"]

    def _account(self, entry: dict[str, Any]) -> Account:
        attributes: dict[str, Any] = dict(entry["attributes"])
        a = self.settings.attributes
        policy = self._policy_for(attributes)
        now = self._clock()
        lock = self.dialect.lock_state(attributes, policy, now)
        return Account(
            dn=entry["dn"], username=_text(first(attributes, a.username)),
            domain=self.settings.name,
            employee_number=_text(first(attributes, a.employee_number)),
            mobile=_text(first(attributes, a.mobile)), mail=_text(first(attributes, a.mail)),
            display_name=_text(first(attributes, a.display_name)),
            given_name=_text(first(attributes, a.given_name)),
            surname=_text(first(attributes, a.surname)),
            enrolment=_text(first(attributes, a.enrolment)) or None,
            lock=lock, must_change=self.dialect.must_change(attributes),
            expired=self.dialect.expired(attributes, policy, now),
            disabled=self.dialect.disabled(attributes),
            protected=lock == "admin_locked" or self.dialect.privileged(attributes)
            or self._in_protected_set(entry["dn"]))

    def _policy_for(self, attributes: dict[str, Any]) -> PolicyTimes:
        dn = _text(first(attributes, "pwdPolicySubentry")) or self._default_policy_dn()
        if not dn:
            return PolicyTimes()
        with self._policy_lock:
            cached = self._policies.get(dn)
        if cached is not None:
            return cached
        policy = self.pool.run("read password policy", lambda c: _read_policy(c, dn))
        with self._policy_lock:
            self._policies[dn] = policy
        return policy

    def _default_policy_dn(self) -> str:
        return f"cn=default,ou=policies,{self.settings.base_dn}"

    def _in_protected_set(self, dn: str) -> bool:
        if any(dn.lower() == p.lower() for p in self.settings.protected_dns):
            return True
        groups = self.settings.protected_groups
        if not groups:
            return False
        member_filter = f"(member={escape_filter_chars(dn)})"

        def check(connection: Connection) -> bool:
            for group in groups:
                try:
                    connection.search(group, member_filter, search_scope=BASE, attributes=["1.1"])
                except ldap_exc.LDAPNoSuchObjectResult:
                    continue
                if any(e.get("type") == "searchResEntry" for e in connection.response or []):
                    return True
            return False

        return self.pool.run("check protected groups", check)

    # -- binding as the person ---------------------------------------------------------------

    def verify_password(self, account: Account, password: str) -> BindOutcome:
        if not password:
            raise InvalidCredentials("empty password")  # an empty password is an anonymous bind
        connection = self.pool.new_connection(account.dn, password)
        with translated("user bind", lambda: connection.result):
            try:
                connection.bind(controls=[PPOLICY_REQUEST])
            except ldap_exc.LDAPInvalidCredentialsResult as exc:
                raise _bind_refusal(connection.result) from exc
            finally:
                _quiet_unbind(connection)
        response = policy_from_result(connection.result)
        return BindOutcome.MUST_CHANGE if response.error == 2 else BindOutcome.OK

    # -- changing ----------------------------------------------------------------------------

    def unlock(self, account: Account) -> None:
        current = self.refresh(account)
        self._refuse_protected(current)
        if current.lock != "locked":
            return  # nothing to clear: deleting an absent attribute would fail the modify
        self.pool.run("unlock", lambda c: c.modify(current.dn, self.dialect.unlock_changes()))

    def reset_password(self, account: Account, new_password: str, *, must_change: bool) -> None:
        current = self.refresh(account)
        self._refuse_protected(current)
        changes = self.dialect.reset_changes(new_password, must_change=must_change,
                                             currently_must_change=current.must_change)
        self.pool.run("reset password",
                      lambda c: c.modify(current.dn, changes, controls=[PPOLICY_REQUEST]))

    def set_temporary_password(self, account: Account) -> str:
        password = generate_temporary_password()
        self.reset_password(account, password, must_change=True)
        return password

    def change_password(self, account: Account, old_password: str, new_password: str) -> None:
        """Bound as the person, so the directory applies its policy as to any user."""
        if not old_password:
            raise InvalidCredentials("empty password")
        connection = self.pool.new_connection(account.dn, old_password)
        with translated("own password change", lambda: connection.result):
            try:
                connection.bind(controls=[PPOLICY_REQUEST])
            except ldap_exc.LDAPInvalidCredentialsResult as exc:
                raise _bind_refusal(connection.result) from exc
            try:
                connection.extend.standard.modify_password(
                    user=account.dn, old_password=old_password, new_password=new_password,
                    controls=[PPOLICY_REQUEST])
            finally:
                _quiet_unbind(connection)

    def write_enrolment(self, account: Account, record: str | None) -> None:
        attribute = self.settings.attributes.enrolment
        changes: dict[str, list[tuple[str, list[str]]]] = {
            attribute: [(MODIFY_REPLACE, [record] if record is not None else [])]}
        object_class = "sspmEnrolled"
        self.pool.run("write enrolment", lambda c: self._write_enrolment(
            c, account.dn, changes, object_class))

    def _write_enrolment(self, connection: Connection, dn: str,
                         changes: dict[str, list[tuple[str, list[str]]]],
                         object_class: str) -> bool:
        connection.search(dn, "(objectClass=*)", search_scope=BASE, attributes=["objectClass"])
        classes = {str(c).lower() for e in connection.response or []
                   for c in e.get("attributes", {}).get("objectClass", [])}
        if self.dialect.name == "openldap" and object_class.lower() not in classes:
            changes = {**changes, "objectClass": [(MODIFY_ADD, [object_class])]}
        return bool(connection.modify(dn, changes))

    def ping(self) -> None:
        self.pool.run("ping", lambda c: c.search(self.settings.base_dn, "(objectClass=*)",
                                                  search_scope=BASE, attributes=["1.1"]))

    def close(self) -> None:
        self.pool.close()

    @staticmethod
    def _refuse_protected(account: Account) -> None:
        if account.lock == "admin_locked":
            raise AdministratorLock(account.username)
        if account.protected:
            raise AccountProtected(account.username)


def _read_policy(connection: Connection, dn: str) -> PolicyTimes:
    try:
        connection.search(dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["pwdLockoutDuration", "pwdMaxAge"])
    except ldap_exc.LDAPNoSuchObjectResult:
        return PolicyTimes()
    for entry in connection.response or []:
        attributes = entry.get("attributes", {})
        return PolicyTimes(lockout_duration=int(first(attributes, "pwdLockoutDuration") or 0),
                           max_age=int(first(attributes, "pwdMaxAge") or 0))
    return PolicyTimes()


def _bind_refusal(result: dict[str, Any] | None) -> Exception:
    response = policy_from_result(result)
    if response.error == 1:
        return AccountLocked("account locked")
    if response.error == 0:
        return PasswordExpired("password expired")
    return InvalidCredentials("invalid credentials")


def _quiet_unbind(connection: Connection) -> None:
    # The outcome is already known; closing is best effort.
    with contextlib.suppress(Exception):
        connection.unbind()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)

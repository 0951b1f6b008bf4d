"""``LdapDirectory``: the ``Directory`` port over ldap3, for one authentication domain.

Every value from a person reaches LDAP only through ``escape_filter_chars`` in a filter;
nothing a person types becomes a DN (DESIGN.md section 5.4). Protected and disabled accounts
are refused here, whatever the service account's rights (section 5.9).

This module is dialect-neutral: how an account is found, how its lock and password state
are read, how a lock is cleared, a password reset or changed, and how a refusal is explained
belong to a ``Dialect`` (``directory.openldap`` for OpenLDAP ppolicy,
``directory.active_directory`` for AD), picked from ``DomainSettings.dialect``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ldap3 import BASE, MODIFY_ADD, MODIFY_REPLACE, SUBTREE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from config.settings import DomainSettings
from dialogs.directory_port import (
    Account,
    AccountDisabled,
    AccountProtected,
    AdministratorLock,
    BindOutcome,
    DirectoryError,
    EnrolmentTooLarge,
    InvalidCredentials,
    LockState,
)
from dialogs.temporary_password import generate_temporary_password
from directory.active_directory import ActiveDirectoryDialect
from directory.errors import translated
from directory.openldap import Changes, OpenLdapDialect, first, quiet_unbind, text
from directory.pool import ConnectionPool
from directory.protected_groups import ProtectedGroups, normalised_dn

MAX_LOGIN_LENGTH = 256


class Dialect(Protocol):
    """What differs between directory servers; everything else is ``LdapDirectory``'s."""

    name: str
    enrolment_object_class: str | None  # an auxiliary class the record needs, if any
    state_attributes: tuple[str, ...]
    bind_controls: tuple[Any, ...]
    write_controls: tuple[Any, ...]

    def user_filter(self, value: str) -> str:
        """The account filter for an already escaped login."""
        ...

    def group_member_filter(self, dn: str) -> str:
        """A filter matching a (protected) group that has ``dn`` as a member."""
        ...

    def lock_state(self, attributes: dict[str, Any], now: datetime) -> LockState: ...

    def must_change(self, attributes: dict[str, Any]) -> bool: ...

    def expired(self, attributes: dict[str, Any], now: datetime) -> bool: ...

    def disabled(self, attributes: dict[str, Any]) -> bool: ...

    def privileged(self, attributes: dict[str, Any]) -> bool: ...

    def stable_id(self, attributes: dict[str, Any]) -> str: ...

    def failed_binds(self, attributes: dict[str, Any]) -> int: ...

    def lockout_threshold(self, attributes: dict[str, Any]) -> int:
        """Wrong passwords that lock this account; 0 when it never locks."""
        ...

    def bind_outcome(self, result: dict[str, Any] | None, *, bound: bool) -> BindOutcome:
        """The outcome of a person's bind; raise the error of a refused one."""
        ...

    def unlock_changes(self) -> Changes: ...

    def reset_changes(self, new_password: str, *, must_change: bool, locked: bool) -> Changes:
        ...

    def password_refusal(self, exc: ldap_exc.LDAPOperationResult,
                         result: dict[str, Any] | None) -> DirectoryError:
        """The error for a constraint violation on a password write."""
        ...

    def change_password(self, dn: str, old_password: str, new_password: str) -> None:
        """The person's own change, so the directory applies its policy as to any user."""
        ...


def dialect_for(settings: DomainSettings, pool: ConnectionPool) -> Dialect:
    if settings.dialect == "ad":
        return ActiveDirectoryDialect(settings, pool)
    return OpenLdapDialect(settings, pool)


class LdapDirectory:
    """One domain's directory. Thread-safe: share one instance per domain."""

    _protected_groups: ProtectedGroups | None = None  # see _in_protected_set

    def __init__(self, settings: DomainSettings, *, pool: ConnectionPool | None = None,
                 dialect: Dialect | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.settings = settings
        self.pool = pool or ConnectionPool(settings)
        self.dialect = dialect or dialect_for(settings, self.pool)
        self._clock = clock

    # -- reading ---------------------------------------------------------------------------

    def find_account(self, login: str) -> Account | None:
        login = login.strip()
        if not login or len(login) > MAX_LOGIN_LENGTH or "\x00" in login:
            return None
        user_filter = self.dialect.user_filter(escape_filter_chars(login))
        entries = self.pool.run("find account", lambda c: self._search(c, user_filter))
        if len(entries) != 1:
            # None, or ambiguous: never guess which person this is. A miss asks the protected
            # groups as a hit does, so the round trips do not tell who exists (DESIGN.md 5.2).
            self._in_protected_set(f"cn=sspm-nobody,{self.settings.search_base}")
            return None
        return self._account(entries[0])

    def refresh(self, account: Account) -> Account:
        # From a writable server: a write follows, or a failure count written there is read
        # back (a replica may not have it yet; directory.pool explains).
        entries = self.pool.run("refresh account", lambda c: self._search(
            c, f"(objectClass={escape_filter_chars(self.settings.user_object_class)})",
            base=account.dn, scope=BASE), writer=True)
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
        try:
            connection.search(base or self.settings.search_base, search_filter,
                              search_scope=scope, attributes=self._attribute_list(),
                              size_limit=2)
        except ldap_exc.LDAPSizeLimitExceededResult:
            return [{"type": "searchResEntry"}] * 2  # more than one: ambiguous
        return [e for e in connection.response or [] if e.get("type") == "searchResEntry"]

    def _account(self, entry: dict[str, Any]) -> Account:
        attributes: dict[str, Any] = dict(entry["attributes"])
        a, d = self.settings.attributes, self.dialect
        now = self._clock()
        lock = d.lock_state(attributes, now)
        return Account(
            dn=entry["dn"], username=text(first(attributes, a.username)),
            domain=self.settings.name, uid=d.stable_id(attributes),
            employee_number=text(first(attributes, a.employee_number)),
            mobile=text(first(attributes, a.mobile)), mail=text(first(attributes, a.mail)),
            display_name=text(first(attributes, a.display_name)),
            given_name=text(first(attributes, a.given_name)),
            surname=text(first(attributes, a.surname)),
            enrolment=text(first(attributes, a.enrolment)) or None,
            lock=lock, must_change=d.must_change(attributes),
            expired=d.expired(attributes, now), disabled=d.disabled(attributes),
            protected=lock == "admin_locked" or d.privileged(attributes)
            or self._in_protected_set(entry["dn"]),
            failed_binds=d.failed_binds(attributes),
            lockout_threshold=d.lockout_threshold(attributes))

    def _in_protected_set(self, dn: str) -> bool:
        """Configured DNs, and members of the protected groups, nested ones included (on
        OpenLDAP the nesting is walked by ``ProtectedGroups``; AD's filter follows it)."""
        key = normalised_dn(dn)
        if any(key == normalised_dn(p) for p in self.settings.protected_dns):
            return True
        return self.protected_groups.contains(dn)

    @property
    def protected_groups(self) -> ProtectedGroups:
        """The protected groups' cached expansion; membership is up to ``CACHE_SECONDS`` old."""
        if self._protected_groups is None:  # created on first use; a race only builds two
            self._protected_groups = ProtectedGroups(
                self.settings.protected_groups, self.pool, self.dialect.group_member_filter,
                nested=self.dialect.name != "ad")
        return self._protected_groups

    # -- binding as the person ---------------------------------------------------------------

    def verify_password(self, account: Account, password: str) -> BindOutcome:
        if not password:
            raise InvalidCredentials("empty password")  # an empty password is an anonymous bind
        # On a writable server: ppolicy counts the failure where it replicates from.
        connection = self.pool.new_connection(account.dn, password)
        with translated("user bind", lambda: connection.result):
            try:
                self.pool.bind(connection, controls=list(self.dialect.bind_controls) or None)
            except ldap_exc.LDAPInvalidCredentialsResult as exc:
                try:
                    return self.dialect.bind_outcome(connection.result, bound=False)
                except DirectoryError as refusal:
                    raise refusal from exc
            finally:
                quiet_unbind(connection)
        return self.dialect.bind_outcome(connection.result, bound=True)

    # -- changing ----------------------------------------------------------------------------

    def unlock(self, account: Account) -> None:
        current = self.refresh(account)
        self._refuse_protected(current)
        if current.lock != "locked":
            return  # nothing to clear: deleting an absent attribute would fail the modify
        self.pool.run("unlock", lambda c: c.modify(current.dn, self.dialect.unlock_changes()),
                      writer=True)

    def reset_password(self, account: Account, new_password: str, *,
                       must_change: bool) -> Account:
        current = self.refresh(account)
        if account.uid and current.uid != account.uid:
            # Another entry now holds this DN (deleted and re-created): not the proven person.
            raise InvalidCredentials("account replaced")
        self._refuse_protected(current)
        changes = self.dialect.reset_changes(new_password, must_change=must_change,
                                             locked=current.lock == "locked")
        self._write_password("reset password", current.dn, changes)
        return current

    def _write_password(self, operation: str, dn: str, changes: Changes) -> None:
        def write(connection: Connection) -> bool:
            try:
                return bool(connection.modify(dn, changes,
                                              controls=list(self.dialect.write_controls) or None))
            except ldap_exc.LDAPConstraintViolationResult as exc:
                raise self.dialect.password_refusal(exc, connection.result) from exc

        self.pool.run(operation, write, writer=True)

    def set_temporary_password(self, account: Account) -> str:
        password = generate_temporary_password()
        self.reset_password(account, password, must_change=True)
        return password

    def change_password(self, account: Account, old_password: str, new_password: str) -> None:
        """The person's own change: the old password proves it, the directory's policy rules."""
        if not old_password:
            raise InvalidCredentials("empty password")
        if self.refresh(account).disabled:
            raise AccountDisabled(account.username)
        self.dialect.change_password(account.dn, old_password, new_password)

    def write_enrolment(self, account: Account, record: str | None) -> None:
        attribute = self.settings.attributes.enrolment
        changes: Changes = {
            attribute: [(MODIFY_REPLACE, [record] if record is not None else [])]}
        # An entry that holds a record already has the class the attribute needs (issue 13:
        # a search per proof for nothing).
        known = account.enrolment is not None
        self.pool.run("write enrolment",
                      lambda c: self._write_enrolment(c, account.dn, changes, known),
                      writer=True)

    def _write_enrolment(self, connection: Connection, dn: str, changes: Changes,
                         has_class: bool = False) -> bool:
        object_class = self.dialect.enrolment_object_class
        if object_class is not None and not has_class:
            connection.search(dn, "(objectClass=*)", search_scope=BASE,
                              attributes=["objectClass"])
            classes = {str(c).lower() for e in connection.response or []
                       for c in e.get("attributes", {}).get("objectClass", [])}
            if object_class.lower() not in classes:
                changes = {**changes, "objectClass": [(MODIFY_ADD, [object_class])]}
        try:
            return bool(connection.modify(dn, changes))
        except (ldap_exc.LDAPConstraintViolationResult,
                ldap_exc.LDAPAdminLimitExceededResult) as exc:
            raise EnrolmentTooLarge(f"{self.settings.attributes.enrolment}: "
                                    f"{exc.message or type(exc).__name__}") from exc

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
        if account.disabled:
            raise AccountDisabled(account.username)

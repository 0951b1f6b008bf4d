"""The OpenLDAP ppolicy dialect: how lock and password state are stored and changed.

Facts (STACK-NOTES.md): ``pwdAccountLockedTime`` marks a lock (``000001010000Z`` is an
administrator's permanent lock); deleting it unlocks and clears ``pwdFailureTime``;
``pwdReset: TRUE`` forces a change at next login; a password written by an account with
``write`` (not ``manage``) is checked against history and length by slapd itself. A person's
own change is a Password Modify on a connection bound as that person.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ldap3 import BASE, MODIFY_DELETE, MODIFY_REPLACE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from config.settings import DomainSettings
from dialogs.directory_port import (
    AccountLocked,
    BindOutcome,
    DirectoryError,
    InvalidCredentials,
    LockState,
    PasswordExpired,
)
from directory.errors import rejection_from, translated
from directory.pool import ConnectionPool
from directory.ppolicy import PPOLICY_REQUEST, policy_from_result

ADMIN_LOCK = "000001010000Z"
POLICY_CACHE_SECONDS = 60.0
PPOLICY_STATE_ATTRIBUTES = ("pwdAccountLockedTime", "pwdReset", "pwdChangedTime",
                            "pwdPolicySubentry", "pwdFailureTime", "entryUUID")

Changes = dict[str, list[tuple[str, list[Any]]]]


@dataclass(frozen=True)
class PolicyTimes:
    """The parts of a pwdPolicy entry that decide lockout and password expiry."""

    lockout_duration: int = 0
    max_age: int = 0
    # Wrong passwords that lock the account (pwdMaxFailure), 0 unless pwdLockout is TRUE.
    max_failure: int = 0


def generalized_time(value: Any) -> datetime | None:
    """ldap3 gives datetimes for known syntaxes, strings or bytes otherwise."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value.endswith("Z"):
        try:
            return datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None
    return None


def first(attributes: dict[str, Any], name: str) -> Any:
    value = attributes.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def quiet_unbind(connection: Connection) -> None:
    # The outcome is already known; closing is best effort.
    with contextlib.suppress(Exception):
        connection.unbind()


class OpenLdapDialect:
    """OpenLDAP with the ppolicy overlay; reads a pwdPolicy entry at most once a minute."""

    name: str = "openldap"
    enrolment_object_class: str | None = "sspmEnrolled"
    state_attributes: tuple[str, ...] = PPOLICY_STATE_ATTRIBUTES
    bind_controls: tuple[Any, ...] = (PPOLICY_REQUEST,)
    write_controls: tuple[Any, ...] = (PPOLICY_REQUEST,)

    def __init__(self, settings: DomainSettings, pool: ConnectionPool) -> None:
        self.settings = settings
        self.pool = pool
        self._policies: dict[str, tuple[PolicyTimes, float]] = {}  # dn -> policy, read at
        self._policy_lock = threading.Lock()
        self.clock: Callable[[], float] = time.monotonic

    # -- finding -----------------------------------------------------------------------------

    def user_filter(self, value: str) -> str:
        """``value`` is already escaped."""
        attrs = self.settings.attributes
        object_class = escape_filter_chars(self.settings.user_object_class)
        return (f"(&(objectClass={object_class})"
                f"(|({attrs.username}={value})({attrs.employee_number}={value})))")

    def group_member_filter(self, dn: str) -> str:
        """Direct membership only: ``directory.protected_groups`` walks the nesting."""
        value = escape_filter_chars(dn)
        return f"(|(member={value})(uniqueMember={value}))"

    # -- state -------------------------------------------------------------------------------

    def lock_state(self, attributes: dict[str, Any], now: datetime) -> LockState:
        raw = first(attributes, "pwdAccountLockedTime")
        if raw is None:
            return "unlocked"
        value = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        if value == ADMIN_LOCK or _is_admin_lock(raw):
            return "admin_locked"
        locked_at = generalized_time(raw)
        duration = self.policy(attributes).lockout_duration
        if (duration and locked_at is not None
                and locked_at + timedelta(seconds=duration) <= now):
            return "unlocked"
        return "locked"

    def must_change(self, attributes: dict[str, Any]) -> bool:
        value = first(attributes, "pwdReset")
        return value is True or str(value).upper() == "TRUE"

    def expired(self, attributes: dict[str, Any], now: datetime) -> bool:
        changed = generalized_time(first(attributes, "pwdChangedTime"))
        max_age = self.policy(attributes).max_age
        if not max_age or changed is None:
            return False
        return changed + timedelta(seconds=max_age) <= now

    def disabled(self, attributes: dict[str, Any]) -> bool:
        return False

    def privileged(self, attributes: dict[str, Any]) -> bool:
        return False

    def stable_id(self, attributes: dict[str, Any]) -> str:
        return text(first(attributes, "entryUUID")).lower()

    def failed_binds(self, attributes: dict[str, Any]) -> int:
        value = attributes.get("pwdFailureTime")
        if isinstance(value, list):
            return len(value)
        return 1 if value else 0

    def lockout_threshold(self, attributes: dict[str, Any]) -> int:
        return self.policy(attributes).max_failure

    def policy(self, attributes: dict[str, Any]) -> PolicyTimes:
        # slapd's ppolicy_default lives in its configuration, which the service account cannot
        # read: the domain names it (password_policy_dn), else the usual place is tried.
        dn = text(first(attributes, "pwdPolicySubentry")) or self.settings.password_policy_dn \
            or f"cn=default,ou=policies,{self.settings.base_dn}"
        # Cached (issue 13: no read per account), but not for ever: a lowered pwdMaxFailure
        # must reach the guess budget (dialogs.password_guesses) within a minute.
        now = self.clock()
        with self._policy_lock:
            cached = self._policies.get(dn)
        if cached is not None and now - cached[1] < POLICY_CACHE_SECONDS:
            return cached[0]
        policy = self.pool.run("read password policy", lambda c: _read_policy(c, dn))
        with self._policy_lock:
            self._policies[dn] = (policy, now)
        return policy

    # -- binding as the person ---------------------------------------------------------------

    def bind_outcome(self, result: dict[str, Any] | None, *, bound: bool) -> BindOutcome:
        """A bound person may still be flagged must-change; a refused bind says why."""
        response = policy_from_result(result)
        if bound:
            return BindOutcome.MUST_CHANGE if response.error == 2 else BindOutcome.OK
        if response.error == 1:
            raise AccountLocked("account locked")
        if response.error == 0:
            raise PasswordExpired("password expired")
        raise InvalidCredentials("invalid credentials")

    # -- changing ----------------------------------------------------------------------------

    def unlock_changes(self) -> Changes:
        return {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]}

    def reset_changes(self, new_password: str, *, must_change: bool, locked: bool) -> Changes:
        changes: Changes = {"userPassword": [(MODIFY_REPLACE, [new_password])]}
        # slapd clears pwdReset by itself whenever a non-``manage`` account writes the
        # password, so it is only ever set here, in the same (atomic) modify. Any password
        # write also unlocks, so ``locked`` needs nothing more.
        if must_change:
            changes["pwdReset"] = [(MODIFY_REPLACE, ["TRUE"])]
        return changes

    def password_refusal(self, exc: ldap_exc.LDAPOperationResult,
                         result: dict[str, Any] | None) -> DirectoryError:
        return rejection_from(exc, result)

    def change_password(self, dn: str, old_password: str, new_password: str) -> None:
        """Bound as the person, so slapd applies its policy as to any user."""
        connection = self.pool.new_connection(dn, old_password)
        with translated("own password change", lambda: connection.result):
            try:
                self.pool.bind(connection, controls=list(self.bind_controls))
            except ldap_exc.LDAPInvalidCredentialsResult as exc:
                quiet_unbind(connection)
                try:
                    self.bind_outcome(connection.result, bound=False)
                except DirectoryError as refusal:
                    raise refusal from exc
                raise
            try:
                connection.extend.standard.modify_password(
                    user=dn, old_password=old_password, new_password=new_password,
                    controls=list(self.write_controls))
            finally:
                quiet_unbind(connection)


def _read_policy(connection: Connection, dn: str) -> PolicyTimes:
    try:
        connection.search(dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["pwdLockoutDuration", "pwdMaxAge", "pwdLockout",
                                      "pwdMaxFailure"])
    except ldap_exc.LDAPNoSuchObjectResult:
        return PolicyTimes()
    for entry in connection.response or []:
        attributes = entry.get("attributes", {})
        lockout = str(first(attributes, "pwdLockout")).upper() in ("TRUE", "1")
        return PolicyTimes(lockout_duration=int(first(attributes, "pwdLockoutDuration") or 0),
                           max_age=int(first(attributes, "pwdMaxAge") or 0),
                           max_failure=int(first(attributes, "pwdMaxFailure") or 0)
                           if lockout else 0)
    return PolicyTimes()


def _is_admin_lock(raw: Any) -> bool:
    when = generalized_time(raw)
    return when is not None and when.year <= 1

"""The Active Directory dialect (Windows AD and Samba AD DC), always over LDAPS.

Facts (STACK-NOTES.md, checked on Samba 4.17):

- State: ``msDS-User-Account-Control-Computed`` has 0x10 while locked out (it clears by itself
  when a lockout duration runs out, ``lockoutTime`` does not) and 0x800000 while the password
  is expired, which includes ``pwdLastSet=0`` (must change). ``userAccountControl`` 0x2 is a
  disabled account. ``adminCount=1`` marks an account AD treats as privileged.
- Unlock: ``lockoutTime=0``. Reset: REPLACE ``unicodePwd`` with the password in double quotes,
  UTF-16-LE; ``pwdLastSet=0`` in the same modify forces a change at next login, ``-1`` sets it
  to now. A reset does not unlock on AD, so a locked account also gets ``lockoutTime=0``.
- A person's own change is DELETE old / ADD new ``unicodePwd``, sent over an *authenticated*
  connection (the service account's): AD then checks the old password (a wrong one counts as a
  bad password), history, length and complexity.
- A refused bind carries the reason in its diagnostic message, ``... data 775, v1db1``:
  52e invalid, 773 must change (the password was right: AD refuses the bind where OpenLDAP lets
  it through flagged), 775 locked, 532 expired, 533 disabled, 701 account expired,
  530/531 logon hours or workstation restrictions.
- A refused password is constraint violation 19 with ``0000052D``. Windows says no more than
  that, so the reason is "policy"; Samba adds words ("history", "too short", "complexity")
  and they are used when present. ``00000056`` is a wrong old password, ``00000775`` a locked
  account.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, MODIFY_REPLACE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from config.settings import DomainSettings
from dialogs.directory_port import (
    AccountDisabled,
    AccountLocked,
    BindOutcome,
    DirectoryError,
    InvalidCredentials,
    LockState,
    PasswordExpired,
    PasswordRejected,
)
from directory.errors import rejection_from
from directory.openldap import POLICY_CACHE_SECONDS, Changes, first
from directory.pool import ConnectionPool

UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_PASSWORD_EXPIRED = 0x800000
NORMAL_USER_ACCOUNT = 805306368  # sAMAccountType: people, never computers or trusts
IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN: nested membership
AD_STATE_ATTRIBUTES = ("userAccountControl", "msDS-User-Account-Control-Computed",
                       "lockoutTime", "pwdLastSet", "adminCount", "userPrincipalName",
                       "objectGUID", "badPwdCount")

_BIND_DATA = re.compile(r"\bdata ([0-9a-fA-F]+)\b")
_WERROR = re.compile(r"^\s*([0-9a-fA-F]{8})\b")


def unicode_pwd(password: str) -> bytes:
    """The ``unicodePwd`` value: the password in double quotes, UTF-16-LE."""
    return f'"{password}"'.encode("utf-16-le")


def _number(attributes: dict[str, Any], name: str) -> int | None:
    value = first(attributes, name)
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    try:
        return int(value) if value is not None and str(value).strip() else None
    except (TypeError, ValueError):
        return None


def bind_code(result: dict[str, Any] | None) -> str:
    """The AD sub-code of a refused bind (``52e``, ``775``...), or an empty string."""
    match = _BIND_DATA.search(str((result or {}).get("message") or ""))
    return match.group(1).lower() if match else ""


class ActiveDirectoryDialect:
    """Active Directory: state from computed UAC, changes through ``unicodePwd``."""

    name: str = "ad"
    enrolment_object_class: str | None = None  # the attribute is in the user class's mayContain
    state_attributes: tuple[str, ...] = AD_STATE_ATTRIBUTES
    bind_controls: tuple[Any, ...] = ()
    write_controls: tuple[Any, ...] = ()

    def __init__(self, settings: DomainSettings, pool: ConnectionPool) -> None:
        self.settings = settings
        self.pool = pool
        self._threshold: tuple[int, float] | None = None  # value, read at (monotonic)

    # -- finding -----------------------------------------------------------------------------

    def user_filter(self, value: str) -> str:
        """``value`` is already escaped; a login is a sAMAccountName, a UPN or a number."""
        attrs = self.settings.attributes
        object_class = escape_filter_chars(self.settings.user_object_class)
        return (f"(&(objectClass={object_class})(sAMAccountType={NORMAL_USER_ACCOUNT})"
                f"(|({attrs.username}={value})(userPrincipalName={value})"
                f"({attrs.employee_number}={value})))")

    def group_member_filter(self, dn: str) -> str:
        return f"(member:{IN_CHAIN}:={escape_filter_chars(dn)})"

    # -- state -------------------------------------------------------------------------------

    def lock_state(self, attributes: dict[str, Any], now: datetime) -> LockState:
        computed = _number(attributes, "msDS-User-Account-Control-Computed")
        if computed is not None:
            return "locked" if computed & UF_LOCKOUT else "unlocked"
        return "locked" if (_number(attributes, "lockoutTime") or 0) > 0 else "unlocked"

    def must_change(self, attributes: dict[str, Any]) -> bool:
        return _number(attributes, "pwdLastSet") == 0

    def expired(self, attributes: dict[str, Any], now: datetime) -> bool:
        computed = _number(attributes, "msDS-User-Account-Control-Computed") or 0
        return bool(computed & UF_PASSWORD_EXPIRED) and not self.must_change(attributes)

    def disabled(self, attributes: dict[str, Any]) -> bool:
        return bool((_number(attributes, "userAccountControl") or 0) & UF_ACCOUNTDISABLE)

    def privileged(self, attributes: dict[str, Any]) -> bool:
        return _number(attributes, "adminCount") == 1

    def stable_id(self, attributes: dict[str, Any]) -> str:
        value = first(attributes, "objectGUID")
        if isinstance(value, bytes):
            return value.hex()
        return str(value or "").strip("{}").lower()

    def failed_binds(self, attributes: dict[str, Any]) -> int:
        # badPwdCount is per DC (not replicated): a floor, the product's own budget does the rest.
        return _number(attributes, "badPwdCount") or 0

    def lockout_threshold(self, attributes: dict[str, Any]) -> int:
        """The domain's lockoutThreshold, read at most once a minute. A fine-grained policy
        (PSO) may set a lower one for some users; ``[dialog] bind_failure_limit`` must stay
        below it too."""
        now = time.monotonic()
        if self._threshold is None or now - self._threshold[1] >= POLICY_CACHE_SECONDS:
            self._threshold = (self.pool.run("read lockout threshold", self._read_threshold),
                               now)
        return self._threshold[0]

    def _read_threshold(self, connection: Connection) -> int:
        connection.search(self.settings.base_dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["lockoutThreshold"])
        for entry in connection.response or []:
            if entry.get("type") == "searchResEntry":
                return _number(dict(entry.get("attributes", {})), "lockoutThreshold") or 0
        return 0

    # -- binding as the person ---------------------------------------------------------------

    def bind_outcome(self, result: dict[str, Any] | None, *, bound: bool) -> BindOutcome:
        """773 is the right password that must be changed: a MUST_CHANGE outcome, as on
        OpenLDAP; every other refusal raises its error."""
        if bound:
            return BindOutcome.OK
        code = bind_code(result)
        if code == "773":
            return BindOutcome.MUST_CHANGE
        if code == "775":
            raise AccountLocked("account locked")
        if code == "532":
            raise PasswordExpired("password expired")
        if code in ("533", "701"):
            raise AccountDisabled("account disabled" if code == "533" else "account expired")
        # 52e, and 530/531 (logon hours, workstations): refused like a wrong password, so a
        # restriction cannot be stepped around through self-service.
        raise InvalidCredentials(f"invalid credentials ({code or 'no sub-code'})")

    # -- changing ----------------------------------------------------------------------------

    def unlock_changes(self) -> Changes:
        return {"lockoutTime": [(MODIFY_REPLACE, ["0"])]}

    def reset_changes(self, new_password: str, *, must_change: bool, locked: bool) -> Changes:
        changes: Changes = {
            "unicodePwd": [(MODIFY_REPLACE, [unicode_pwd(new_password)])],
            "pwdLastSet": [(MODIFY_REPLACE, ["0" if must_change else "-1"])]}
        if locked:
            changes["lockoutTime"] = [(MODIFY_REPLACE, ["0"])]
        return changes

    def password_refusal(self, exc: ldap_exc.LDAPOperationResult,
                         result: dict[str, Any] | None) -> DirectoryError:
        message = exc.message or ""
        match = _WERROR.match(message)
        code = match.group(1).upper() if match else ""
        if code == "00000056":
            return InvalidCredentials("the old password does not match")
        if code == "00000775":
            return AccountLocked("account locked")
        rejection = rejection_from(exc, None)
        return PasswordRejected(rejection.reason, message)

    def change_password(self, dn: str, old_password: str, new_password: str) -> None:
        changes: Changes = {"unicodePwd": [(MODIFY_DELETE, [unicode_pwd(old_password)]),
                                           (MODIFY_ADD, [unicode_pwd(new_password)])]}

        def change(connection: Connection) -> bool:
            try:
                return bool(connection.modify(dn, changes))
            except ldap_exc.LDAPConstraintViolationResult as exc:
                raise self.password_refusal(exc, connection.result) from exc

        self.pool.run("own password change", change, writer=True)

"""The OpenLDAP ppolicy dialect: how lock and password state are stored and changed.

Facts (STACK-NOTES.md): ``pwdAccountLockedTime`` marks a lock (``000001010000Z`` is an
administrator's permanent lock); deleting it unlocks and clears ``pwdFailureTime``;
``pwdReset: TRUE`` forces a change at next login; a password written by an account with
``write`` (not ``manage``) is checked against history and length by slapd itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ldap3 import MODIFY_DELETE, MODIFY_REPLACE

from dialogs.directory_port import LockState

ADMIN_LOCK = "000001010000Z"
PPOLICY_STATE_ATTRIBUTES = ("pwdAccountLockedTime", "pwdReset", "pwdChangedTime",
                            "pwdPolicySubentry")


@dataclass(frozen=True)
class PolicyTimes:
    """The parts of a pwdPolicy entry that decide lock expiry and password expiry."""

    lockout_duration: int = 0
    max_age: int = 0


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


class OpenLdapDialect:
    name = "openldap"
    state_attributes = PPOLICY_STATE_ATTRIBUTES

    def lock_state(self, attributes: dict[str, Any], policy: PolicyTimes,
                   now: datetime) -> LockState:
        raw = first(attributes, "pwdAccountLockedTime")
        if raw is None:
            return "unlocked"
        text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else str(raw)
        if text == ADMIN_LOCK or _is_admin_lock(raw):
            return "admin_locked"
        locked_at = generalized_time(raw)
        if (policy.lockout_duration and locked_at is not None
                and locked_at + timedelta(seconds=policy.lockout_duration) <= now):
            return "unlocked"
        return "locked"

    def must_change(self, attributes: dict[str, Any]) -> bool:
        value = first(attributes, "pwdReset")
        return value is True or str(value).upper() == "TRUE"

    def expired(self, attributes: dict[str, Any], policy: PolicyTimes, now: datetime) -> bool:
        changed = generalized_time(first(attributes, "pwdChangedTime"))
        if not policy.max_age or changed is None:
            return False
        return changed + timedelta(seconds=policy.max_age) <= now

    def disabled(self, attributes: dict[str, Any]) -> bool:
        return False

    def privileged(self, attributes: dict[str, Any]) -> bool:
        return False

    def unlock_changes(self) -> dict[str, list[tuple[str, list[str]]]]:
        return {"pwdAccountLockedTime": [(MODIFY_DELETE, [])]}

    def reset_changes(self, new_password: str, *, must_change: bool,
                      currently_must_change: bool) -> dict[str, list[tuple[str, list[str]]]]:
        changes: dict[str, list[tuple[str, list[str]]]] = {
            "userPassword": [(MODIFY_REPLACE, [new_password])]}
        # slapd clears pwdReset by itself whenever a non-``manage`` account writes the
        # password, so it is only ever set here, in the same (atomic) modify.
        if must_change:
            changes["pwdReset"] = [(MODIFY_REPLACE, ["TRUE"])]
        return changes


def _is_admin_lock(raw: Any) -> bool:
    when = generalized_time(raw)
    return when is not None and when.year <= 1

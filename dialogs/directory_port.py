"""The directory port: accounts, their lock and password state, and what can go wrong.

The core owns this contract; ``directory.LdapDirectory`` implements it for OpenLDAP
(ppolicy) and, through its dialect seam, Active Directory.

Errors::

    DirectoryError
     ├── DirectoryUnavailable    server down, slow, or refusing the service account
     ├── InvalidCredentials      the person's password did not bind
     ├── AccountLocked           the bind was refused because the account is locked
     ├── PasswordExpired         the bind was refused because the password has expired
     ├── AccountDisabled         the account is disabled
     ├── AccountProtected        a privileged target self-service must never touch
     │    └── AdministratorLock  an administrator's permanent lock (000001010000Z)
     ├── PasswordRejected        the directory refused a new password; ``reason`` says why
     └── EnrolmentTooLarge       the enrolment record does not fit the attribute
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal, Protocol

LockState = Literal["unlocked", "locked", "admin_locked"]
RejectionReason = Literal["history", "quality", "too_short", "too_young", "policy"]


class DirectoryError(Exception):
    """Base of every directory failure the flows can explain."""


class DirectoryUnavailable(DirectoryError):
    """The directory is down, too slow, or refuses the service account."""


class InvalidCredentials(DirectoryError):
    """A bind with the person's password failed."""


class AccountLocked(DirectoryError):
    """The account is locked, so even the right password does not bind."""


class PasswordExpired(DirectoryError):
    """The password has expired, so the bind is refused."""


class AccountDisabled(DirectoryError):
    """The account is disabled; self-service cannot help."""


class AccountProtected(DirectoryError):
    """A privileged or protected account: never reset or unlocked by self-service."""


class AdministratorLock(AccountProtected):
    """An administrator locked this account on purpose; only an administrator may unlock it."""


class PasswordRejected(DirectoryError):
    """The directory refused the new password; ``reason`` is one of ``RejectionReason``."""

    def __init__(self, reason: RejectionReason, detail: str = "") -> None:
        super().__init__(f"password rejected: {reason}" + (f" ({detail})" if detail else ""))
        self.reason: RejectionReason = reason
        self.detail = detail


class EnrolmentTooLarge(DirectoryError):
    """The enrolment record is larger than the directory attribute accepts."""


class BindOutcome(Enum):
    OK = "ok"
    MUST_CHANGE = "must_change"


@dataclass(frozen=True)
class Account:
    """One directory account as the flows see it: identity, contact, state. No secret."""

    dn: str
    username: str
    domain: str
    # A stable id (OpenLDAP entryUUID, AD objectGUID): every per-account counter keys on it,
    # never on the spelling that found the account (DESIGN.md 5.3).
    uid: str = ""
    employee_number: str = ""
    mobile: str = ""
    mail: str = ""
    display_name: str = ""
    given_name: str = ""
    surname: str = ""
    enrolment: str | None = None
    lock: LockState = "unlocked"
    must_change: bool = False
    expired: bool = False
    disabled: bool = False
    protected: bool = False
    # Wrong passwords the directory has counted since the last good one (ppolicy
    # pwdFailureTime, AD badPwdCount): the product's guesses must never add up to a lockout.
    failed_binds: int = 0
    # The directory's lockout threshold for this account; 0 when it never locks.
    lockout_threshold: int = 0

    @property
    def identity(self) -> str:
        """What per-account limits key on: the domain and the stable id (the DN if none)."""
        return f"{self.domain}:{self.uid or self.dn.lower()}"

    @property
    def personal_words(self) -> tuple[str, ...]:
        """Words a password or an answer must not contain (zxcvbn user inputs)."""
        words = (self.username, self.given_name, self.surname, self.display_name,
                 self.mail.split("@")[0], self.employee_number)
        return tuple(w for w in words if w)


class Directory(Protocol):
    """One authentication domain's directory, seen through the service account."""

    def find_account(self, login: str) -> Account | None:
        """The account whose username (or employee number) is ``login``, else None."""
        ...

    def refresh(self, account: Account) -> Account:
        """The same account read again (state may have changed); only ``dn`` is used.

        Membership of the protected groups may be up to a minute old (``Account.protected``,
        docs/security.md); lock, disabled and expiry state are read now."""
        ...

    def verify_password(self, account: Account, password: str) -> BindOutcome:
        """Bind as the account; raise InvalidCredentials, AccountLocked, PasswordExpired or
        AccountDisabled."""
        ...

    def unlock(self, account: Account) -> None:
        """Clear the lockout, leaving the password; refuses protected accounts."""
        ...

    def reset_password(self, account: Account, new_password: str, *,
                       must_change: bool) -> Account:
        """Set a new password as the service account, and return the account as read just
        before the write. That read is fresh whatever ``account`` holds: a protected, disabled
        or administrator-locked account is refused, and so is another entry now at the DN
        (``account.uid`` differs: InvalidCredentials). Only ``dn`` and ``uid`` are used."""
        ...

    def set_temporary_password(self, account: Account) -> str:
        """Set a random policy-compliant password flagged must-change, and return it."""
        ...

    def change_password(self, account: Account, old_password: str, new_password: str) -> None:
        """The person's own change: old password proves it, the directory applies its policy."""
        ...

    def write_enrolment(self, account: Account, record: str | None) -> None:
        """Store (or with None, remove) the enrolment record."""
        ...

    def ping(self) -> None:
        """Bind as the service account; raise DirectoryUnavailable if that fails."""
        ...

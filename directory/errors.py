"""Directory errors: the core's contract (``dialogs.directory_port``), re-exported here,
plus the one place where ldap3's exceptions are translated into it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from ldap3.core import exceptions as ldap_exc

from dialogs.directory_port import (
    AccountDisabled,
    AccountLocked,
    AccountProtected,
    AdministratorLock,
    DirectoryError,
    DirectoryUnavailable,
    EnrolmentTooLarge,
    InvalidCredentials,
    PasswordExpired,
    PasswordRejected,
)
from directory.ppolicy import policy_from_result

__all__ = ["AccountDisabled", "AccountLocked", "AccountProtected", "AdministratorLock",
           "DirectoryError", "DirectoryUnavailable", "EnrolmentTooLarge", "InvalidCredentials",
           "PasswordExpired", "PasswordRejected", "translated"]

# Failures of the connection itself: the server is down, slow, or went away.
CONNECTION_ERRORS: tuple[type[Exception], ...] = (
    ldap_exc.LDAPCommunicationError,
    ldap_exc.LDAPSocketOpenError,
    ldap_exc.LDAPSessionTerminatedByServerError,
    ldap_exc.LDAPResponseTimeoutError,
    ldap_exc.LDAPSocketReceiveError,
    ldap_exc.LDAPSocketSendError,
    ldap_exc.LDAPSocketCloseError,
    ldap_exc.LDAPStartTLSError,
    ldap_exc.LDAPBindError,
    ldap_exc.LDAPUnavailableResult,
    ldap_exc.LDAPBusyResult,
    ldap_exc.LDAPUnwillingToPerformResult,
    ldap_exc.LDAPServerPoolError,
    ldap_exc.LDAPMaximumRetriesError,
    TimeoutError,
    OSError,
)

_POLICY_REASONS = {
    5: "quality",
    6: "too_short",
    7: "too_young",
    8: "history",
}


def rejection_from(exc: ldap_exc.LDAPOperationResult,
                   result: dict[str, Any] | None) -> PasswordRejected:
    """A constraint violation on a password write, with the ppolicy reason when sent."""
    response = policy_from_result(result)
    reason = _POLICY_REASONS.get(response.error if response.error is not None else -1)
    message = (exc.message or "").lower()
    if reason is None:
        if "history" in message or "not being changed" in message:
            reason = "history"
        elif "short" in message:
            reason = "too_short"
        elif "young" in message:
            reason = "too_young"
        elif "quality" in message or "complex" in message:
            reason = "quality"
    return PasswordRejected(reason or "policy", exc.message or "")  # type: ignore[arg-type]


@contextmanager
def translated(operation: str,
               last_result: Callable[[], dict[str, Any] | None] = lambda: None) -> Iterator[None]:
    """Turn ldap3's exceptions into the directory error tree (``raise ... from``).

    ``last_result`` gives the failing connection's result dict, whose controls carry the
    ppolicy reason of a refused password.
    """
    try:
        yield
    except DirectoryError:
        raise
    except ldap_exc.LDAPInvalidCredentialsResult as exc:
        raise InvalidCredentials(operation) from exc
    except ldap_exc.LDAPConstraintViolationResult as exc:
        raise rejection_from(exc, last_result()) from exc
    except ldap_exc.LDAPInsufficientAccessRightsResult as exc:
        raise DirectoryUnavailable(f"{operation}: the service account lacks the right") from exc
    except CONNECTION_ERRORS as exc:
        raise DirectoryUnavailable(f"{operation}: {type(exc).__name__}") from exc
    except ldap_exc.LDAPException as exc:
        raise DirectoryUnavailable(f"{operation}: {type(exc).__name__}") from exc

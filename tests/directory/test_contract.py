"""The directory contract, run against a real slapd and a real Samba AD DC (no mocks).

A reset is proven only by binds from outside the product: the new password binds (flagged
must-change where asked), the old one does not.
"""

from __future__ import annotations

import pytest

from dialogs.directory_port import (
    Account,
    AccountDisabled,
    AccountLocked,
    AccountProtected,
    BindOutcome,
    InvalidCredentials,
    PasswordRejected,
)
from tests.directory.backends import Backend
from tests.directory.test_injection_and_faults import HOSTILE_LOGINS

PASSWORD = "Copper-Lantern-Drift-31"
NEW = "Fresh-Meadow-Lamp-73"


def account(backend: Backend, login: str) -> Account:
    found = backend.directory.find_account(login)
    assert found is not None, login
    return found


# Account states OpenLDAP does not have (complexity rules, adminCount, disabled accounts):
# these contract tests run on Active Directory only.
ad_only = pytest.mark.parametrize("backend", ["ad"], indirect=True)


def test_lockout_after_policy_failures_then_unlock(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    backend.fail_logins(person.dn, backend.lockout_threshold)
    locked = backend.directory.refresh(person)
    assert locked.lock == "locked"
    assert backend.bind(person.dn, PASSWORD) == "refused"
    with pytest.raises(AccountLocked):
        backend.directory.verify_password(locked, PASSWORD)

    backend.directory.unlock(locked)

    assert backend.directory.refresh(person).lock == "unlocked"
    assert backend.bind(person.dn, PASSWORD) == "ok"  # the same password works again
    assert backend.directory.verify_password(person, PASSWORD) is BindOutcome.OK


def test_unlock_of_an_unlocked_account_changes_nothing(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    backend.directory.unlock(person)
    assert backend.bind(person.dn, PASSWORD) == "ok"


def test_reset_with_must_change_proven_by_binds(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    backend.directory.reset_password(person, NEW, must_change=True)

    assert backend.bind(person.dn, NEW) == "must_change"
    assert backend.bind(person.dn, PASSWORD) == "refused"
    assert backend.directory.refresh(person).must_change
    assert backend.directory.verify_password(person, NEW) is BindOutcome.MUST_CHANGE
    with pytest.raises(InvalidCredentials):
        backend.directory.verify_password(person, PASSWORD)


def test_reset_without_must_change_clears_it_and_unlocks(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD, must_change=True))
    assert person.must_change
    backend.fail_logins(person.dn, backend.lockout_threshold)
    assert backend.directory.refresh(person).lock == "locked"

    backend.directory.reset_password(person, NEW, must_change=False)

    after = backend.directory.refresh(person)
    assert not after.must_change and after.lock == "unlocked"
    assert backend.bind(person.dn, NEW) == "ok"


def test_temporary_password_is_random_and_must_change(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    first = backend.directory.set_temporary_password(person)
    second = backend.directory.set_temporary_password(person)
    assert first != second and len(second) >= 12
    assert backend.bind(person.dn, second) == "must_change"
    assert backend.bind(person.dn, first) == "refused"


def test_own_change_applies_then_history_refuses(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    backend.directory.change_password(person, PASSWORD, NEW)
    assert backend.bind(person.dn, NEW) == "ok"
    assert backend.bind(person.dn, PASSWORD) == "refused"

    with pytest.raises(PasswordRejected) as rejected:
        backend.directory.change_password(person, NEW, PASSWORD)
    assert rejected.value.reason == "history"
    assert backend.bind(person.dn, NEW) == "ok"


def test_own_change_too_short_is_refused(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    with pytest.raises(PasswordRejected) as rejected:
        backend.directory.change_password(person, PASSWORD, "tiny")
    assert rejected.value.reason == "too_short"
    assert backend.bind(person.dn, PASSWORD) == "ok"


@ad_only
def test_own_change_complexity_is_refused(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    with pytest.raises(PasswordRejected) as rejected:
        backend.directory.change_password(person, PASSWORD, "alllowercaseletters")
    assert rejected.value.reason == "quality"
    assert backend.bind(person.dn, PASSWORD) == "ok"


def test_own_change_with_a_wrong_old_password(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    with pytest.raises(InvalidCredentials):
        backend.directory.change_password(person, "not-the-password", NEW)
    assert backend.bind(person.dn, PASSWORD) == "ok"
    assert backend.bind(person.dn, NEW) == "refused"


def test_own_change_of_a_temporary_password(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD, must_change=True))
    assert backend.directory.verify_password(person, PASSWORD) is BindOutcome.MUST_CHANGE
    backend.directory.change_password(person, PASSWORD, NEW)
    assert backend.bind(person.dn, NEW) == "ok"


def test_security_protected_group_member_is_refused(backend: Backend) -> None:
    # On AD the membership is nested: a group inside the protected group.
    person = account(backend, backend.new_user(PASSWORD, protected_group=True))
    assert person.protected
    with pytest.raises(AccountProtected):
        backend.directory.reset_password(person, NEW, must_change=True)
    with pytest.raises(AccountProtected):
        backend.directory.set_temporary_password(person)
    assert backend.bind(person.dn, PASSWORD) == "ok"


@ad_only
def test_security_admin_count_account_is_refused(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD, admin_count=True))
    assert person.protected
    backend.fail_logins(person.dn, backend.lockout_threshold)
    with pytest.raises(AccountProtected):
        backend.directory.unlock(person)
    with pytest.raises(AccountProtected):
        backend.directory.reset_password(person, NEW, must_change=False)
    assert backend.directory.refresh(person).lock == "locked"


@ad_only
def test_disabled_account_is_refused(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD, disabled=True))
    assert person.disabled
    with pytest.raises(AccountDisabled):
        backend.directory.verify_password(person, PASSWORD)
    with pytest.raises(AccountDisabled):
        backend.directory.reset_password(person, NEW, must_change=False)
    with pytest.raises(AccountDisabled):
        backend.directory.change_password(person, PASSWORD, NEW)
    assert backend.bind(person.dn, NEW) == "refused"


def test_wrong_and_empty_passwords_are_invalid_credentials(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    with pytest.raises(InvalidCredentials):
        backend.directory.verify_password(person, "wrong")
    with pytest.raises(InvalidCredentials):
        backend.directory.verify_password(person, "")  # never an anonymous bind


def test_find_by_username_and_employee_number(backend: Backend) -> None:
    login = backend.new_user(PASSWORD)
    person = account(backend, login)
    assert person.username == login
    assert account(backend, person.employee_number).dn == person.dn


@pytest.mark.parametrize("login", HOSTILE_LOGINS)
def test_security_injection_hostile_usernames_find_nobody(backend: Backend, login: str) -> None:
    assert backend.directory.find_account(login) is None


def test_enrolment_record_round_trip(backend: Backend) -> None:
    person = account(backend, backend.new_user(PASSWORD))
    assert person.enrolment is None
    record = '{"v": 1, "questions": [], "pad": "' + "x" * 900 + '"}'
    backend.directory.write_enrolment(person, record)
    assert backend.directory.refresh(person).enrolment == record
    backend.directory.write_enrolment(person, None)
    assert backend.directory.refresh(person).enrolment is None

"""LdapDirectory against a real slapd with the ppolicy overlay (no mocks).

A reset is proven only by binds: the new password binds, the old one does not.
"""

from __future__ import annotations

import subprocess

import pytest
from ldap3 import Connection, Server

from bot.local_stack import SlapdInfo, demo_user
from dialogs.directory_port import (
    AccountLocked,
    AccountProtected,
    AdministratorLock,
    BindOutcome,
    InvalidCredentials,
    PasswordExpired,
    PasswordRejected,
)
from directory import LdapDirectory


def ldapwhoami(info: SlapdInfo, dn: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ldapwhoami", "-x", "-e", "ppolicy", "-H", info.url, "-D", dn, "-w", password],
        capture_output=True, text=True, timeout=10, check=False)


def binds(info: SlapdInfo, dn: str, password: str) -> bool:
    return ldapwhoami(info, dn, password).returncode == 0


def fail_logins(info: SlapdInfo, dn: str, times: int) -> None:
    for _ in range(times):
        connection = Connection(Server(info.url), dn, "definitely-wrong-password")
        assert not connection.bind()


def test_find_by_username_and_employee_number(directory: LdapDirectory) -> None:
    by_name = directory.find_account("alice")
    by_number = directory.find_account("1001")
    assert by_name is not None and by_number is not None
    assert by_name.dn == by_number.dn == demo_user("alice").dn
    assert by_name.mobile == "+15550001001"
    assert by_name.lock == "unlocked" and not by_name.must_change and not by_name.protected


def test_states_of_the_seeded_accounts(directory: LdapDirectory) -> None:
    states = {uid: directory.find_account(uid) for uid in
              ("carol", "dave", "erin", "frank", "grace")}
    assert states["carol"] is not None and states["carol"].lock == "locked"
    assert states["dave"] is not None and states["dave"].must_change
    assert states["erin"] is not None and states["erin"].protected
    assert states["frank"] is not None and states["frank"].lock == "admin_locked"
    assert states["frank"].protected
    assert states["grace"] is not None and states["grace"].expired


def test_lockout_after_policy_failures_then_unlock(directory: LdapDirectory,
                                                   slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    fail_logins(slapd, alice.dn, 3)  # the seeded policy's pwdMaxFailure
    account = directory.find_account("alice")
    assert account is not None and account.lock == "locked"
    assert not binds(slapd, alice.dn, alice.password)
    with pytest.raises(AccountLocked):
        directory.verify_password(account, alice.password)

    directory.unlock(account)

    assert directory.refresh(account).lock == "unlocked"
    assert binds(slapd, alice.dn, alice.password)  # the same password works again
    assert directory.verify_password(account, alice.password) is BindOutcome.OK


def test_unlock_of_an_unlocked_account_changes_nothing(directory: LdapDirectory,
                                                      slapd: SlapdInfo) -> None:
    account = directory.find_account("alice")
    assert account is not None
    directory.unlock(account)
    assert binds(slapd, account.dn, demo_user("alice").password)


def test_administrator_lock_is_refused(directory: LdapDirectory, slapd: SlapdInfo) -> None:
    frank = directory.find_account("frank")
    assert frank is not None
    with pytest.raises(AdministratorLock):
        directory.unlock(frank)
    with pytest.raises(AdministratorLock):
        directory.reset_password(frank, "Another-Good-Pass-12", must_change=False)
    assert directory.refresh(frank).lock == "admin_locked"
    assert not binds(slapd, frank.dn, demo_user("frank").password)


def test_protected_group_member_is_refused(directory: LdapDirectory, slapd: SlapdInfo) -> None:
    erin = directory.find_account("erin")
    assert erin is not None
    with pytest.raises(AccountProtected):
        directory.reset_password(erin, "Another-Good-Pass-12", must_change=True)
    with pytest.raises(AccountProtected):
        directory.set_temporary_password(erin)
    assert binds(slapd, erin.dn, demo_user("erin").password)


def test_reset_with_must_change(directory: LdapDirectory, slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    account = directory.find_account("alice")
    assert account is not None

    directory.reset_password(account, "Fresh-Meadow-Lamp-73", must_change=True)

    whoami = ldapwhoami(slapd, alice.dn, "Fresh-Meadow-Lamp-73")
    assert whoami.returncode == 0 and "Password must be changed" in whoami.stderr
    assert not binds(slapd, alice.dn, alice.password)
    assert directory.verify_password(account, "Fresh-Meadow-Lamp-73") is BindOutcome.MUST_CHANGE
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, alice.password)


def test_reset_unlocks_and_can_clear_must_change(directory: LdapDirectory,
                                                 slapd: SlapdInfo) -> None:
    dave = directory.find_account("dave")
    carol = directory.find_account("carol")
    assert dave is not None and carol is not None
    directory.reset_password(dave, "Quiet-River-Stone-48", must_change=False)
    directory.reset_password(carol, "Amber-Window-Gate-26", must_change=False)
    assert not directory.refresh(dave).must_change
    assert directory.refresh(carol).lock == "unlocked"
    assert "must be changed" not in ldapwhoami(slapd, dave.dn, "Quiet-River-Stone-48").stderr
    assert binds(slapd, carol.dn, "Amber-Window-Gate-26")


def test_temporary_password_is_random_and_must_change(directory: LdapDirectory,
                                                      slapd: SlapdInfo) -> None:
    account = directory.find_account("bob")
    assert account is not None
    first = directory.set_temporary_password(account)
    second = directory.set_temporary_password(account)
    assert first != second and len(second) >= 12
    whoami = ldapwhoami(slapd, account.dn, second)
    assert whoami.returncode == 0 and "Password must be changed" in whoami.stderr
    assert not binds(slapd, account.dn, first)


def test_own_change_applies_and_reports_history(directory: LdapDirectory,
                                                slapd: SlapdInfo) -> None:
    bob = demo_user("bob")
    account = directory.find_account("bob")
    assert account is not None
    directory.change_password(account, bob.password, "Orchid-Tunnel-Kite-15")
    assert binds(slapd, bob.dn, "Orchid-Tunnel-Kite-15")
    assert not binds(slapd, bob.dn, bob.password)

    with pytest.raises(PasswordRejected) as rejected:
        directory.change_password(account, "Orchid-Tunnel-Kite-15", bob.password)
    assert rejected.value.reason == "history"


def test_own_change_reports_too_short(directory: LdapDirectory, slapd: SlapdInfo) -> None:
    bob = demo_user("bob")
    account = directory.find_account("bob")
    assert account is not None
    with pytest.raises(PasswordRejected) as rejected:
        directory.change_password(account, bob.password, "tiny")
    assert rejected.value.reason == "too_short"
    assert binds(slapd, bob.dn, bob.password)


def test_own_change_with_wrong_old_password(directory: LdapDirectory, slapd: SlapdInfo) -> None:
    account = directory.find_account("bob")
    assert account is not None
    with pytest.raises(InvalidCredentials):
        directory.change_password(account, "not-the-password", "Orchid-Tunnel-Kite-15")
    assert binds(slapd, account.dn, demo_user("bob").password)


def test_temporary_password_changed_by_the_person(directory: LdapDirectory,
                                                  slapd: SlapdInfo) -> None:
    dave = demo_user("dave")
    account = directory.find_account("dave")
    assert account is not None and account.must_change
    directory.change_password(account, dave.password, "Silver-Harbor-Moss-62")
    whoami = ldapwhoami(slapd, dave.dn, "Silver-Harbor-Moss-62")
    assert whoami.returncode == 0 and "must be changed" not in whoami.stderr


def test_expired_password_bind(directory: LdapDirectory) -> None:
    grace = directory.find_account("grace")
    assert grace is not None
    with pytest.raises(PasswordExpired):
        directory.verify_password(grace, demo_user("grace").password)


def test_reset_refused_by_history_reports_reason(directory: LdapDirectory) -> None:
    account = directory.find_account("alice")
    assert account is not None
    directory.reset_password(account, "Velvet-Canyon-Bell-90", must_change=False)
    with pytest.raises(PasswordRejected) as rejected:
        directory.reset_password(account, "Velvet-Canyon-Bell-90", must_change=False)
    assert rejected.value.reason == "history"


def test_enrolment_record_round_trip(directory: LdapDirectory) -> None:
    account = directory.find_account("bob")
    assert account is not None and account.enrolment is None
    directory.write_enrolment(account, '{"v": 1, "questions": []}')
    assert directory.refresh(account).enrolment == '{"v": 1, "questions": []}'
    directory.write_enrolment(account, None)
    assert directory.refresh(account).enrolment is None


def test_wrong_password_is_invalid_credentials(directory: LdapDirectory) -> None:
    account = directory.find_account("alice")
    assert account is not None
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, "wrong")
    with pytest.raises(InvalidCredentials):
        directory.verify_password(account, "")  # never an anonymous bind

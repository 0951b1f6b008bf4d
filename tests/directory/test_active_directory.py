"""What only Active Directory has: UPN logins, the seeded states, a confidential record."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import pytest
from ldap3 import BASE, Connection, Server, Tls

from bot.local_stack.ad_seed import ad_demo_user
from bot.local_stack.samba import SambaInfo
from directory import LdapDirectory
from tests.directory.backends import ad_settings


@pytest.fixture
def ad(samba: SambaInfo) -> Iterator[LdapDirectory]:
    directory = LdapDirectory(ad_settings(samba))
    try:
        yield directory
    finally:
        directory.close()


def test_states_of_the_seeded_accounts(ad: LdapDirectory) -> None:
    states = {name: ad.find_account(name) for name in
              ("alice", "bob", "carol", "dave", "erin", "frank", "heidi")}
    assert all(states.values()), states
    alice = states["alice"]
    assert alice is not None and alice.mobile == "+15550001001"
    assert not (alice.protected or alice.disabled or alice.must_change or alice.expired)
    assert states["carol"] is not None and states["carol"].lock == "locked"
    assert states["dave"] is not None and states["dave"].must_change
    assert not states["dave"].expired  # pwdLastSet=0 is a must-change, not an expiry
    assert states["erin"] is not None and states["erin"].protected  # nested group
    assert states["frank"] is not None and states["frank"].disabled
    assert states["heidi"] is not None and states["heidi"].protected  # adminCount=1


def test_login_by_user_principal_name(ad: LdapDirectory) -> None:
    by_upn = ad.find_account(ad_demo_user("alice").upn)
    assert by_upn is not None and by_upn.username == "alice"


def test_security_accounts_outside_the_people_ou_are_not_found(ad: LdapDirectory) -> None:
    # The Administrator (CN=Users) and the service account itself are out of reach.
    assert ad.find_account("Administrator") is None
    assert ad.find_account("svc-sspm") is None
    assert ad.find_account("DC1$") is None


def test_security_enrolment_record_is_confidential(ad: LdapDirectory, samba: SambaInfo) -> None:
    """The record holds Argon2id hashes of low-entropy answers: no other user may read it,
    nor test it with a filter; the account itself may not either."""
    alice = ad.find_account("alice")
    assert alice is not None
    ad.write_enrolment(alice, '{"v": 1, "questions": []}')
    assert ad.refresh(alice).enrolment == '{"v": 1, "questions": []}'
    for reader in ("bob", "alice"):
        user = ad_demo_user(reader)
        connection = Connection(Server(samba.url, tls=Tls(validate=ssl.CERT_NONE),
                                       get_info="NO_INFO"), user.dn, user.password,
                                auto_bind=True)
        connection.search(alice.dn, "(objectClass=*)", search_scope=BASE,
                          attributes=["sspmEnrolment", "mobile"])
        assert connection.response[0]["attributes"]["sspmEnrolment"] == []
        connection.search(alice.dn, "(sspmEnrolment=*)", search_scope=BASE, attributes=["1.1"])
        assert not [e for e in connection.response if e["type"] == "searchResEntry"]
        connection.unbind()
    ad.write_enrolment(alice, None)

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.local_stack import LocalSlapd, SlapdInfo
from bot.local_stack.samba import SambaInfo
from directory import LdapDirectory
from tests.conftest import domain_settings
from tests.directory.backends import (
    Backend,
    SambaBackend,
    acquire_samba,
    ad_settings,
    open_slapd_backend,
    release_samba,
)


@pytest.fixture
def directory(slapd: SlapdInfo) -> Iterator[LdapDirectory]:
    ldap = LdapDirectory(domain_settings(slapd))
    try:
        yield ldap
    finally:
        ldap.close()


@pytest.fixture(scope="session")
def samba(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SambaInfo]:
    """One Samba AD DC for the whole session: it cannot run twice on one machine."""
    info = acquire_samba(tmp_path_factory.mktemp("samba"))
    try:
        yield info
    finally:
        release_samba()


@pytest.fixture(params=["openldap", "ad"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The same contract test against slapd (fresh per test) and Samba (shared, fresh users)."""
    if request.param == "openldap":
        slapd: LocalSlapd = request.getfixturevalue("slapd_server")
        opened = open_slapd_backend(slapd)
        try:
            yield opened
        finally:
            opened.directory.close()
        return
    info: SambaInfo = request.getfixturevalue("samba")
    ad = SambaBackend(info, LdapDirectory(ad_settings(info)))
    try:
        yield ad
    finally:
        ad.directory.close()
        ad.remove_users()

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.local_stack import SlapdInfo
from directory import LdapDirectory
from tests.conftest import domain_settings


@pytest.fixture
def directory(slapd: SlapdInfo) -> Iterator[LdapDirectory]:
    ldap = LdapDirectory(domain_settings(slapd))
    try:
        yield ldap
    finally:
        ldap.close()

"""Issue 13: the password policy is read once a minute, not per account, and not for ever.

A policy cached for the life of the process hid a lowered ``pwdMaxFailure`` until a restart,
so the product's guess budget (``dialogs.password_guesses``) could outlive the directory's own
threshold. On real slapd: a second lookup reads no policy; a changed policy shows once the
cache time has passed.
"""

from __future__ import annotations

import pytest
from ldap3 import MODIFY_REPLACE, Connection, Server

from bot.local_stack import SlapdInfo
from directory import LdapDirectory
from directory.openldap import POLICY_CACHE_SECONDS, OpenLdapDialect
from tests.directory.operation_log import counting_ldap


def test_the_policy_is_cached_a_minute_then_read_again(
        directory: LdapDirectory, slapd: SlapdInfo, monkeypatch: pytest.MonkeyPatch) -> None:
    dialect = directory.dialect
    assert isinstance(dialect, OpenLdapDialect)
    alice = directory.find_account("alice")
    assert alice is not None and alice.lockout_threshold == 3
    admin = Connection(Server(slapd.url), slapd.admin_dn, slapd.admin_password)
    assert admin.bind()
    assert admin.modify(f"cn=default,ou=policies,{slapd.base_dn}",
                        {"pwdMaxFailure": [(MODIFY_REPLACE, ["2"])]})
    with counting_ldap(monkeypatch, slapd.service_dn) as log:
        again = directory.find_account("alice")
    assert again is not None and again.lockout_threshold == 3  # within the minute
    assert log.count() == 1, log.table()  # the account's search, no policy read
    started = dialect.clock()
    dialect.clock = lambda: started + POLICY_CACHE_SECONDS
    later = directory.find_account("alice")
    assert later is not None and later.lockout_threshold == 2
    admin.unbind()

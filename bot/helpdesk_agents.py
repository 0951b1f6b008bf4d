"""Agents sign in with their directory credentials; only members of the agents' group."""

from __future__ import annotations

import logging

from ldap3 import BASE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from dialogs.directory_port import DirectoryError
from dialogs.helpdesk import Agent
from directory import LdapDirectory

log = logging.getLogger(__name__)


class LdapAgentDirectory:
    def __init__(self, directory: LdapDirectory, group_dn: str) -> None:
        self._directory = directory
        self._group = group_dn

    def authenticate(self, username: str, password: str) -> Agent | None:
        if not self._group or not username or not password:
            return None
        try:
            account = self._directory.find_account(username)
            if account is None:
                return None
            self._directory.verify_password(account, password)
            if not self._is_member(account.dn):
                log.info("helpdesk sign-in refused: not in the agents' group")
                return None
        except DirectoryError:
            return None
        return Agent(account.username, account.display_name)

    def _is_member(self, dn: str) -> bool:
        member_filter = f"(member={escape_filter_chars(dn)})"

        def check(connection: Connection) -> bool:
            try:
                connection.search(self._group, member_filter, search_scope=BASE,
                                  attributes=["1.1"])
            except ldap_exc.LDAPNoSuchObjectResult:
                return False
            return any(e.get("type") == "searchResEntry" for e in connection.response or [])

        return bool(self._directory.pool.run("check agents group", check))

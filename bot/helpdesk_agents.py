"""The agents' directory: accounts, membership of the agents' group, the agent's own bind.

``dialogs.helpdesk_access.AgentSignIn`` decides the order (membership before any bind, a
budget of guesses per account); this adapter only answers its questions over LDAP.
"""

from __future__ import annotations

from ldap3 import BASE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from dialogs.directory_port import Account, BindOutcome
from directory import LdapDirectory


class LdapAgentDirectory:
    """``AgentAccounts`` on one domain's ``LdapDirectory`` and the agents' group DN."""

    def __init__(self, directory: LdapDirectory, group_dn: str) -> None:
        self._directory = directory
        self._group = group_dn

    def find_account(self, login: str) -> Account | None:
        return self._directory.find_account(login)

    def verify_password(self, account: Account, password: str) -> BindOutcome:
        return self._directory.verify_password(account, password)

    def is_agent(self, username: str) -> bool:
        account = self._directory.find_account(username)
        return account is not None and self.is_member(account)

    def is_member(self, account: Account) -> bool:
        # No group configured: nobody is an agent (fail closed). A disabled or
        # administrator-locked account is no agent either, whatever its groups say.
        if not self._group or account.disabled or account.lock == "admin_locked":
            return False
        member_filter = f"(member={escape_filter_chars(account.dn)})"

        def check(connection: Connection) -> bool:
            try:
                connection.search(self._group, member_filter, search_scope=BASE,
                                  attributes=["1.1"])
            except ldap_exc.LDAPNoSuchObjectResult:
                return False
            return any(e.get("type") == "searchResEntry" for e in connection.response or [])

        return bool(self._directory.pool.run("check agents group", check))

"""The agents' directory: accounts, membership of the agents' group, the agent's own bind.

``dialogs.helpdesk_access.AgentSignIn`` decides the order (membership before any bind, a
budget of guesses per account); this adapter only answers its questions over LDAP.
"""

from __future__ import annotations

from ldap3 import BASE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from dialogs.directory_port import Account, BindOutcome
from dialogs.helpdesk_access import Access
from directory import LdapDirectory


class LdapAgentDirectory:
    """``AgentAccounts`` on one domain's ``LdapDirectory``, the agents' group DN and, when
    configured, the reporters' group DN (issue 16: reports without tickets)."""

    def __init__(self, directory: LdapDirectory, group_dn: str, reporters_dn: str = "") -> None:
        self._directory = directory
        self._group = group_dn
        self._reporters = reporters_dn

    def find_account(self, login: str) -> Account | None:
        return self._directory.find_account(login)

    def verify_password(self, account: Account, password: str) -> BindOutcome:
        return self._directory.verify_password(account, password)

    def access_of(self, username: str) -> Access:
        account = self._directory.find_account(username)
        return self.access(account) if account is not None else ""

    def access(self, account: Account) -> Access:
        # No group configured: nobody (fail closed). A disabled or administrator-locked
        # account has no access, whatever its groups say.
        if account.disabled or account.lock == "admin_locked":
            return ""
        if self._group and self._in_group(self._group, account):
            return "agent"
        if self._reporters and self._in_group(self._reporters, account):
            return "reporter"
        return ""

    def _in_group(self, group: str, account: Account) -> bool:
        member_filter = f"(member={escape_filter_chars(account.dn)})"

        def check(connection: Connection) -> bool:
            try:
                connection.search(group, member_filter, search_scope=BASE,
                                  attributes=["1.1"])
            except ldap_exc.LDAPNoSuchObjectResult:
                return False
            return any(e.get("type") == "searchResEntry" for e in connection.response or [])

        return bool(self._directory.pool.run("check console group", check))

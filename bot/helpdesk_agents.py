"""The agents' directory: accounts, membership of the agents' group, the agent's own bind.

``dialogs.helpdesk_access.AgentSignIn`` decides the order (membership before any bind, a
budget of guesses per account); this adapter only answers its questions over LDAP.
"""

from __future__ import annotations

from ldap3.utils.conv import escape_filter_chars

from dialogs.directory_port import Account, BindOutcome
from dialogs.helpdesk_access import Access
from directory import LdapDirectory
from directory.protected_groups import group_matches


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
        return bool(self._directory.pool.run(
            "check console group", lambda c: group_matches(c, group, member_filter)))

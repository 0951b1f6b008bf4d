"""Who may act at the help desk console: the agents' sign-in and their revocable sessions.

Two attacks shaped this module (issue 10, properties 2 and 6):

- **Locking anyone out through the sign-in form.** The console used to bind with whatever
  password was typed, for any login, before it looked at the agents' group: three wrong
  passwords locked the directory account of *any* user, under any spelling of the login
  (``ALICE``, her employee number, fullwidth ``ａｌｉｃｅ``), from as many client addresses as
  the attacker had. ``AgentSignIn`` now (1) refuses a client address that has failed too
  often, (2) resolves the login to one account, (3) checks that account's membership of the
  agents' group, so a non-member's password is never sent to the directory, (4) takes a guess
  from the *account's* budget (``PasswordGuesses``, keyed on domain + entryUUID, kept below
  the directory's lockout threshold) and only then (5) binds. Every refusal shows the same
  words and is audited with its reason, never with the password.
- **A cookie that outlives its agent.** The signed cookie used to *be* the session: it worked
  after logout, and after the agent left the agents' group. The cookie now carries only a
  random session id; the session lives on the server (``AgentSessions``, Redis with a TTL),
  logout deletes it, and ``SessionGate`` re-checks membership at least every
  ``recheck_seconds``: a removed agent is signed out on the next request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from dialogs.directory_port import (
    Account,
    BindOutcome,
    DirectoryError,
    DirectoryUnavailable,
    InvalidCredentials,
)
from dialogs.helpdesk import Agent
from dialogs.password_guesses import PasswordGuesses
from dialogs.ports import Audit, Counters
from dialogs.sealing import Sealer

Refusal = Literal["not_agent", "throttled", "bad_password", "account_state", "unavailable"]
# What a member of the console's groups may do: work tickets (and read reports), or only read
# the reports (issue 16). "" is nobody.
Access = Literal["agent", "reporter", ""]


class AgentAccounts(Protocol):
    """The agents' directory, seen by the sign-in (``bot.helpdesk_agents``)."""

    def find_account(self, login: str) -> Account | None:
        """The one account ``login`` names (any spelling the directory matches), else None."""
        ...

    def access(self, account: Account) -> Access:
        """The account's access (agents' group first, then reporters'), if it is usable."""
        ...

    def verify_password(self, account: Account, password: str) -> BindOutcome:
        """Bind as the account (raises ``DirectoryError`` subclasses)."""
        ...

    def access_of(self, username: str) -> Access:
        """``find_account`` then ``access``: what may this signed-in person still do?"""
        ...


@dataclass(frozen=True)
class SignIn:
    """The sign-in's verdict: the agent, or why not (for the audit only, never shown)."""

    agent: Agent | None
    refusal: Refusal | None = None


@dataclass(frozen=True)
class AgentSignIn:
    accounts: AgentAccounts
    guesses: PasswordGuesses
    counters: Counters
    sealer: Sealer
    audit: Audit
    failures_per_client: int
    client_window_seconds: int

    def attempt(self, login: str, password: str, client: str) -> SignIn:
        """One sign-in from ``client`` (the request's remote address)."""
        if self.counters.count(self._client_key(client)) >= self.failures_per_client:
            return self._refused("throttled", client)
        try:
            account = self.accounts.find_account(login) if login and password else None
            access = self.accounts.access(account) if account is not None else ""
            if account is None or not access:
                return self._refused("not_agent", client, account)
            if not self.guesses.reserve(account):
                return self._refused("throttled", client, account)
            return self._bind(account, password, client, access)
        except DirectoryUnavailable:
            return self._refused("unavailable", client)

    def _bind(self, account: Account, password: str, client: str, access: Access) -> SignIn:
        try:
            self.accounts.verify_password(account, password)
        except InvalidCredentials:
            return self._refused("bad_password", client, account)
        except DirectoryUnavailable:
            raise
        except DirectoryError:
            # Locked, expired or disabled: the directory said no whatever the password was.
            return self._refused("account_state", client, account)
        self.guesses.succeeded(account)
        agent = Agent(account.username, account.display_name,
                      reports_only=access == "reporter")
        self.audit.record("helpdesk.sign_in", result="ok", channel="helpdesk",
                          who=agent.username, client=client)
        return SignIn(agent)

    def _refused(self, refusal: Refusal, client: str, account: Account | None = None) -> SignIn:
        if refusal != "unavailable":
            self.counters.increment(self._client_key(client), self.client_window_seconds)
        # ``who`` is the resolved account's name, never the typed login (which may be a
        # password typed into the wrong field).
        self.audit.record("helpdesk.sign_in", result="refused", channel="helpdesk",
                          who=account.username if account is not None else "",
                          reason=refusal, client=client)
        return SignIn(None, refusal)

    def _client_key(self, client: str) -> str:
        return "desk-client:" + self.sealer.keyed_digest("helpdesk-client", client)


# -- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSession:
    """The server side of a signed-in agent (no secret; the cookie holds only its id)."""

    agent: str
    name: str
    seen: float  # the last request: the idle timeout counts from it
    checked: float  # the last check of the agents' group membership
    reports_only: bool = False  # a reporter, not an agent (re-read at each check)


class AgentSessions(Protocol):
    """Server-side agent sessions with a TTL (``bot.helpdesk_sessions``)."""

    def put(self, session_id: str, session: AgentSession, ttl_seconds: int) -> None:
        ...

    def get(self, session_id: str) -> AgentSession | None:
        ...

    def end(self, session_id: str) -> None:
        ...


Gone = Literal["none", "idle", "not_agent"]


@dataclass(frozen=True)
class SessionGate:
    sessions: AgentSessions
    accounts: AgentAccounts
    audit: Audit
    idle_seconds: int
    recheck_seconds: int

    def open(self, agent: Agent, now: float) -> str:
        """A new session (a fresh id at every sign-in: no fixation); returns its id."""
        session_id = secrets.token_urlsafe(32)
        self.sessions.put(session_id, AgentSession(agent.username, agent.display_name, now,
                                                   now, agent.reports_only), self.idle_seconds)
        return session_id

    def admit(self, session_id: str, now: float) -> Agent | Gone:
        """The agent behind this request, or why the session is gone (then it is ended).

        Raises ``DirectoryUnavailable`` when membership is due for a check and the directory
        cannot answer: the request is refused, the session kept for the next try.
        """
        session = self.sessions.get(session_id) if session_id else None
        if session is None:
            return "none"
        if now - session.seen > self.idle_seconds:
            self.sessions.end(session_id)
            return "idle"
        if now - session.checked >= self.recheck_seconds:
            access = self.accounts.access_of(session.agent)
            if not access:
                self.sessions.end(session_id)
                self.audit.record("helpdesk.signed_out", result="not_agent",
                                  channel="helpdesk", who=session.agent)
                return "not_agent"
            session = replace(session, checked=now, reports_only=access == "reporter")
        self.sessions.put(session_id, replace(session, seen=now), self.idle_seconds)
        return Agent(session.agent, session.name, reports_only=session.reports_only)

    def close(self, session_id: str) -> None:
        """Logout: the session ends on the server, so no copy of the cookie works after."""
        session = self.sessions.get(session_id) if session_id else None
        if session is not None:
            self.sessions.end(session_id)
            self.audit.record("helpdesk.sign_out", result="ok", channel="helpdesk",
                              who=session.agent)

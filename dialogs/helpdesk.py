"""The help desk's side: the queue, claiming, notes, live relay, assisted verification.

Agents act on escalations; this module decides what they may do and returns the outbound
actions (a message to the person, a one-time code to the person's bound channel, a temporary
password straight to the person). An agent never sees or chooses a secret: codes are kept as
keyed digests, temporary passwords go from the directory to the person. Every agent action
is an audit record.

Errors::

    HelpdeskError          the action is not allowed now (message id in ``.message_id``)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Protocol

from dialogs.actions import Action, Notify, SendSms
from dialogs.directory_port import Account, AccountProtected, Directory
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.messages import Message
from dialogs.ports import Escalation, Relays, Tickets, TicketState
from dialogs.sealing import Sealer
from dialogs.turn import Services

RELAY_SECONDS = 4 * 3600
CODE_SECONDS = 600
CODE_TRIES = 3
RELAY_CHANNELS = ("telegram", "sms")


class HelpdeskError(Exception):
    def __init__(self, message_id: str) -> None:
        super().__init__(message_id)
        self.message_id = message_id


@dataclass(frozen=True)
class Agent:
    username: str
    display_name: str = ""


class AgentDirectory(Protocol):
    """Signs agents in with their directory credentials, members of the agents' group only."""

    def authenticate(self, username: str, password: str) -> Agent | None:
        ...


@dataclass(frozen=True)
class TicketView:
    ticket: str
    escalation: Escalation
    state: TicketState
    age_seconds: int
    relaying: bool
    messages: tuple[dict[str, str | float], ...] = ()


class Helpdesk:
    def __init__(self, services: Services, tickets: Tickets, relays: Relays) -> None:
        self.services = services
        self.tickets = tickets
        self.relays = relays
        self.sealer = Sealer(services.settings.secret_key)

    # -- the queue ---------------------------------------------------------------------------

    def queue(self, limit: int = 100) -> list[TicketView]:
        """Newest first."""
        now = self.services.clock.now()
        return [self._view(ticket, escalation, now, with_messages=False)
                for ticket, escalation in self.services.escalations.recent(limit)]

    def ticket(self, ticket: str) -> TicketView:
        escalation = self._escalation(ticket)
        return self._view(ticket, escalation, self.services.clock.now(), with_messages=True)

    def _view(self, ticket: str, escalation: Escalation, now: float,
              with_messages: bool) -> TicketView:
        messages = tuple(self.relays.messages(ticket)) if with_messages else ()
        return TicketView(ticket, escalation, self.tickets.get(ticket),
                          max(0, int(now - escalation.created_at)),
                          self.relays.active(_conversation(escalation)) == ticket, messages)

    def _escalation(self, ticket: str) -> Escalation:
        for candidate, escalation in self.services.escalations.recent(1000):
            if candidate == ticket:
                return escalation
        raise HelpdeskError("helpdesk.unknown_ticket")

    # -- claiming ----------------------------------------------------------------------------

    def claim(self, agent: Agent, ticket: str) -> None:
        self._escalation(ticket)
        state = self.tickets.get(ticket)
        if state.status == "claimed" and state.agent != agent.username:
            raise HelpdeskError("helpdesk.claimed_by_other")
        username = state.username or self._escalation(ticket).username
        self._save(agent, ticket, replace(state, status="claimed", agent=agent.username,
                                          username=username), "claim")

    def note(self, agent: Agent, ticket: str, text: str) -> None:
        state = self._mine(agent, ticket)
        note = (agent.username, text.strip()[:2000], self.services.clock.now())
        self._save(agent, ticket, replace(state, notes=(*state.notes, note)), "note")

    def set_username(self, agent: Agent, ticket: str, username: str) -> None:
        """Who the person says they are; verification then uses that account's bound channel."""
        state = self._mine(agent, ticket)
        self._save(agent, ticket, replace(state, username=username.strip(), verified=False,
                                          code_digest=""), "set_username")

    def resolve(self, agent: Agent, ticket: str) -> None:
        state = self._mine(agent, ticket)
        self.relays.stop(ticket, _conversation(self._escalation(ticket)))
        self._save(agent, ticket, replace(state, status="resolved", code_digest=""), "resolve")

    def _mine(self, agent: Agent, ticket: str) -> TicketState:
        state = self.tickets.get(ticket)
        if state.status != "claimed" or state.agent != agent.username:
            raise HelpdeskError("helpdesk.claim_first")
        return state

    def _save(self, agent: Agent, ticket: str, state: TicketState, action: str,
              result: str = "ok") -> None:
        self.tickets.put(ticket, state)
        self.services.audit.record("helpdesk." + action, result=result, channel="helpdesk",
                                   who=agent.username, ticket=ticket)

    # -- live relay --------------------------------------------------------------------------

    def start_relay(self, agent: Agent, ticket: str) -> list[Action]:
        self._mine(agent, ticket)
        escalation = self._escalation(ticket)
        if escalation.channel not in RELAY_CHANNELS:
            raise HelpdeskError("helpdesk.no_relay_channel")
        self.relays.start(ticket, _conversation(escalation), RELAY_SECONDS)
        self._audit(agent, ticket, "relay_start")
        return [Notify(escalation.channel, escalation.contact,
                       Message.of("helpdesk.relay_started", agent=agent.display_name
                                  or agent.username))]

    def stop_relay(self, agent: Agent, ticket: str) -> list[Action]:
        self._mine(agent, ticket)
        escalation = self._escalation(ticket)
        self.relays.stop(ticket, _conversation(escalation))
        self._audit(agent, ticket, "relay_stop")
        return [Notify(escalation.channel, escalation.contact,
                       Message.of("helpdesk.relay_ended"))]

    def say(self, agent: Agent, ticket: str, text: str) -> list[Action]:
        self._mine(agent, ticket)
        escalation = self._escalation(ticket)
        if self.relays.active(_conversation(escalation)) != ticket:
            raise HelpdeskError("helpdesk.relay_first")
        self.relays.record(ticket, agent.username, text)
        self._audit(agent, ticket, "relay_message")
        return [Notify(escalation.channel, escalation.contact,
                       Message.of("helpdesk.agent_says", text=text.strip()[:1000]))]

    # -- assisted verification ---------------------------------------------------------------

    def send_code(self, agent: Agent, ticket: str) -> list[Action]:
        """A one-time code to the account's *bound* channel, never to where the caller says."""
        state = self._mine(agent, ticket)
        account, record = self._enrolled(state)
        code = f"{secrets.randbelow(10 ** 6):06d}"
        digest = self.sealer.keyed_digest("helpdesk-code", ticket, code)
        expires = self.services.clock.now() + CODE_SECONDS
        self._save(agent, ticket, replace(state, code_digest=digest, code_expires=expires,
                                          code_tries=0, verified=False), "send_code")
        message = Message.of("helpdesk.code", code=code)
        channel, address = _bound_destination(account, record)
        if channel == "telegram":
            return [Notify("telegram", address, message)]
        return [SendSms(address, message, secret=True)]

    def check_code(self, agent: Agent, ticket: str, code: str) -> bool:
        state = self._mine(agent, ticket)
        typed = "".join(ch for ch in code if ch.isdigit())
        fresh = self.services.clock.now() <= state.code_expires
        digest = self.sealer.keyed_digest("helpdesk-code", ticket, typed)
        ok = bool(state.code_digest) and fresh and self.sealer.digests_equal(
            digest, state.code_digest)
        tries = state.code_tries + 1
        spent = ok or tries >= CODE_TRIES or not fresh
        self._save(agent, ticket, replace(
            state, verified=ok, code_tries=tries,
            code_digest="" if spent else state.code_digest), "check_code",
            result="ok" if ok else "failed")
        return ok

    def unlock(self, agent: Agent, ticket: str) -> list[Action]:
        state = self._verified(agent, ticket)
        account, _record = self._enrolled(state)
        directory = self._directory(account)
        try:
            directory.unlock(account)
        except AccountProtected as exc:
            self._audit(agent, ticket, "unlock", result="refused_protected")
            raise HelpdeskError("helpdesk.protected") from exc
        self._audit(agent, ticket, "unlock")
        return self._tell_person(state, "notice.account_unlocked")

    def reset(self, agent: Agent, ticket: str) -> list[Action]:
        """A temporary password sent straight to the person's bound channel; never shown."""
        state = self._verified(agent, ticket)
        account, record = self._enrolled(state)
        directory = self._directory(account)
        mobile = _bound_mobile(account, record)
        if not mobile:
            raise HelpdeskError("helpdesk.no_bound_channel")
        try:
            password = directory.set_temporary_password(account)
        except AccountProtected as exc:
            self._audit(agent, ticket, "reset", result="refused_protected")
            raise HelpdeskError("helpdesk.protected") from exc
        self._audit(agent, ticket, "reset", temporary=True)
        self.tickets.put(ticket, replace(state, verified=False))
        return [SendSms(mobile, Message.of("forgot.temporary_sms", password=password),
                        secret=True)]

    def _verified(self, agent: Agent, ticket: str) -> TicketState:
        state = self._mine(agent, ticket)
        if not state.verified:
            raise HelpdeskError("helpdesk.verify_first")
        return state

    def _enrolled(self, state: TicketState) -> tuple[Account, EnrolmentRecord | None]:
        if not state.username:
            raise HelpdeskError("helpdesk.username_first")
        for directory in self.services.directories.values():
            account = directory.find_account(state.username)
            if account is not None:
                return account, EnrolmentRecord.from_json(account.enrolment)
        raise HelpdeskError("helpdesk.unknown_user")

    def _directory(self, account: Account) -> Directory:
        return self.services.directories[account.domain]

    def _tell_person(self, state: TicketState, message_id: str) -> list[Action]:
        account, record = self._enrolled(state)
        try:
            channel, address = _bound_destination(account, record)
        except HelpdeskError:
            return []
        return [Notify(channel, address, Message.of(message_id))]

    def _audit(self, agent: Agent, ticket: str, action: str, result: str = "ok",
               **fields: str | int | bool) -> None:
        self.services.audit.record("helpdesk." + action, result=result, channel="helpdesk",
                                   who=agent.username, ticket=ticket, **fields)


def _bound_mobile(account: Account, record: EnrolmentRecord | None) -> str:
    return (record.mobile if record is not None else "") or account.mobile


def _bound_destination(account: Account, record: EnrolmentRecord | None) -> tuple[str, str]:
    """Where to reach the account's owner: the bound Telegram account, else the mobile."""
    if record is not None and record.telegram_id:
        return "telegram", record.telegram_id
    mobile = _bound_mobile(account, record)
    if not mobile:
        raise HelpdeskError("helpdesk.no_bound_channel")
    return "sms", mobile


def _conversation(escalation: Escalation) -> str:
    return f"{escalation.channel}:{escalation.contact}"

"""The help desk's side: the queue, claiming, notes, live relay, assisted verification.

Agents act on escalations; this module decides what they may do and sends, through the
``Outbox`` port, what must reach the person (a message, a one-time code to the person's bound
channel, a temporary password straight to the person). An agent never sees or chooses a
secret: codes are kept as keyed digests, temporary passwords go from the directory to the
person. Every agent action is an audit record.

Nothing half-applied, nothing claimed that did not happen (issue 10, property 5): an attacker
who fills a person's SMS cap with abandoned calls must not turn a help desk reset into a
lockout. So a reset first asks the outbox whether the temporary password *can* leave and
changes nothing if not; if the send still fails after the change (a race with the cap, a
provider refusal), the audit says ``not_delivered`` and the agent is told the truth. Every
``Outcome`` says what really left.

Errors::

    HelpdeskError          the action is not allowed now (message id in ``.message_id``)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from dialogs.actions import Notify, SendSms
from dialogs.directory_port import Account, AccountProtected, Directory
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.helpdesk_outbox import (
    Outbound,
    Outbox,
    Outcome,
    bound_mobile,
    channel_of,
    delivery,
    to_bound_channels,
    told,
)
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
    # A member of the reporters' group only: sees the reports, never a ticket or a person.
    reports_only: bool = False


@dataclass(frozen=True)
class TicketView:
    ticket: str
    escalation: Escalation
    state: TicketState
    age_seconds: int
    relaying: bool
    messages: tuple[dict[str, str | float], ...] = ()


class Helpdesk:
    def __init__(self, services: Services, tickets: Tickets, relays: Relays,
                 outbox: Outbox) -> None:
        self.services = services
        self.tickets = tickets
        self.relays = relays
        self.outbox = outbox
        self.sealer = Sealer(services.settings.secret_key)

    # -- the queue ---------------------------------------------------------------------------

    def queue(self, limit: int = 100) -> list[TicketView]:
        """Open and claimed tickets first, then resolved ones; newest first within each, so
        a burst of tickets that agents resolve never hides the ones still waiting."""
        now = self.services.clock.now()
        views = [self._view(ticket, escalation, now, with_messages=False)
                 for ticket, escalation in self.services.escalations.recent(limit)]
        return sorted(views, key=lambda view: view.state.status == "resolved")

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
        escalation = self._escalation(ticket)
        state = self.tickets.get(ticket)
        if state.status == "claimed" and state.agent != agent.username:
            raise HelpdeskError("helpdesk.claimed_by_other")
        username = state.username or escalation.username
        # How long the person waited is counted once, when the ticket leaves the queue.
        waited: dict[str, int] = {} if state.status != "open" \
            else {"waited_seconds": self._age(escalation)}
        self._save(agent, ticket, replace(state, status="claimed", agent=agent.username,
                                          username=username), "claim", "ok", **waited)

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
        escalation = self._escalation(ticket)
        self.relays.stop(ticket, _conversation(escalation))
        self._save(agent, ticket, replace(state, status="resolved", code_digest=""), "resolve",
                   waited_seconds=self._age(escalation))

    def _age(self, escalation: Escalation) -> int:
        return max(0, int(self.services.clock.now() - escalation.created_at))

    def _mine(self, agent: Agent, ticket: str) -> TicketState:
        state = self.tickets.get(ticket)
        if state.status != "claimed" or state.agent != agent.username:
            raise HelpdeskError("helpdesk.claim_first")
        return state

    def _save(self, agent: Agent, ticket: str, state: TicketState, action: str,
              result: str = "ok", **fields: int) -> None:
        self.tickets.put(ticket, state)
        self.services.audit.record("helpdesk." + action, result=result, channel="helpdesk",
                                   who=agent.username, ticket=ticket, **fields)

    # -- live relay --------------------------------------------------------------------------

    def start_relay(self, agent: Agent, ticket: str) -> Outcome:
        self._mine(agent, ticket)
        escalation = self._escalation(ticket)
        if escalation.channel not in RELAY_CHANNELS:
            raise HelpdeskError("helpdesk.no_relay_channel")
        self.relays.start(ticket, _conversation(escalation), RELAY_SECONDS)
        left = self._to_person(escalation, Message.of(
            "helpdesk.relay_started", agent=agent.display_name or agent.username))
        self._audit(agent, ticket, "relay_start", notice=delivery(left))
        return told("helpdesk.relay_on", left)

    def stop_relay(self, agent: Agent, ticket: str) -> Outcome:
        self._mine(agent, ticket)
        escalation = self._escalation(ticket)
        self.relays.stop(ticket, _conversation(escalation))
        left = self._to_person(escalation, Message.of("helpdesk.relay_ended"))
        self._audit(agent, ticket, "relay_stop", notice=delivery(left))
        return told("helpdesk.relay_off", left)

    def say(self, agent: Agent, ticket: str, text: str) -> Outcome:
        self._mine(agent, ticket)
        escalation = self._escalation(ticket)
        if self.relays.active(_conversation(escalation)) != ticket:
            raise HelpdeskError("helpdesk.relay_first")
        self.relays.record(ticket, agent.username, text)
        left = self._to_person(escalation, Message.of("helpdesk.agent_says",
                                                      text=text.strip()[:1000]))
        self._audit(agent, ticket, "relay_message", result=delivery(left))
        return told("helpdesk.sent", left, "helpdesk.not_sent")

    def _to_person(self, escalation: Escalation, message: Message) -> bool:
        return self.outbox.dispatch(Notify(escalation.channel, escalation.contact, message),
                                    escalation.language)

    # -- assisted verification ---------------------------------------------------------------

    def send_code(self, agent: Agent, ticket: str) -> Outcome:
        """A one-time code to the account's *bound* channel, never to where the caller says:
        the bound Telegram account, else (or when Telegram cannot be reached) the mobile."""
        state = self._mine(agent, ticket)
        account, record = self._enrolled(state)
        code = f"{secrets.randbelow(10 ** 6):06d}"
        action = self._deliverable(account, record, Message.of("helpdesk.code", code=code))
        if action is None:
            self._audit(agent, ticket, "send_code", result="not_deliverable")
            raise HelpdeskError("helpdesk.code_not_deliverable")
        digest = self.sealer.keyed_digest("helpdesk-code", ticket, code)
        expires = self.services.clock.now() + CODE_SECONDS
        fresh = replace(state, code_digest=digest, code_expires=expires, code_tries=0,
                        verified=False)
        self.tickets.put(ticket, fresh)
        if not self.outbox.dispatch(action, self._language(record)):
            self._save(agent, ticket, replace(fresh, code_digest=""), "send_code",
                       result="not_delivered")
            return Outcome("helpdesk.code_not_sent", warning=True)
        self._audit(agent, ticket, "send_code", channel_used=channel_of(action))
        return Outcome("helpdesk.code_sent")

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

    def unlock(self, agent: Agent, ticket: str) -> Outcome:
        """Clears the lockout (the password is untouched, so nothing has to reach the person
        for them to sign in); the page says whether the person's notice left."""
        state = self._verified(agent, ticket)
        account, record = self._enrolled(state)
        try:
            self._directory(account).unlock(account)
        except AccountProtected as exc:
            self._audit(agent, ticket, "unlock", result="refused_protected")
            raise HelpdeskError("helpdesk.protected") from exc
        left = self._tell_person(account, record, "notice.account_unlocked")
        self._audit(agent, ticket, "unlock", notice=delivery(left))
        return told("helpdesk.unlocked", left, "helpdesk.unlocked_not_told")

    def reset(self, agent: Agent, ticket: str) -> Outcome:
        """A temporary password sent straight to the person's enrolled mobile; never shown.

        Refused, with nothing changed, when that SMS could not leave now (no SMS sender, the
        number's cap reached): a password the person never receives is a lockout.
        """
        state = self._verified(agent, ticket)
        account, record = self._enrolled(state)
        mobile = bound_mobile(account, record)
        if not mobile:
            raise HelpdeskError("helpdesk.no_bound_channel")
        if not self.outbox.can_deliver(SendSms(mobile, Message.of("forgot.temporary_sms"),
                                               secret=True)):
            self._audit(agent, ticket, "reset", result="not_deliverable")
            raise HelpdeskError("helpdesk.reset_not_deliverable")
        try:
            password = self._directory(account).set_temporary_password(account)
        except AccountProtected as exc:
            self._audit(agent, ticket, "reset", result="refused_protected")
            raise HelpdeskError("helpdesk.protected") from exc
        sent = self.outbox.dispatch(SendSms(mobile, Message.of(
            "forgot.temporary_sms", password=password), secret=True), self._language(record))
        if not sent:
            # Applied but not delivered: say so, and keep the verification so the agent can
            # send a new temporary password once the SMS can leave.
            self._audit(agent, ticket, "reset", result="not_delivered", temporary=True)
            return Outcome("helpdesk.reset_not_delivered", warning=True)
        self._audit(agent, ticket, "reset", temporary=True)
        self.tickets.put(ticket, replace(state, verified=False))
        if record is not None and record.telegram_id:
            self._tell_person(account, record, "notice.password_reset")
        return Outcome("helpdesk.reset_sent")

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

    def _tell_person(self, account: Account, record: EnrolmentRecord | None,
                     message_id: str) -> bool:
        action = self._deliverable(account, record, Message.of(message_id))
        return action is not None and self.outbox.dispatch(action, self._language(record))

    def _deliverable(self, account: Account, record: EnrolmentRecord | None,
                     message: Message) -> Outbound | None:
        """The first of the owner's bound channels that can take ``message`` now."""
        actions = to_bound_channels(account, record, message)
        if not actions:
            raise HelpdeskError("helpdesk.no_bound_channel")
        return next((action for action in actions if self.outbox.can_deliver(action)), None)

    def _language(self, record: EnrolmentRecord | None) -> str:
        if record is not None and record.language:
            return record.language
        return self.services.settings.default_language

    def _audit(self, agent: Agent, ticket: str, action: str, result: str = "ok",
               **fields: str | int | bool) -> None:
        self.services.audit.record("helpdesk." + action, result=result, channel="helpdesk",
                                   who=agent.username, ticket=ticket, **fields)


def _conversation(escalation: Escalation) -> str:
    return f"{escalation.channel}:{escalation.contact}"

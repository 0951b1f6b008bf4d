"""The help desk's people tools: find a person without a ticket, read their enrolment and
lock state, clear an enrolment, open a ticket for them (issue 12).

What is typed into the search is attacker-ish text (a person on the phone spells it, an agent
pastes it, sometimes it is a password typed into the wrong field): it only ever reaches
``Directory.find_account``, which escapes it and matches the spellings the directory matches
(case, employee number, Unicode compatibility forms); it never reaches a log or the audit,
which names the account found, or a keyed digest of the query when none was.

Every lookup is an audit record (who looked up whom). Clearing an enrolment is the one change
made here: refused for protected accounts, audited, and announced on every channel the
enrolment had bound, so a person whose enrolment an impostor had cleared hears of it.

Errors: ``dialogs.helpdesk.HelpdeskError`` (message id in ``.message_id``).
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.directory_port import Account, Directory
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.helpdesk import Agent, HelpdeskError
from dialogs.helpdesk_outbox import Outbox, Outcome, delivery, to_bound_channels
from dialogs.messages import Message
from dialogs.ports import Escalation, Tickets, TicketState
from dialogs.sealing import Sealer
from dialogs.steps.identify import MAX_LOGIN, normalised_login, split_login
from dialogs.turn import Services

OPENED_BY_AGENT = "opened_by_agent"


@dataclass(frozen=True)
class Enrolment:
    """What an agent may know of an enrolment: which channels, never the answers."""

    enrolled: bool
    unreadable: bool = False  # a value is stored but it is no enrolment record we can read
    questions: int = 0
    mobile: str = ""  # masked: ``+1555…01``
    telegram: bool = False
    voice_pin: bool = False
    enrolled_at: float = 0.0
    # When a binding that moved recently stops cooling off (0: settled, it proves possession).
    mobile_settles_at: float = 0.0
    telegram_settles_at: float = 0.0


@dataclass(frozen=True)
class Person:
    domain: str
    username: str
    display_name: str
    employee_number: str
    states: tuple[str, ...]  # locked, admin_locked, must_change, expired, disabled, protected
    enrolment: Enrolment

    @property
    def protected(self) -> bool:
        return "protected" in self.states


class People:
    def __init__(self, services: Services, tickets: Tickets, outbox: Outbox) -> None:
        self.services = services
        self.tickets = tickets
        self.outbox = outbox
        self.sealer = Sealer(services.settings.secret_key)

    def find(self, agent: Agent, query: str) -> list[Person]:
        """Everyone ``query`` names: ``DOMAIN\\login`` in that domain, a bare login in each."""
        accounts = self._search(query.strip()[:MAX_LOGIN])
        found = ",".join(f"{a.domain}\\{a.username}" for a in accounts)
        self._audit(agent, "lookup", "found" if accounts else "not_found",
                    person=found or self._digest(query))
        return [self._person(account) for account in accounts]

    def person(self, agent: Agent, domain: str, username: str) -> Person:
        """One person's page (audited like a search)."""
        account = self._account(domain, username)
        self._audit(agent, "lookup", "found", person=f"{account.domain}\\{account.username}")
        return self._person(account)

    def clear_enrolment(self, agent: Agent, domain: str, username: str) -> Outcome:
        """Remove the enrolment: the person enrols again (with the directory's mobile's code
        where there is one). Announced first-hand on every channel it had bound."""
        account = self._account(domain, username)
        who = f"{account.domain}\\{account.username}"
        if account.protected:
            self._audit(agent, "clear_enrolment", "refused_protected", person=who)
            raise HelpdeskError("helpdesk.protected")
        if not account.enrolment:
            raise HelpdeskError("helpdesk.not_enrolled")
        record = EnrolmentRecord.from_json(account.enrolment)
        self._directory(account).write_enrolment(account, None)
        left = self._announce(account, record)
        self._audit(agent, "clear_enrolment", "ok", person=who, notice=delivery(left))
        if left:
            return Outcome("helpdesk.enrolment_cleared")
        return Outcome("helpdesk.enrolment_cleared_not_told", warning=True)

    def open_ticket(self, agent: Agent, domain: str, username: str) -> str:
        """A ticket for this person, claimed by the agent (e.g. a call to the desk's line)."""
        account = self._account(domain, username)
        ticket = self.services.escalations.raise_escalation(Escalation(
            reason=OPENED_BY_AGENT, channel="helpdesk", domain=account.domain,
            username=account.username, language=self._language(account),
            created_at=self.services.clock.now()))
        self.tickets.put(ticket, TicketState(status="claimed", agent=agent.username,
                                             username=account.username))
        self._audit(agent, "open_ticket", "ok", person=f"{account.domain}\\{account.username}",
                    ticket=ticket)
        return ticket

    # -- reading -----------------------------------------------------------------------------

    def _search(self, query: str) -> list[Account]:
        if not query:
            return []
        if "\\" in query:
            domain, login = split_login(query, self.services.settings.default_domain)
            directory = self.services.directories.get(domain)
            found = directory.find_account(login) if directory is not None and login else None
            return [found] if found is not None else []
        return [account for directory in self.services.directories.values()
                if (account := directory.find_account(query)) is not None]

    def _account(self, domain: str, username: str) -> Account:
        directory = self.services.directories.get(domain)
        account = directory.find_account(username) if directory is not None else None
        # The page names the account by its username; a login that resolves to another
        # account (someone's employee number) is not this person.
        if account is None or account.username.casefold() != username.casefold():
            raise HelpdeskError("helpdesk.unknown_user")
        return account

    def _person(self, account: Account) -> Person:
        return Person(account.domain, account.username, account.display_name,
                      account.employee_number, account_states(account),
                      self._enrolment(account))

    def _enrolment(self, account: Account) -> Enrolment:
        record = EnrolmentRecord.from_json(account.enrolment)
        if record is None:
            return Enrolment(enrolled=False, unreadable=bool(account.enrolment))
        cooling = self.services.settings.binding_cooling_off_seconds
        now = self.services.clock.now()
        return Enrolment(
            enrolled=True, questions=len(record.questions), mobile=mask_mobile(record.mobile),
            telegram=bool(record.telegram_id), voice_pin=bool(record.voice_pin),
            enrolled_at=record.enrolled_at,
            mobile_settles_at=_settles_at(record.mobile_changed_at, now, cooling),
            telegram_settles_at=_settles_at(record.telegram_changed_at, now, cooling))

    # -- acting ------------------------------------------------------------------------------

    def _announce(self, account: Account, record: EnrolmentRecord | None) -> bool:
        """The notice on each channel the enrolment bound (the directory's mobile if none);
        True if it left on at least one."""
        message = Message.of("notice.enrolment_cleared",
                             **self.services.settings.contact.params())
        language = self._language(account)
        sent = [self.outbox.dispatch(action, language)
                for action in to_bound_channels(account, record, message)]
        return any(sent)

    def _directory(self, account: Account) -> Directory:
        return self.services.directories[account.domain]

    def _language(self, account: Account) -> str:
        record = EnrolmentRecord.from_json(account.enrolment)
        if record is not None and record.language:
            return record.language
        return self.services.settings.default_language

    def _digest(self, query: str) -> str:
        # Not what was typed (it may be a password): a keyed digest an investigator can match.
        return "?" + self.sealer.keyed_digest("audit-login", normalised_login(query))[:12]

    def _audit(self, agent: Agent, action: str, result: str, **fields: str) -> None:
        self.services.audit.record("helpdesk." + action, result=result, channel="helpdesk",
                                   who=agent.username, **fields)


def account_states(account: Account) -> tuple[str, ...]:
    """The account's lock and password state, as the catalogue's ``helpdesk.state.*`` ids."""
    flags = (("locked", account.lock == "locked"),
             ("admin_locked", account.lock == "admin_locked"),
             ("must_change", account.must_change), ("expired", account.expired),
             ("disabled", account.disabled), ("protected", account.protected))
    return tuple(name for name, on in flags if on)


def mask_mobile(number: str) -> str:
    """``+15550001001`` -> ``+1555…01``: enough to recognise, not enough to call."""
    number = "".join(number.split())
    if not number:
        return ""
    if len(number) <= 7:
        return "…" + number[-2:]
    return number[:5] + "…" + number[-2:]


def _settles_at(changed_at: float, now: float, cooling_off_seconds: float) -> float:
    settles = changed_at + cooling_off_seconds
    return settles if changed_at and settles > now else 0.0

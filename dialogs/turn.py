"""One turn of a conversation: the services, the session and the actions being collected.

Step functions receive a ``Turn``; they read the event and the session's ``data``, call
ports, append actions, and return the name of the next state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialogs import rate_limits
from dialogs.actions import (
    Action,
    Ask,
    Choice,
    End,
    ForgetMessage,
    Notify,
    Say,
    SendSms,
    UseLanguage,
)
from dialogs.answers import AnswerHasher
from dialogs.breached_passwords import BreachedPasswords
from dialogs.captcha_port import Captchas
from dialogs.directory_port import Account, Directory
from dialogs.engine_settings import EngineSettings
from dialogs.events import ConversationKey, Event
from dialogs.languages import REMEMBER_SECONDS, LanguagePreferences, sender_key
from dialogs.messages import Message, ParamValue
from dialogs.ports import (
    Audit,
    Clock,
    Counters,
    Escalation,
    Escalations,
    PasswordLinks,
    SignIns,
)
from dialogs.sealing import Sealer


@dataclass(frozen=True)
class Services:
    """Everything the engine talks to, as ports; composed once in ``bot/``."""

    settings: EngineSettings
    directories: Mapping[str, Directory]
    captchas: Captchas
    counters: Counters
    escalations: Escalations
    audit: Audit
    clock: Clock
    hasher: AnswerHasher
    # The question's text in a language, for the enrolment rule "no question words in the
    # answer"; supplied by the composition root from the catalogues.
    question_text: Callable[[str, str], str] = field(default=lambda qid, lang: "")
    password_links: PasswordLinks | None = None
    sign_ins: SignIns | None = None  # enrolment over SMS signs in on the password page
    # Would this outbound message leave now (sender configured, destination cap not
    # reached)? Asked before a change whose result must reach the person (issue 10, #5).
    deliverable: Callable[[SendSms | Notify], bool] = field(default=lambda action: True)
    # Languages chosen per sender (issue 12); without it a choice lasts one conversation.
    languages: LanguagePreferences | None = None
    # New passwords checked against a breached corpus (issue 15); None when switched off.
    breached_passwords: BreachedPasswords | None = None


# Under this many seconds left, every prompt says the clock is about to run out (issue 12).
CLOCK_WARNING_SECONDS = 60
STEP_CLOCK = "choosing"  # data["clock"] while the new password is chosen


@dataclass
class Session:
    """The JSON record of one conversation (only JSON primitives inside)."""

    state: str = "menu:choose"
    language: str = "en"
    started: float = 0.0
    deadline: float = 0.0
    last_seen: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)

    def idle_applies(self) -> bool:
        """The idle limit guards the proof (2 min per question, DESIGN.md 5.1); once the
        proof passed, choosing a password is bounded by its own allotment alone."""
        return self.data.get("clock") != STEP_CLOCK

    def to_record(self) -> dict[str, Any]:
        return {"state": self.state, "language": self.language, "started": self.started,
                "deadline": self.deadline, "last_seen": self.last_seen, "data": self.data}

    @staticmethod
    def from_record(record: dict[str, Any]) -> Session:
        return Session(state=str(record.get("state", "menu:choose")),
                       language=str(record.get("language", "en")),
                       started=float(record.get("started", 0.0)),
                       deadline=float(record.get("deadline", 0.0)),
                       last_seen=float(record.get("last_seen", 0.0)),
                       data=dict(record.get("data", {})))


@dataclass
class Turn:
    services: Services
    key: ConversationKey
    event: Event
    session: Session
    now: float
    sealer: Sealer
    actions: list[Action] = field(default_factory=list)
    ended: bool = False
    _account: Account | None = None
    _decoy_read: bool = False  # a decoy's stand-in directory read was made this turn

    # -- reading -----------------------------------------------------------------------------

    @property
    def settings(self) -> EngineSettings:
        return self.services.settings

    @property
    def data(self) -> dict[str, Any]:
        return self.session.data

    @property
    def text(self) -> str:
        return self.event.text.strip()

    @property
    def conversation(self) -> str:
        return str(self.key)

    def seconds_left(self) -> int | None:
        if not self.session.deadline:
            return None
        return max(0, int(self.session.deadline - self.now))

    def directory(self, domain: str) -> Directory | None:
        return self.services.directories.get(domain)

    # -- acting ------------------------------------------------------------------------------

    def say(self, message_id: str, /, **params: ParamValue) -> None:
        self.actions.append(Say(Message.of(message_id, **params)))

    def ask(self, message_id: str, /, *, choices: tuple[Choice, ...] = (),
            secret_input: bool = False, countdown: bool = True, expect: str = "text",
            digits: int | None = None, notes: tuple[Message, ...] = (),
            **params: ParamValue) -> None:
        """Ask; wherever a clock runs the prompt shows the time left, and says so when it is
        about to run out (issue 12: the password step and enrolment showed no clock)."""
        left = self.seconds_left() if countdown else None
        if left is not None and left < CLOCK_WARNING_SECONDS:
            notes = (*notes, Message.of("common.time_running_out", seconds=left))
        self.actions.append(Ask(Message.of(message_id, **params), choices=choices,
                                secret_input=secret_input, seconds_left=left,
                                expect=expect, digits=digits, notes=notes))

    def start_password_clock(self) -> None:
        """The proof passed: the new password gets its own allotment, without idle limit."""
        self.session.deadline = self.now + self.settings.password_allotment_seconds
        self.data["clock"] = STEP_CLOCK

    def forget_secret_message(self) -> None:
        """The person's message carried a secret: have the channel delete it."""
        if self.event.message_ref:
            self.actions.append(ForgetMessage(self.event.message_ref))

    def set_language(self, language: str) -> None:
        if language != self.session.language:
            self.session.language = language
            self.actions.append(UseLanguage(language))

    def choose_language(self, language: str) -> None:
        """The person chose ``language``: this conversation and their next ones use it."""
        self.set_language(language)
        store = self.services.languages
        if store is not None:
            store.remember(self._sender_key(), language, REMEMBER_SECONDS)

    def remembered_language(self) -> str | None:
        store = self.services.languages
        language = store.recall(self._sender_key()) if store is not None else None
        return language if language in self.settings.languages else None

    def adopt_account_language(self, language: str) -> None:
        """After the proof: the account's own language, unless the person chose one here.

        Said aloud in the new language, so no line silently switches (issue 12); a choice
        the person made (remembered per sender) always wins.
        """
        if language not in self.settings.languages or language == self.session.language:
            return
        if self.remembered_language() is not None:
            return
        self.set_language(language)
        self.say("language.from_account")

    def _sender_key(self) -> str:
        return sender_key(self.sealer, self.key.channel, self.key.sender)

    def end(self) -> None:
        self.actions.append(End())
        self.ended = True

    def audit(self, event: str, result: str, **fields: str | int | bool) -> None:
        who = str(self.data.get("who", ""))
        self.services.audit.record(event, result=result, channel=self.key.channel, who=who,
                                   **fields)

    def escalate(self, reason: str, *, passed: tuple[str, ...] = (),
                 failed: tuple[str, ...] = (), extra: tuple[tuple[str, str], ...] = ()) -> str:
        """Raise a ticket, unless this sender or account has raised its share in the window:
        then no new ticket (nothing reaches the agents) and the person gets the last one."""
        owners = rate_limits.ticket_owners(self)
        reused = rate_limits.capped_ticket(self, owners)
        if reused is not None:
            self.audit("escalation", "capped", reason=reason, ticket=reused)
            return reused
        escalation = Escalation(
            reason=reason, channel=self.key.channel,
            domain=str(self.data.get("domain", self.settings.default_domain)),
            username=str(self.data.get("who_known", "")), passed=passed, failed=failed,
            language=self.session.language, contact=self.key.sender, created_at=self.now,
            extra=extra)
        ticket = self.services.escalations.raise_escalation(escalation)
        rate_limits.remember_ticket(self, owners, ticket)
        self.audit("escalation", "raised", reason=reason, ticket=ticket)
        return ticket

    def login_notes(self) -> tuple[Message, ...]:
        """Where several domains are configured, how to name one (issue 12: nobody could
        guess that ``PARTNERS\\jdoe`` works). Nothing to say with a single domain."""
        default = self.settings.default_domain
        others = sorted(d for d in self.services.directories if d != default)
        if not others:
            return ()
        return (Message.of("proof.domains_hint", example=f"{others[0]}\\jdoe",
                           domains=", ".join([default, *others]), default=default),)

    def contact_params(self) -> dict[str, ParamValue]:
        """Whom to contact, with the operator's texts in this conversation's language."""
        return self.settings.contact.in_language(self.session.language).params()

    def account(self) -> Account | None:
        """This conversation's account, read from the directory once per turn.

        Read fresh each turn (state may change between messages), but only once: every
        write re-reads what it needs itself (``LdapDirectory.refresh``).
        """
        dn = str(self.data.get("dn", ""))
        if self._account is not None and self._account.dn == dn:
            return self._account
        directory = self.directory(str(self.data.get("domain", "")))
        if not dn or directory is None:
            return None
        found = directory.find_account(str(self.data.get("login", "")))
        self._account = found if found is not None and found.dn == dn else None
        return self._account

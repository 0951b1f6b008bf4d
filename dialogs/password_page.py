"""The secure password page's logic: a single-use link opens it, the same rules as the chat.

The web layer (Flask, in ``bot/``) renders and protects the form (CSRF, no caching); this
module decides. A link is consumed atomically on submit and given back only when the
attempt may be retried (the directory refused the new password, or a wrong current password
within the budget), so it can be retried until it expires, never used twice.

What the page asks for follows the link's ``purpose`` (``LinkGrant``), so no password is
ever typed into an SMS (DESIGN.md 2):

- ``reset`` (forgot: identity already proven): new password and confirmation;
- ``change``: the current password, then the new one and its confirmation: the person's own
  change, as the chat's change flow does it;
- ``enrol_sign_in``: the current password only; a good one marks the SMS conversation that
  asked for the link as signed in (``SignIns``), and the enrolment continues there.

Every current password is checked by a bind that first takes a guess from the account's
budget (``PasswordGuesses``), shared with the chat and every channel, so the page can never
be used to lock an account or to guess past the budget, whatever link or spelling is used.
A link for a login the directory does not know asks the same and answers every password like
a wrong one, within a budget of its own of the same size (DESIGN.md 5.2, 5.3).
"""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.actions import Action
from dialogs.directory_port import (
    Account,
    AccountDisabled,
    AccountLocked,
    AccountProtected,
    BindOutcome,
    Directory,
    DirectoryUnavailable,
    InvalidCredentials,
    PasswordExpired,
    PasswordRejected,
)
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.events import ConversationKey
from dialogs.flows.common import other_channel_notices
from dialogs.messages import Message
from dialogs.password_guesses import password_guesses
from dialogs.password_quality import (
    PasswordVerdict,
    assess_password,
    confirm_matches,
    rules_summary,
)
from dialogs.ports import Escalation, LinkGrant, LinkPurpose, PasswordLinks
from dialogs.sealing import Sealer
from dialogs.steps.new_password import breach_problems
from dialogs.steps.password_link import UNKNOWN_LOGIN_MARK
from dialogs.turn import Services

# What each purpose asks for: the current password, a new one (with rules and meter).
ASKS_CURRENT: frozenset[LinkPurpose] = frozenset({"change", "enrol_sign_in"})
ASKS_NEW: frozenset[LinkPurpose] = frozenset({"reset", "change"})


@dataclass(frozen=True)
class PageView:
    """What the page shows when opened: the rules, in the person's language."""

    valid: bool
    language: str = "en"
    rules: tuple[Message, ...] = ()
    personal_words: tuple[str, ...] = ()
    purpose: LinkPurpose = "reset"

    @property
    def asks_current(self) -> bool:
        return self.purpose in ASKS_CURRENT

    @property
    def asks_new(self) -> bool:
        return self.purpose in ASKS_NEW


@dataclass(frozen=True)
class PageResult:
    """``done``: the password was set (or, for a sign-in link, the person signed in).
    ``stopped``: the link is used up and the page says why (``problems[0]``), e.g. the
    budget of guesses is spent: contact the help desk."""

    done: bool
    problems: tuple[Message, ...] = ()
    link_gone: bool = False
    language: str = "en"
    notices: tuple[Action, ...] = ()
    purpose: LinkPurpose = "reset"
    stopped: bool = False


class PasswordPage:
    def __init__(self, services: Services) -> None:
        self.services = services
        settings = services.settings
        self._sealer = Sealer(settings.secret_key)
        self._guesses = password_guesses(services)

    def open(self, token: str) -> PageView:
        grant = self._links().peek(token) if token else None
        if grant is None:
            return PageView(valid=False)
        asks_new = grant.purpose in ASKS_NEW
        return PageView(valid=True, language=grant.language, purpose=grant.purpose,
                        rules=rules_summary(self.services.settings.password_rules)
                        if asks_new else (),
                        personal_words=self._personal_words(grant) if asks_new else ())

    def rate(self, token: str, password: str) -> PasswordVerdict | None:
        """The live strength meter; only for a live link, so it is no open zxcvbn service."""
        grant = self._links().peek(token) if token else None
        if grant is None or grant.purpose not in ASKS_NEW:
            return None
        return assess_password(password, self.services.settings.password_rules,
                               user_inputs=self._personal_words(grant))

    def submit(self, token: str, password: str, confirm: str, current: str = "") -> PageResult:
        links = self._links()
        grant = links.peek(token) if token else None
        if grant is None:
            return PageResult(done=False, link_gone=True)
        if grant.purpose in ASKS_CURRENT and not current:
            return self._problem(grant, Message.of("web.form.current_required"))
        if grant.purpose in ASKS_NEW:
            # The new password is judged before any bind: a weak one costs no guess.
            verdict = assess_password(password, self.services.settings.password_rules,
                                      user_inputs=self._personal_words(grant))
            if not verdict.ok:
                return PageResult(done=False, problems=verdict.problems,
                                  language=grant.language, purpose=grant.purpose)
            if not confirm_matches(password, confirm):
                return self._problem(grant, Message.of("password.mismatch"))
            breached = breach_problems(self.services, password)
            if breached:
                return PageResult(done=False, problems=breached,
                                  language=grant.language, purpose=grant.purpose)
        taken = links.consume(token)
        if taken is None:
            return PageResult(done=False, link_gone=True)
        if taken.purpose == "change":
            return self._change(token, taken, current, password)
        if taken.purpose == "enrol_sign_in":
            return self._sign_in(token, taken, current)
        return self._apply(token, taken, password)

    # -- reset (forgot) ----------------------------------------------------------------------

    def _apply(self, token: str, grant: LinkGrant, password: str) -> PageResult:
        """One read and one write (issue 13): ``reset_password`` re-reads the entry at the
        grant's DN, refuses it if it is another account (stable id), protected, disabled or
        locked by an administrator since the proof, and returns what it read."""
        directory = self.services.directories.get(grant.domain)
        account = self._granted_account(directory, grant)
        if directory is None or account is None:
            return PageResult(done=False, link_gone=True)
        try:
            account = directory.reset_password(account, password, must_change=False)
        except InvalidCredentials:
            self._audit(grant, "account_gone")
            return PageResult(done=False, link_gone=True, language=grant.language)
        except AccountDisabled:
            self._audit(grant, "refused_disabled")
            return PageResult(done=False, link_gone=True, language=grant.language)
        except PasswordRejected as error:
            self._links().restore(token, grant)
            self._audit(grant, "rejected", reason=error.reason)
            return self._problem(grant, Message.of(f"password.rejected.{error.reason}"))
        except AccountProtected:
            self._audit(grant, "refused_protected")
            return PageResult(done=False, link_gone=True, language=grant.language)
        except DirectoryUnavailable:
            self._links().restore(token, grant)
            raise
        self._audit(grant, "ok")
        return PageResult(done=True, language=grant.language,
                          notices=self._notices(grant, account, "notice.password_reset"))

    @staticmethod
    def _granted_account(directory: Directory | None, grant: LinkGrant) -> Account | None:
        """The account the grant names, without a read; a grant issued before it carried the
        stable id is checked by a search, as it used to be."""
        if directory is None or not grant.dn:
            return None
        if grant.uid:
            return Account(dn=grant.dn, username=grant.login, domain=grant.domain,
                           uid=grant.uid)
        found = directory.find_account(grant.login)
        return found if found is not None and found.dn == grant.dn else None

    # -- change and sign-in: the current password first ----------------------------------------

    def _change(self, token: str, grant: LinkGrant, current: str, password: str) -> PageResult:
        checked = self._check_current(token, grant, current)
        if isinstance(checked, PageResult):
            return checked
        directory, account, _outcome = checked
        try:
            directory.change_password(account, current, password)
        except PasswordRejected as error:
            self._links().restore(token, grant)
            self._audit(grant, "rejected", reason=error.reason)
            return self._problem(grant, Message.of(f"password.rejected.{error.reason}"))
        except (InvalidCredentials, AccountLocked):
            # The password bound a moment ago; refused now (changed meanwhile): start again.
            self._audit(grant, "failed")
            return self._stop(grant, Message.of("change.cannot_sign_in"))
        except DirectoryUnavailable:
            self._links().restore(token, grant)
            raise
        self._audit(grant, "ok")
        return PageResult(done=True, language=grant.language, purpose=grant.purpose,
                          notices=self._notices(grant, account, "notice.password_changed"))

    def _sign_in(self, token: str, grant: LinkGrant, current: str) -> PageResult:
        sign_ins = self.services.sign_ins
        if sign_ins is None:
            self._links().restore(token, grant)
            raise DirectoryUnavailable("sign-ins are not configured")
        checked = self._check_current(token, grant, current)
        if isinstance(checked, PageResult):
            return checked
        _directory, account, outcome = checked
        if outcome is BindOutcome.MUST_CHANGE:
            self._audit(grant, "must_change")
            return self._stop(grant, Message.of("enrol.change_first"))
        conversation = str(ConversationKey(grant.channel, grant.sender))
        sign_ins.mark(conversation, account.dn, self.services.settings.link_ttl_seconds)
        self._audit(grant, "ok")
        return PageResult(done=True, language=grant.language, purpose=grant.purpose)

    def _check_current(self, token: str, grant: LinkGrant,
                       current: str) -> tuple[Directory, Account, BindOutcome] | PageResult:
        """Bind with ``current`` within the account's budget; a page to show if it fails.

        The link was consumed by the caller; it is given back only while another try is
        allowed, so the last allowed wrong password also ends the link.
        """
        directory = self.services.directories.get(grant.domain)
        if directory is None:
            return PageResult(done=False, link_gone=True)
        if not grant.dn:
            return self._unknown_login(token, grant)
        account = directory.find_account(grant.login)
        if account is None or account.dn != grant.dn:
            return PageResult(done=False, link_gone=True)
        if not self._guesses.reserve(account):
            self._audit(grant, "throttled")
            return self._stop(grant, self._too_many())
        try:
            outcome = directory.verify_password(account, current)
        except (InvalidCredentials, AccountLocked):
            self._audit(grant, "failed")
            if self._guesses.spent(directory.refresh(account)):
                return self._stop(grant, self._too_many())
            self._links().restore(token, grant)
            return self._problem(grant, Message.of("change.cannot_sign_in"))
        except PasswordExpired:
            self._audit(grant, "expired")
            return self._stop(grant, self._expired(grant, account))
        except AccountDisabled:
            self._audit(grant, "disabled")
            return self._stop(grant, Message.of("selfservice.disabled",
                                                **self.services.settings.contact.params()))
        except DirectoryUnavailable:
            self._links().restore(token, grant)
            raise
        self._guesses.succeeded(account)
        return directory, account, outcome

    def _unknown_login(self, token: str, grant: LinkGrant) -> PageResult:
        """No bind, but the same pages after the same number of tries as a real account.

        Keyed as the chat keys an unknown login (``dialogs.steps.sign_in``), so chat, page
        and every link for that login share one budget. The grant holds only that keyed
        digest, never the login typed (it may have been a password typed too early).
        """
        settings = self.services.settings
        key = "bind:" + grant.login.removeprefix(UNKNOWN_LOGIN_MARK)
        tries = self.services.counters.increment(key, settings.failure_window_seconds)
        self._audit(grant, "failed" if tries <= settings.bind_failure_limit else "throttled")
        if tries >= settings.bind_failure_limit:
            return self._stop(grant, self._too_many())
        self._links().restore(token, grant)
        return self._problem(grant, Message.of("change.cannot_sign_in"))

    # -- shared --------------------------------------------------------------------------------

    def _too_many(self) -> Message:
        return Message.of("change.too_many", **self.services.settings.contact.params())

    @staticmethod
    def _problem(grant: LinkGrant, problem: Message) -> PageResult:
        return PageResult(done=False, problems=(problem,), language=grant.language,
                          purpose=grant.purpose)

    @staticmethod
    def _stop(grant: LinkGrant, reason: Message) -> PageResult:
        return PageResult(done=False, problems=(reason,), language=grant.language,
                          purpose=grant.purpose, stopped=True)

    def _notices(self, grant: LinkGrant, account: Account,
                 message_id: str) -> tuple[Action, ...]:
        # The link came by SMS to grant.sender; every other bound channel hears about it.
        return tuple(other_channel_notices(account, ("web", grant.sender), message_id))

    def _personal_words(self, grant: LinkGrant) -> tuple[str, ...]:
        """Carried in the grant (issue 13: the page read the account on every open, meter
        and submit). An unknown login's grant carries none and reads nothing either, so
        the page costs the same for both (DESIGN.md 5.2)."""
        if grant.personal_words:
            return tuple(str(word) for word in grant.personal_words)
        if grant.login.startswith(UNKNOWN_LOGIN_MARK):
            return (grant.login,)
        directory = self.services.directories.get(grant.domain)
        account = directory.find_account(grant.login) if directory is not None else None
        return account.personal_words if account is not None else (grant.login,)

    def _links(self) -> PasswordLinks:
        links = self.services.password_links
        if links is None:
            raise DirectoryUnavailable("password links are not configured")
        return links

    def _expired(self, grant: LinkGrant, account: Account) -> Message:
        """As in the chat (``sign_in._expired``): "I forgot my password" needs an enrolment, so
        a person who never enrolled gets a ticket and the help desk, not a dead end."""
        record = EnrolmentRecord.from_json(account.enrolment)
        if record is not None and len(record.questions) >= self.services.settings.questions_asked:
            return Message.of("change.expired")
        contact = self.services.settings.contact.in_language(grant.language).params()
        ticket = self.services.escalations.raise_escalation(Escalation(
            reason="expired_not_enrolled", channel=grant.channel, domain=grant.domain,
            username=account.username, language=grant.language, contact=grant.sender,
            created_at=self.services.clock.now()))
        return Message.of("change.expired_not_enrolled", ticket=ticket, **contact)

    def _audit(self, grant: LinkGrant, result: str, **fields: str | int | bool) -> None:
        event = {"reset": "reset", "change": "change",
                 "enrol_sign_in": "enrol.password"}[grant.purpose]
        # The page finishes a conversation begun on grant.channel: counted there (issue 16).
        self.services.audit.record(event, result=result, channel=grant.channel,
                                   who=f"{grant.domain}\\{grant.login}", via="password_link",
                                   **fields)


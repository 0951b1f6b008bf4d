"""Shared steps for the flows that start from the current password (change, enrol).

The password is checked by a bind, so wrong guesses count against the directory's own
lockout: ``dialogs.password_guesses`` decides whether a guess may be sent at all, so the bot
can never be used to lock someone out (DESIGN.md 5.3).
"""

from __future__ import annotations

from dialogs.directory_port import (
    Account,
    AccountDisabled,
    AccountLocked,
    BindOutcome,
    InvalidCredentials,
    PasswordExpired,
)
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.flow import END, SAME
from dialogs.password_guesses import password_guesses
from dialogs.steps.identify import audit_identity, normalised_login, split_login
from dialogs.turn import Turn


def take_login(turn: Turn, password_state: str) -> str:
    """Remember who the person says they are; then the captcha, then ``password_state``."""
    domain, login = split_login(turn.text, turn.settings.default_domain)
    if not login:
        turn.say("proof.username_invalid")
        return SAME
    directory = turn.directory(domain)
    account = directory.find_account(login) if directory is not None else None
    # A login that matched nothing is kept only as the key of its budget: it may be a
    # password typed one prompt too early, and the session sits in Redis.
    turn.data.update(domain=domain, who=audit_identity(turn, domain, login, account),
                     login=login if account is not None else "",
                     unknown_key="" if account is not None else unknown_login_key(
                         turn, domain, login))
    if turn.settings.channel(turn.key.channel).captcha:
        turn.data["after_captcha"] = password_state
        return "proof:captcha"
    return password_state


def unknown_login_key(turn: Turn, domain: str, login: str) -> str:
    """The guess budget of a login that names no account (chat and password page share it)."""
    return turn.sealer.keyed_digest("bind-unknown", domain, normalised_login(login))


def check_current_password(turn: Turn, audit_event: str) -> tuple[Account, BindOutcome] | str:
    """The account and the bind's outcome, or the next state when the check did not pass.

    The guess is taken from the *account's* budget before the bind (``PasswordGuesses``), so
    no spelling of the login, no parallel conversation and no other channel gets more binds.
    An unknown login spends a budget of its own, so it ends the same way as a real account.
    """
    turn.forget_secret_message()
    directory = turn.directory(str(turn.data["domain"]))
    login = str(turn.data.get("login", ""))
    account = directory.find_account(login) if directory and login else None
    if account is None or directory is None:
        return _unknown_login(turn, audit_event)
    guesses = password_guesses(turn.services)
    if not guesses.reserve(account):
        turn.audit(audit_event, "throttled")
        turn.say("change.too_many", **turn.contact_params())
        return END
    try:
        outcome = directory.verify_password(account, turn.event.text)
    except (InvalidCredentials, AccountLocked):
        turn.audit(audit_event, "failed")
        turn.say("change.cannot_sign_in")
        return END if guesses.spent(directory.refresh(account)) else SAME
    except PasswordExpired:
        return _expired(turn, audit_event, account)
    except AccountDisabled:
        turn.audit(audit_event, "disabled")
        turn.say("selfservice.disabled", **turn.contact_params())
        return END
    guesses.succeeded(account)
    turn.data.update(dn=account.dn, who_known=account.username,
                     who=audit_identity(turn, account.domain, login, account))
    turn.audit(audit_event, "ok", must_change=outcome is BindOutcome.MUST_CHANGE)
    return account, outcome


def _expired(turn: Turn, audit_event: str, account: Account) -> str:
    """The right password, but expired: "I forgot my password" needs an enrolment, so a
    person who never enrolled is handed to the help desk instead of to a dead end (issue
    12). Telling them is no enumeration: only the account's own password gets here."""
    turn.audit(audit_event, "expired")
    record = EnrolmentRecord.from_json(account.enrolment)
    if record is not None and len(record.questions) >= turn.settings.questions_asked:
        turn.say("change.expired")
        return END
    turn.data["who_known"] = account.username
    ticket = turn.escalate("expired_not_enrolled")
    turn.say("change.expired_not_enrolled", ticket=ticket, **turn.contact_params())
    return END


def _unknown_login(turn: Turn, audit_event: str) -> str:
    """No bind, but the same replies and the same number of tries as a real account."""
    key = "bind:" + str(turn.data.get("unknown_key", ""))
    counters, limit = turn.services.counters, turn.settings.bind_failure_limit
    if counters.increment(key, turn.settings.failure_window_seconds) > limit:
        turn.audit(audit_event, "throttled")
        turn.say("change.too_many", **turn.contact_params())
        return END
    turn.audit(audit_event, "failed")
    turn.say("change.cannot_sign_in")
    return SAME if counters.count(key) < limit else END

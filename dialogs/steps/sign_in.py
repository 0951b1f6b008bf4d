"""Shared steps for the flows that start from the current password (change, enrol).

The password is checked by a bind, so wrong guesses count against the directory's own
lockout: the bot lets through at most ``bind_failure_limit`` wrong ones per account and
window, below any sane lockout threshold, so it can never be used to lock someone out
(DESIGN.md 5.3).
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
from dialogs.flow import END, SAME
from dialogs.steps.identify import account_counter, audit_identity, split_login
from dialogs.turn import Turn


def take_login(turn: Turn, password_state: str) -> str:
    """Remember who the person says they are; then the captcha, then ``password_state``."""
    domain, login = split_login(turn.text, turn.settings.default_domain)
    if not login:
        turn.say("proof.username_invalid")
        return SAME
    turn.data.update(domain=domain, login=login, who=audit_identity(turn, domain, login, None),
                     counter="bind" + account_counter(turn.sealer, domain, login))
    if turn.settings.channel(turn.key.channel).captcha:
        turn.data["after_captcha"] = password_state
        return "proof:captcha"
    return password_state


def check_current_password(turn: Turn, audit_event: str) -> tuple[Account, BindOutcome] | str:
    """The account and the bind's outcome, or the next state when the check did not pass."""
    turn.forget_secret_message()
    counter, counters = str(turn.data["counter"]), turn.services.counters
    if counters.count(counter) >= turn.settings.bind_failure_limit:
        turn.say("change.too_many", **turn.contact_params())
        return END
    directory = turn.directory(str(turn.data["domain"]))
    login = str(turn.data["login"])
    account = directory.find_account(login) if directory else None
    try:
        if account is None or directory is None:
            raise InvalidCredentials("unknown account")
        outcome = directory.verify_password(account, turn.event.text)
    except (InvalidCredentials, AccountLocked):
        counters.increment(counter, turn.settings.failure_window_seconds)
        turn.audit(audit_event, "failed")
        turn.say("change.cannot_sign_in")
        return SAME if counters.count(counter) < turn.settings.bind_failure_limit else END
    except PasswordExpired:
        turn.audit(audit_event, "expired")
        turn.say("change.expired")
        return END
    except AccountDisabled:
        turn.audit(audit_event, "disabled")
        turn.say("selfservice.disabled", **turn.contact_params())
        return END
    turn.data.update(dn=account.dn, who_known=account.username,
                     who=audit_identity(turn, account.domain, login, account))
    turn.audit(audit_event, "ok", must_change=outcome is BindOutcome.MUST_CHANGE)
    return account, outcome

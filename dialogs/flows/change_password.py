"""Change password: username + current password -> new password (rules, strength, confirm).

A temporary password that must be changed is changed here. The current password is checked
by a bind, so wrong guesses count against the directory's own lockout: the bot lets through
at most ``bind_failure_limit`` wrong ones per account and window, below any sane lockout
threshold, so it can never be used to lock someone out (DESIGN.md 5.3).
"""

from __future__ import annotations

from dialogs.directory_port import (
    AccountDisabled,
    AccountLocked,
    BindOutcome,
    InvalidCredentials,
    PasswordExpired,
    PasswordRejected,
)
from dialogs.flow import END, SAME, State, automatic
from dialogs.flows.common import start_flow
from dialogs.steps.identify import account_counter, split_login
from dialogs.steps.new_password import explain_rejection, new_password, start_new_password
from dialogs.turn import Turn

SEALED_OLD = "sealed_old"


def begin(turn: Turn) -> str:
    if not start_flow(turn, "change"):
        return END
    return "change:username"


def prompt_username(turn: Turn) -> None:
    turn.ask("change.ask_username", countdown=True)


def receive_username(turn: Turn) -> str:
    domain, login = split_login(turn.text, turn.settings.default_domain)
    if not login:
        turn.say("proof.username_invalid")
        return SAME
    turn.data.update(domain=domain, login=login, who=f"{domain}\\{login}",
                     counter="bind" + account_counter(turn, domain, login))
    if turn.settings.channel(turn.key.channel).captcha:
        turn.data["after_captcha"] = "change:current"
        return "proof:captcha"
    return "change:current"


def prompt_current(turn: Turn) -> None:
    turn.ask("change.ask_current", secret_input=True, countdown=True)


def receive_current(turn: Turn) -> str:
    turn.forget_secret_message()
    counter = str(turn.data["counter"])
    counters = turn.services.counters
    if counters.count(counter) >= turn.settings.bind_failure_limit:
        turn.say("change.too_many", **turn.contact_params())
        return END
    directory = turn.directory(str(turn.data["domain"]))
    account = directory.find_account(str(turn.data["login"])) if directory else None
    try:
        if account is None or directory is None:
            raise InvalidCredentials("unknown account")
        outcome = directory.verify_password(account, turn.event.text)
    except (InvalidCredentials, AccountLocked):
        counters.increment(counter, turn.settings.failure_window_seconds)
        turn.audit("change.current_password", "failed")
        turn.say("change.cannot_sign_in")
        return SAME if counters.count(counter) < turn.settings.bind_failure_limit else END
    except PasswordExpired:
        turn.say("change.expired")
        return END
    except AccountDisabled:
        turn.audit("change.current_password", "disabled")
        turn.say("selfservice.disabled", **turn.contact_params())
        return END
    turn.audit("change.current_password", "ok", must_change=outcome is BindOutcome.MUST_CHANGE)
    turn.data.update(dn=account.dn, who_known=account.username,
                     **{SEALED_OLD: turn.sealer.seal(turn.conversation, turn.event.text)})
    turn.session.deadline = turn.now + turn.settings.time_allotment_seconds
    return start_new_password(turn, "change:apply", account.personal_words)


def apply(turn: Turn) -> str:
    account = turn.account()
    directory = turn.directory(account.domain) if account is not None else None
    old = turn.sealer.open(turn.conversation, str(turn.data.get(SEALED_OLD, "")))
    new = new_password(turn)
    if account is None or directory is None or old is None or new is None:
        turn.say("service.unavailable", **turn.contact_params())
        return END
    try:
        directory.change_password(account, old, new)
    except PasswordRejected as error:
        return explain_rejection(turn, error)
    except InvalidCredentials:
        turn.say("change.cannot_sign_in")
        return END
    turn.data.pop(SEALED_OLD, None)
    turn.audit("change", "ok")
    turn.say("change.done")
    return END


STATES = (
    automatic("change:begin", begin, ("change:username", END)),
    State("change:username", prompt_username, receive_username,
          ("proof:captcha", "change:current", SAME), countdown=True),
    State("change:current", prompt_current, receive_current, ("password:new", SAME, END),
          countdown=True),
    automatic("change:apply", apply, ("password:new", END)),
)

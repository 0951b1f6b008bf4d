"""Change password: username + current password -> new password (rules, strength, confirm).

A temporary password that must be changed is changed here. The current password is checked
by a bind, so wrong guesses count against the directory's own lockout: the bot lets through
at most ``bind_failure_limit`` wrong ones per account and window, below any sane lockout
threshold, so it can never be used to lock someone out (DESIGN.md 5.3).

No password is ever typed into an SMS: there, after the username and the captcha, the reply
is a single-use link to the password page in its "change" mode (current, new, confirmation),
which spends the same per-account budget of guesses. Voice has no such page and is told to
use SMS or Telegram (``dialogs.steps.password_link``).
"""

from __future__ import annotations

from dialogs.directory_port import (
    InvalidCredentials,
    PasswordRejected,
)
from dialogs.flow import END, SAME, State, automatic
from dialogs.flows.common import notify_other_channels, start_flow
from dialogs.steps.new_password import explain_rejection, new_password, start_new_password
from dialogs.steps.password_link import link_possible, looked_up, password_typed_here, send_link
from dialogs.steps.sign_in import check_current_password, take_login
from dialogs.turn import Turn

SEALED_OLD = "sealed_old"


def begin(turn: Turn) -> str:
    if not password_typed_here(turn) and not link_possible(turn):
        return refuse_here(turn)  # before the caller spends time on a username and captcha
    if not start_flow(turn, "change"):
        return END
    return "change:username"


def refuse_here(turn: Turn) -> str:
    turn.audit("change", "refused_channel")
    turn.say("change.other_channel", **turn.contact_params())
    return END


def prompt_username(turn: Turn) -> None:
    turn.ask("change.ask_username", countdown=True, notes=turn.login_notes())


def receive_username(turn: Turn) -> str:
    return take_login(turn, "change:current")


def prompt_current(turn: Turn) -> str | None:
    if not password_typed_here(turn):
        return "change:link" if link_possible(turn) else refuse_here(turn)
    turn.ask("change.ask_current", secret_input=True, countdown=True)
    return None


def receive_current(turn: Turn) -> str:
    if not password_typed_here(turn):  # a session from before links: never bind what SMS took
        return "change:link" if link_possible(turn) else refuse_here(turn)
    checked = check_current_password(turn, "change.current_password")
    if isinstance(checked, str):
        return checked
    account, _outcome = checked  # a temporary (must-change) password is changed right here
    turn.data[SEALED_OLD] = turn.sealer.seal(turn.conversation, turn.event.text)
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
    # As after a reset (and as the password page does): whoever holds the other bound
    # channels hears of it, so a change they did not make does not go unnoticed (issue 12).
    notify_other_channels(turn, account, "notice.password_changed")
    return END


def link(turn: Turn) -> str:
    """SMS: the current and the new password go to the page, never into a text message."""
    if not send_link(turn, "change", "change.link", looked_up(turn)):
        return refuse_here(turn)
    return END


STATES = (
    automatic("change:begin", begin, ("change:username", END)),
    State("change:username", prompt_username, receive_username,
          ("proof:captcha", "change:current", SAME), countdown=True),
    State("change:current", prompt_current, receive_current,
          ("password:new", "change:link", SAME, END), countdown=True),
    automatic("change:link", link, (END,)),
    automatic("change:apply", apply, ("password:new", END)),
)

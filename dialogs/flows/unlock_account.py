"""Unlock account: identity proof -> the real lock state read -> lockout cleared.

The password is not touched. The lock state is read only after the proof, so it cannot be
used to learn whether an account exists or is locked (DESIGN.md 5.2).
"""

from __future__ import annotations

from dialogs.actions import Choice
from dialogs.directory_port import AccountProtected
from dialogs.flow import END, SAME, State, automatic
from dialogs.flows.common import notify_other_channels, refuse_protected, start_proof
from dialogs.messages import Message
from dialogs.turn import Turn


def begin(turn: Turn) -> str:
    return start_proof(turn, "unlock", after="unlock:after_proof")


def after_proof(turn: Turn) -> str:
    account = turn.account()
    directory = turn.directory(account.domain) if account is not None else None
    if account is None or directory is None or account.protected or account.disabled:
        return refuse_protected(turn)
    if account.lock == "unlocked":
        if account.expired or account.must_change:
            return "unlock:offer_reset"
        turn.audit("unlock", "not_locked")
        turn.say("unlock.not_locked")
        return END
    try:
        directory.unlock(account)
    except AccountProtected:
        return refuse_protected(turn)
    turn.audit("unlock", "ok")
    turn.say("unlock.done")
    notify_other_channels(turn, account, "notice.account_unlocked")
    return END


def prompt_offer(turn: Turn) -> None:
    turn.ask("unlock.offer_reset", choices=(Choice("yes", Message.of("common.yes")),
                                            Choice("no", Message.of("common.no"))))


def receive_offer(turn: Turn) -> str:
    answer = turn.text.casefold()
    if answer in ("yes", "oui", "y", "o", "1"):
        turn.data["after_proof"] = "forgot:after_proof"
        return "forgot:after_proof"
    if answer in ("no", "non", "n", "2"):
        turn.say("common.goodbye")
        return END
    return SAME


STATES = (
    automatic("unlock:begin", begin, ("proof:username", END)),
    automatic("unlock:after_proof", after_proof, ("unlock:offer_reset", END)),
    State("unlock:offer_reset", prompt_offer, receive_offer, ("forgot:after_proof", SAME, END),
          takes_choice=True),
)

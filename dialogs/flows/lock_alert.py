"""Answers to what the assistant said first (issue 15): opt-out words and HELP after a lock.

``UNLOCK`` and ``CHANGE`` need nothing here: they are menu words, so a reply to an alert starts
the normal unlock or change flow with its identity proof, like any first message. What is
special: ``STOP`` / ``START`` (SMS) and ``alerts off`` / ``alerts on`` (Telegram) switch
unsolicited messages off and on for this address, and ``HELP`` sent by an address that got a
lock alert within a day opens a ticket saying the lock may be an attack (someone else guessing
the password), instead of the usual help text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.alerts import (
    OPT_IN_HINT,
    OPT_OUT_HINT,
    AlertControl,
    SentAlert,
    destinations,
    is_help_word,
    opt_word,
)
from dialogs.turn import Turn


def answered(turn: Turn, control: AlertControl, *, fresh: bool) -> bool:
    """Handle ``turn`` if it answers an alert or switches alerts; True when handled.

    ``fresh``: no conversation is running (a running one keeps its own ``help``).
    """
    if turn.event.kind != "text":
        return False
    choice = opt_word(turn.key.channel, turn.text)
    if choice is not None:
        _switch(turn, control, choice, running=not fresh and turn.session.state != "menu:choose")
        return True
    if fresh and is_help_word(turn.text):
        return _help_after_lock(turn, control)
    return False


def _switch(turn: Turn, control: AlertControl, choice: str, *, running: bool) -> None:
    control.set_opted_out(turn.key.channel, turn.key.sender, choice == "out")
    turn.audit("alerts", "opted_out" if choice == "out" else "opted_in")
    if running:  # STOP always ended a conversation; it still does
        turn.say("common.cancelled")
    if choice == "out":
        turn.say("alert.opted_out", word=OPT_IN_HINT.get(turn.key.channel, ""))
    else:
        turn.say("alert.opted_in", word=OPT_OUT_HINT.get(turn.key.channel, ""))
    turn.end()


def _help_after_lock(turn: Turn, control: AlertControl) -> bool:
    sent = control.recent(turn.key.channel, turn.key.sender)
    if sent is None or sent.kind != "lock" or not _still_bound(turn, sent):
        return False
    turn.data.update(domain=sent.domain, who_known=sent.username)
    locked_at = datetime.fromtimestamp(sent.at, tz=UTC).isoformat(timespec="seconds")
    ticket = turn.escalate("lock_may_be_attack", extra=(("locked_at", locked_at),))
    turn.say("alert.help_raised", ticket=ticket, **turn.contact_params())
    turn.end()
    return True


def _still_bound(turn: Turn, sent: SentAlert) -> bool:
    """The sender is still one of the account's bound channels: a number moved away from the
    account since its alert (a lost phone, a number given to someone else) raises no ticket
    in the account's name (tests/adversarial/test_only_the_alerted_number_answers_an_alert.py)."""
    directory = turn.directory(sent.domain)
    account = directory.find_account(sent.username) if directory is not None else None
    return account is not None and (turn.key.channel, turn.key.sender) in destinations(account)

"""The main menu, the language choice and the hand-over to the help desk.

The hand-over asks the person, in one line, what the problem is (issue 12: agents used to get
a ticket saying only "requested by person"), then raises the ticket with that line. It is no
secret prompt, but people do type passwords anywhere: the line is never logged or audited,
never kept in the session (asked and used within one turn), only carried by the escalation to
the agents. A call is transferred at once: a caller is not asked to speak the problem.
"""

from __future__ import annotations

import unicodedata

from dialogs.actions import Choice, TransferToHelpdesk
from dialogs.flow import ANY, END, SAME, State
from dialogs.messages import Message
from dialogs.turn import Turn

MENU = (
    ("forgot", "menu.forgot", "forgot:begin"),
    ("unlock", "menu.unlock", "unlock:begin"),
    ("change", "menu.change", "change:begin"),
    ("enrol", "menu.enrol", "enrol:begin"),
    ("helpdesk", "menu.helpdesk", "helpdesk:escalate"),
    ("language", "menu.language", "language:choose"),
)
# Words a person may type instead of picking from the menu.
ALIASES = {
    "reset": "forgot", "password": "forgot", "oublie": "forgot", "oublié": "forgot",
    "deverrouiller": "unlock", "déverrouiller": "unlock", "changer": "change",
    "enroll": "enrol", "inscription": "enrol", "agent": "helpdesk", "human": "helpdesk",
    "humain": "helpdesk", "langue": "language",
}
LANGUAGE_NAMES = {"en": "language.en", "fr": "language.fr"}
# Where the hand-over is a live transfer (a call is put through to the help desk's number);
# elsewhere it is a ticket the agents pick up, and the person is told so in words.
LIVE_TRANSFER_CHANNELS = ("voice",)
PROBLEM_MAX = 300
SKIP_WORDS = ("skip", "passer")


def is_menu_word(text: str) -> bool:
    return menu_entry(text) is not None


def menu_entry(text: str) -> str | None:
    """The menu entry ``text`` names: its id, a word for it, or its number in the menu
    (``5``: a person replies to the menu they saw last, even once that conversation ended)."""
    typed = text.strip().casefold()
    if typed.isascii() and typed.isdecimal() and 1 <= int(typed) <= len(MENU):
        return MENU[int(typed) - 1][0]
    wanted = ALIASES.get(typed, typed)
    return next((choice_id for choice_id, _l, _t in MENU if choice_id == wanted), None)


def enter_entry(turn: Turn, choice_id: str) -> str:
    """The state that menu entry ``choice_id`` starts."""
    if choice_id == "language":
        turn.data["return_to"] = "menu:choose"
    return next(target for cid, _label, target in MENU if cid == choice_id)


def prompt_menu(turn: Turn) -> None:
    turn.session.deadline = 0.0
    turn.ask("menu.prompt", expect="choice",
             choices=tuple(Choice(cid, Message.of(label)) for cid, label, _ in MENU))


def receive_menu(turn: Turn) -> str:
    entry = menu_entry(turn.text)
    if entry is not None:
        return enter_entry(turn, entry)
    turn.say("menu.unknown")
    return SAME


def prompt_language(turn: Turn) -> None:
    turn.ask("language.prompt", expect="choice", choices=tuple(
        Choice(code, Message.of(LANGUAGE_NAMES.get(code, code)))
        for code in turn.settings.languages))


def receive_language(turn: Turn) -> str:
    code = turn.text.casefold()[:2]
    if code not in turn.settings.languages:
        turn.say("menu.unknown")
        return SAME
    turn.choose_language(code)  # remembered for this sender's next conversations
    turn.say("language.changed", language=code)
    return str(turn.data.pop("return_to", "menu:choose"))


def ask_problem(turn: Turn) -> str | None:
    """On request: ask what the problem is, except on a call (transferred at once)."""
    if turn.key.channel in LIVE_TRANSFER_CHANNELS:
        return escalate(turn, "")
    turn.ask("helpdesk.ask_problem")
    return None


def receive_problem(turn: Turn) -> str:
    text = turn.text
    return escalate(turn, "" if text.casefold() in SKIP_WORDS else one_line(text))


def escalate(turn: Turn, problem: str) -> str:
    """The help desk gets a ticket; the person is told it once, in this channel's way: a
    call hears the transfer (and is put through), a text channel reads the hand-over."""
    extra = (("problem", problem),) if problem else ()
    ticket = turn.escalate("requested_by_person", passed=_passed(turn), extra=extra)
    if turn.key.channel in LIVE_TRANSFER_CHANNELS:
        turn.actions.append(TransferToHelpdesk(ticket))
    else:
        turn.say("helpdesk.handover", ticket=ticket, **turn.contact_params())
    return END


def one_line(text: str) -> str:
    """One line of at most ``PROBLEM_MAX`` characters, without control or format characters
    (a newline, an escape sequence, a right-to-left override must not reshape the agents'
    page or anything that prints the ticket)."""
    kept = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text
                   if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn"))
    return " ".join(kept.split())[:PROBLEM_MAX].strip()


def _passed(turn: Turn) -> tuple[str, ...]:
    return ("identity_proof",) if turn.data.get("proven") else ()


STATES = (
    State("menu:choose", prompt_menu, receive_menu,
          ("forgot:begin", "unlock:begin", "change:begin", "enrol:begin",
           "helpdesk:escalate", "language:choose", SAME), takes_choice=True),
    State("language:choose", prompt_language, receive_language, (ANY, SAME),
          takes_choice=True),
    State("helpdesk:escalate", ask_problem, receive_problem, (END,)),
)

"""The main menu, the language choice and the hand-over to the help desk."""

from __future__ import annotations

from dialogs.actions import Choice, TransferToHelpdesk
from dialogs.flow import ANY, END, SAME, State, automatic
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


def is_menu_word(text: str) -> bool:
    wanted = ALIASES.get(text.casefold(), text.casefold())
    return any(wanted == choice_id for choice_id, _label, _target in MENU)


def prompt_menu(turn: Turn) -> None:
    turn.session.deadline = 0.0
    turn.ask("menu.prompt", expect="choice",
             choices=tuple(Choice(cid, Message.of(label)) for cid, label, _ in MENU))


def receive_menu(turn: Turn) -> str:
    wanted = ALIASES.get(turn.text.casefold(), turn.text.casefold())
    for choice_id, _label, target in MENU:
        if wanted == choice_id:
            if choice_id == "language":
                turn.data["return_to"] = "menu:choose"
            return target
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
    turn.set_language(code)
    turn.say("language.changed", language=code)
    return str(turn.data.pop("return_to", "menu:choose"))


def escalate(turn: Turn) -> str:
    """On request: the person is told whom to contact and the help desk gets a ticket."""
    ticket = turn.escalate("requested_by_person", passed=_passed(turn))
    turn.say("helpdesk.handover", ticket=ticket, **turn.contact_params())
    turn.actions.append(TransferToHelpdesk(ticket))
    return END


def _passed(turn: Turn) -> tuple[str, ...]:
    return ("identity_proof",) if turn.data.get("proven") else ()


STATES = (
    State("menu:choose", prompt_menu, receive_menu,
          ("forgot:begin", "unlock:begin", "change:begin", "enrol:begin",
           "helpdesk:escalate", "language:choose", SAME), takes_choice=True),
    State("language:choose", prompt_language, receive_language, (ANY, SAME),
          takes_choice=True),
    automatic("helpdesk:escalate", escalate, (END,)),
)

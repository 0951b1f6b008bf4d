"""Shared steps: choose a new password (rules shown, strength rated, confirmed).

The product's own checks run first (DESIGN.md 5.7: length, zxcvbn with the person's names and
the organisation's words); the directory's verdict comes when the password is applied, and a
refusal brings the person back here with the reason. Between typing and confirming, the
password is kept only sealed (``dialogs.sealing``).
"""

from __future__ import annotations

from dialogs.actions import Say
from dialogs.directory_port import PasswordRejected
from dialogs.flow import SAME, State
from dialogs.messages import Message
from dialogs.password_quality import assess_password, confirm_matches, rules_summary
from dialogs.turn import Services, Turn

SEALED_NEW = "sealed_new"


def personal_words(turn: Turn) -> tuple[str, ...]:
    return tuple(str(w) for w in turn.data.get("personal_words", []))


def prompt_new(turn: Turn) -> None:
    if not turn.data.get("rules_shown"):
        turn.actions.extend(Say(m) for m in rules_summary(turn.settings.password_rules))
        turn.data["rules_shown"] = True
    turn.ask("password.ask_new", secret_input=True)


def receive_new(turn: Turn) -> str:
    turn.forget_secret_message()
    password = turn.event.text
    verdict = assess_password(password, turn.settings.password_rules,
                              user_inputs=personal_words(turn))
    problems = verdict.problems if not verdict.ok else breach_problems(turn.services, password)
    if problems:
        turn.actions.extend(Say(problem) for problem in problems)
        return SAME
    turn.data[SEALED_NEW] = turn.sealer.seal(turn.conversation, password)
    return "password:confirm"


def breach_problems(services: Services, password: str) -> tuple[Message, ...]:
    """Asked only once the product's own checks pass: a weak password never leaves a trace."""
    checker = services.breached_passwords
    problem = checker.problem(password) if checker is not None else None
    return (problem,) if problem is not None else ()


def prompt_confirm(turn: Turn) -> None:
    turn.ask("password.ask_confirm", secret_input=True)


def receive_confirm(turn: Turn) -> str:
    turn.forget_secret_message()
    sealed = str(turn.data.get(SEALED_NEW, ""))
    first = turn.sealer.open(turn.conversation, sealed) if sealed else None
    if first is None or not confirm_matches(first, turn.event.text):
        turn.data.pop(SEALED_NEW, None)
        turn.say("password.mismatch")
        return "password:new"
    return str(turn.data.get("after_password"))


def new_password(turn: Turn) -> str | None:
    """The confirmed password, opened for the one step that applies it."""
    sealed = str(turn.data.pop(SEALED_NEW, ""))
    return turn.sealer.open(turn.conversation, sealed) if sealed else None


def explain_rejection(turn: Turn, error: PasswordRejected) -> str:
    """The directory refused: say why in plain words, and ask again."""
    turn.say(f"password.rejected.{error.reason}")
    turn.audit("password", "rejected", reason=error.reason)
    return "password:new"


def start_new_password(turn: Turn, after: str, words: tuple[str, ...]) -> str:
    """The proof (or the current password) passed: the password step gets its own clock, so
    thinking about a good password never costs the proof again (issue 12)."""
    turn.data.update(after_password=after, personal_words=list(words), rules_shown=False)
    turn.start_password_clock()
    return "password:new"


STATES = (
    State("password:new", prompt_new, receive_new, ("password:confirm", SAME)),
    State("password:confirm", prompt_confirm, receive_confirm,
          ("password:new", "forgot:apply", "change:apply")),
)

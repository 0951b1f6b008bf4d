"""Flows declared as states and transitions, apart from the engine that runs them.

A ``State`` has a ``prompt`` (run when the state is entered: it asks something, or returns
the next state at once for a step that needs no input) and a ``receive`` (run on the
person's input: it returns the next state). Every state declares where it may go, so a flow
can print its own transition table and the engine refuses an undeclared transition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from dialogs.turn import Turn

END = "end"  # the conversation is over
SAME = "same"  # stay here and prompt again
ANY = "*"  # may return to whichever state it was called from

Prompt = Callable[[Turn], str | None]
Receive = Callable[[Turn], str]


@dataclass(frozen=True)
class State:
    name: str
    prompt: Prompt
    receive: Receive
    goes_to: tuple[str, ...] = ()
    countdown: bool = False  # part of the timed identity proof
    takes_choice: bool = False  # offers choices; elsewhere a (stale) button press is no answer

    @property
    def flow(self) -> str:
        return self.name.split(":", 1)[0]


def _no_input(turn: Turn) -> str:
    raise RuntimeError("this state takes no input")


def automatic(name: str, run: Callable[[Turn], str], goes_to: Iterable[str]) -> State:
    """A state that does its work on entry and moves on without waiting for input."""
    return State(name, run, _no_input, tuple(goes_to))


class Flows:
    """The registry of every state of every flow."""

    def __init__(self) -> None:
        self._states: dict[str, State] = {}

    def add(self, *states: State) -> None:
        for state in states:
            if state.name in self._states:
                raise ValueError(f"state declared twice: {state.name}")
            self._states[state.name] = state

    def get(self, name: str) -> State:
        return self._states[name]

    def __contains__(self, name: object) -> bool:
        return name in self._states

    def names(self) -> tuple[str, ...]:
        return tuple(self._states)

    def check(self) -> None:
        """Every declared target exists: a typo in a flow fails at start, not mid-reset."""
        for state in self._states.values():
            for target in state.goes_to:
                if target not in (END, SAME, ANY) and target not in self._states:
                    raise ValueError(f"{state.name} goes to unknown state {target}")

    def table(self) -> str:
        """The transition table, one line per state (``sspm`` can print it for reviewers)."""
        lines = [f"{s.name:<28} -> {', '.join(s.goes_to) or '(input)'}"
                 for s in self._states.values()]
        return "\n".join(lines)

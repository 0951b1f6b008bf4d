"""The person's reply → an :class:`~dialogs.events.Event`, given the prompt it answers.

Conventions only, no business rule (the engine judges every answer):

- SMS: under a menu, ``2`` (or the choice id) picks the 2nd choice; under a prompt that
  expects digits, keyed digits (spaces and dashes dropped) are ``digits``; anything else,
  the commands ``menu``, ``cancel``, ``help``, ``language`` included, is typed text.
- Voice: ``*`` is the menu; keys pick a numbered choice or are ``digits``; speech picks the
  choice whose label or id it names, is read as digits where digits are expected (or when it is
  nothing but digits and number words: "one zero zero three"), else it is ``speech``. A reply
  that fits nothing (silence, an unknown key, speech where keys are needed) is None: the
  channel re-prompts once, then says goodbye. ``0`` (the help desk) is the voice channel's
  own business.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from captcha.spoken import normalise_spoken_attempt
from dialogs.actions import Ask, ShowCaptcha
from dialogs.events import Event

KEYPAD_SEPARATORS = " -"
_WORD = re.compile(r"[^\W_]+")
# Spoken number words beyond the captcha's digits, so that a whole utterance can be told to
# be "just a number" (the captcha normaliser drops words it does not know).
_NUMBER_WORDS = frozenset({
    "zero", "oh", "o", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    "zéro", "un", "une", "deux", "trois", "quatre", "cinq", "sept", "huit", "neuf",
})
_SPOKEN_INDEX = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "eight": 8, "nine": 9, "un": 1, "une": 1, "deux": 2, "trois": 3,
                 "quatre": 4, "cinq": 5, "sept": 7, "huit": 8, "neuf": 9}
DISTINCT_WORD = 6  # a label word this long, found in no other label, names its choice


@dataclass(frozen=True)
class Prompt:
    """What the last question asked for; kept between two webhooks (JSON)."""

    expect: str = "text"
    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    digits: int | None = None

    @staticmethod
    def of(action: Ask | ShowCaptcha, labels: tuple[str, ...] = ()) -> Prompt:
        if isinstance(action, ShowCaptcha):
            spoken = action.challenge.spoken_digits
            return Prompt(expect="digits" if spoken else "text",
                          digits=len(spoken) if spoken else None)
        expect = "choice" if action.choices else action.expect
        return Prompt(expect=expect, choices=tuple(c.id for c in action.choices),
                      labels=labels, digits=action.digits)

    def to_record(self) -> dict[str, Any]:
        return {"expect": self.expect, "choices": list(self.choices),
                "labels": list(self.labels), "digits": self.digits}

    @staticmethod
    def from_record(record: object) -> Prompt:
        if not isinstance(record, dict):
            return Prompt()
        digits = record.get("digits")
        return Prompt(expect=str(record.get("expect", "text")),
                      choices=tuple(str(c) for c in record.get("choices", [])),
                      labels=tuple(str(c) for c in record.get("labels", [])),
                      digits=digits if isinstance(digits, int) else None)


# -- SMS ---------------------------------------------------------------------------------------

def sms_event(prompt: Prompt, body: str, message_sid: str) -> Event:
    text = body.strip()
    choice = _choice_by_number_or_id(prompt, text)
    if choice is not None:
        return Event.chose(choice, event_id=message_sid)
    if prompt.expect == "digits" and _keyed_digits(text):
        return Event("digits", _strip(text), message_ref=message_sid, event_id=message_sid)
    return Event.typed(text, message_ref=message_sid, event_id=message_sid)


# -- voice -------------------------------------------------------------------------------------

def voice_event(prompt: Prompt, digits: str, speech: str, event_id: str) -> Event | None:
    """The event for a ``<Gather>`` result, or None when it fits nothing (re-prompt)."""
    keys = digits.strip()
    if keys == "*":
        return Event.typed("menu", event_id=event_id)
    if keys:
        return _keyed(prompt, keys, event_id)
    said = speech.strip()
    if said:
        return _spoken(prompt, said, event_id)
    return None


def _keyed(prompt: Prompt, keys: str, event_id: str) -> Event | None:
    if prompt.expect == "choice":
        choice = _choice_by_number_or_id(prompt, keys)
        return Event.chose(choice, event_id=event_id) if choice is not None else None
    keys = keys.rstrip("#")
    if not keys.isdecimal():
        return None
    return Event("digits", keys, event_id=event_id)


def _spoken(prompt: Prompt, said: str, event_id: str) -> Event | None:
    if prompt.expect == "choice":
        choice = _choice_by_speech(prompt, said)
        return Event.chose(choice, event_id=event_id) if choice is not None else None
    number = normalise_spoken_attempt(said)
    if prompt.expect == "digits":
        return Event("digits", number, event_id=event_id) if number else None
    if number and _only_number_words(said):
        return Event("digits", number, event_id=event_id)
    return Event("speech", said, event_id=event_id)


def _choice_by_number_or_id(prompt: Prompt, text: str) -> str | None:
    if text.isdecimal() and 1 <= int(text) <= len(prompt.choices):
        return prompt.choices[int(text) - 1]
    folded = text.casefold()
    return next((c for c in prompt.choices if c.casefold() == folded), None)


def _choice_by_speech(prompt: Prompt, said: str) -> str | None:
    words = _words(said)
    labels = [_words(label) for label in prompt.labels]
    for choice, label_words in zip(prompt.choices, labels, strict=False):
        if choice.casefold() in words or (label_words and label_words <= words):
            return choice
    found = {choice for index, choice in enumerate(prompt.choices[:len(labels)])
             if _distinct_words(labels, index) & words}
    if len(found) == 1:
        return found.pop()
    if _only_number_words(said):
        number = "".join(ch for ch in said if ch.isdecimal()) or str(next(
            (_SPOKEN_INDEX[w] for w in words if w in _SPOKEN_INDEX), 0))
        return _choice_by_number_or_id(prompt, number)
    return None


def _distinct_words(labels: list[set[str]], index: int) -> set[str]:
    others = set().union(*(w for i, w in enumerate(labels) if i != index))
    return {w for w in labels[index] if len(w) >= DISTINCT_WORD and w not in others}


def _words(text: str) -> set[str]:
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return set(_WORD.findall(plain))


def _only_number_words(said: str) -> bool:
    tokens = re.findall(r"[^\W\d_]+|\d+", unicodedata.normalize("NFC", said).casefold())
    return bool(tokens) and all(t.isdecimal() or t in _NUMBER_WORDS for t in tokens)


def _keyed_digits(text: str) -> bool:
    stripped = _strip(text)
    return stripped.isascii() and stripped.isdecimal()


def _strip(text: str) -> str:
    return "".join(ch for ch in text if ch not in KEYPAD_SEPARATORS)

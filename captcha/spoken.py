"""Spoken digit challenges for the voice channel, and normalisation of the caller's attempt.

The voice channel reads the digits out; the caller keys them in (DTMF) or says them. Speech
recognisers return either digits ("1 2 3 4") or number words ("one two three four",
"un deux trois quatre"); both normalise to "1234".
"""

from __future__ import annotations

import re
import secrets
import unicodedata

# English and French number words, plus common recogniser spellings ("oh" for zero is how
# people read digit strings aloud in English).
_WORDS: dict[str, str] = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
    "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9",
    "zéro": "0", "un": "1", "une": "1", "deux": "2", "trois": "3", "quatre": "4",
    "cinq": "5", "sept": "7", "huit": "8", "neuf": "9",
}  # fmt: skip

_TOKEN = re.compile(r"[^\W\d_]+|\d")


def new_spoken_digits(length: int = 4) -> str:
    """Return ``length`` random decimal digits drawn with ``secrets``."""
    if length < 1:
        raise ValueError("length must be at least 1")
    return "".join(secrets.choice("0123456789") for _ in range(length))


def normalise_spoken_attempt(attempt: str) -> str:
    """Keep the digits of ``attempt``, number words (English, French) turned into digits.

    Anything else (punctuation, "*", "#", filler words such as "euh") is dropped, so
    "1-2 3 4#" and "one two three four" both give "1234".
    """
    text = unicodedata.normalize("NFC", attempt).casefold()
    digits: list[str] = []
    for token in _TOKEN.findall(text):
        if token.isdigit():
            # Keep only ASCII digits: str.isdigit() also accepts e.g. Arabic-Indic digits.
            digits.append(str(int(token)))
        elif token in _WORDS:
            digits.append(_WORDS[token])
    return "".join(digits)

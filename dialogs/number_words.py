"""Number words to digits, English and French, so a spoken answer equals a typed one.

A small deterministic parser, not a general grammar. It works on tokens that are already
case-folded and split on whitespace and hyphens (``"quatre-vingt-dix"`` arrives as
``["quatre", "vingt", "dix"]``).

How a run of number words becomes digits
----------------------------------------
1. *Small numbers* (0-99) are read greedily, per language: English ``forty two`` → 42;
   French ``vingt et un`` → 21, ``soixante dix sept`` → 77, ``quatre vingt dix sept`` → 97,
   ``dix neuf`` → 19 (also the Belgian / Swiss ``septante``, ``huitante``, ``octante``,
   ``nonante``).
2. *Groups* combine small numbers with scales (hundred / cent, thousand / mille, million) the
   usual way: ``one thousand nine hundred and eighty four`` → 1984, ``dix neuf cent quatre vingt
   quatre`` → 1984, ``two thousand and five`` → 2005. A word that cannot extend the current group
   starts a new one: ``nineteen eighty four`` is the two groups 19 and 84, ``twenty twenty`` is
   20 and 20, ``one two three`` is 1, 2 and 3.
3. Each group becomes one digit token. :func:`to_digits` then joins *adjacent* digit tokens,
   whatever their origin, so ``nineteen eighty four``, ``19 84`` and ``1984`` are all ``"1984"``.

``zero`` / ``zéro`` is always a group of its own. ``oh`` / ``o`` counts as zero only between two
English number words (``nineteen oh five`` → 1905); elsewhere it stays a word. ``and`` (English)
is only taken between a scale and a following number (``hundred and one``); French ``et`` only
inside ``vingt et un``, ``soixante et onze`` and the like.

Both languages are always tried: at each position the language that reads the longer run
wins (English on a tie). Words that are not numbers are kept as they are. The price of this
tolerance is that a few ordinary words are read as numbers (French ``un`` / ``une`` / ``neuf``,
English ``one``); that is harmless for answer matching because enrolment and verification go
through the same function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["NUMBER_WORDS", "convert_tokens", "join_digit_runs", "to_digits"]

ItemKind = Literal["small", "zero", "hundred", "thousand", "million", "and"]


@dataclass(frozen=True)
class _Item:
    kind: ItemKind
    value: int
    start: int  # first token index
    end: int  # one past the last token index


# -- English -------------------------------------------------------------------------------

_EN_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_EN_TEENS = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_EN_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_EN_SCALES: dict[str, ItemKind] = {
    "hundred": "hundred", "thousand": "thousand", "million": "million",
}  # fmt: skip
_EN_ZERO = frozenset({"zero", "nought", "naught"})
_EN_OH = frozenset({"oh", "o"})

# -- French --------------------------------------------------------------------------------

_FR_UNITS = {
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "six": 6, "sept": 7, "huit": 8, "neuf": 9,
}  # fmt: skip
_FR_TEENS = {
    "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15, "seize": 16,
}  # fmt: skip
_FR_TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60,
    "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
}  # fmt: skip
_FR_SCALES: dict[str, ItemKind] = {
    "cent": "hundred", "cents": "hundred",
    "mille": "thousand", "mil": "thousand",
    "million": "million", "millions": "million",
}  # fmt: skip
_FR_ZERO = frozenset({"zéro", "zero"})
# tens that take a teen after them: soixante-dix (70), soixante-seize (76)
_FR_TENS_WITH_TEENS = frozenset({"soixante"})

NUMBER_WORDS: frozenset[str] = frozenset(
    [*_EN_UNITS, *_EN_TEENS, *_EN_TENS, *_EN_SCALES, *_EN_ZERO,
     *_FR_UNITS, *_FR_TEENS, *_FR_TENS, *_FR_SCALES, *_FR_ZERO]
)  # fmt: skip
"""Every word that can start or continue a number (connectors ``and``/``et``/``oh`` excluded)."""


def _en_items(tokens: Sequence[str], start: int) -> list[_Item]:
    """English lexer: the longest list of number items starting at ``start``."""
    items: list[_Item] = []
    i = start
    n = len(tokens)
    while i < n:
        word = tokens[i]
        if word in _EN_TENS:
            value = _EN_TENS[word]
            if i + 1 < n and tokens[i + 1] in _EN_UNITS:
                items.append(_Item("small", value + _EN_UNITS[tokens[i + 1]], i, i + 2))
                i += 2
            else:
                items.append(_Item("small", value, i, i + 1))
                i += 1
        elif word in _EN_UNITS:
            items.append(_Item("small", _EN_UNITS[word], i, i + 1))
            i += 1
        elif word in _EN_TEENS:
            items.append(_Item("small", _EN_TEENS[word], i, i + 1))
            i += 1
        elif word in _EN_SCALES:
            items.append(_Item(_EN_SCALES[word], 0, i, i + 1))
            i += 1
        elif word in _EN_ZERO or (
            word in _EN_OH
            and items
            and items[-1].kind != "and"
            and i + 1 < n
            and (tokens[i + 1] in _EN_UNITS or tokens[i + 1] in _EN_OH)
        ):
            items.append(_Item("zero", 0, i, i + 1))
            i += 1
        elif word == "and" and items:
            items.append(_Item("and", 0, i, i + 1))
            i += 1
        else:
            break
    return items


def _fr_tail(tokens: Sequence[str], i: int, *, teens: bool) -> tuple[int, int]:
    """What follows a French tens word: (value to add, tokens consumed)."""
    n = len(tokens)
    if i >= n:
        return 0, 0
    word = tokens[i]
    if word == "et" and i + 1 < n:
        nxt = tokens[i + 1]
        if nxt in ("un", "une"):
            return 1, 2
        if teens and nxt == "onze":
            return 11, 2
        return 0, 0
    if word in _FR_UNITS:
        return _FR_UNITS[word], 1
    if teens:
        if word == "dix" and i + 1 < n and tokens[i + 1] in ("sept", "huit", "neuf"):
            return 10 + _FR_UNITS[tokens[i + 1]], 2
        if word in _FR_TEENS:
            return _FR_TEENS[word], 1
    return 0, 0


def _fr_items(tokens: Sequence[str], start: int) -> list[_Item]:
    """French lexer: the longest list of number items starting at ``start``."""
    items: list[_Item] = []
    i = start
    n = len(tokens)
    while i < n:
        word = tokens[i]
        if word == "quatre" and i + 1 < n and tokens[i + 1] in ("vingt", "vingts"):
            add, used = _fr_tail(tokens, i + 2, teens=True)
            items.append(_Item("small", 80 + add, i, i + 2 + used))
            i += 2 + used
        elif word in _FR_TENS:
            add, used = _fr_tail(tokens, i + 1, teens=word in _FR_TENS_WITH_TEENS)
            items.append(_Item("small", _FR_TENS[word] + add, i, i + 1 + used))
            i += 1 + used
        elif word == "dix" and i + 1 < n and tokens[i + 1] in ("sept", "huit", "neuf"):
            items.append(_Item("small", 10 + _FR_UNITS[tokens[i + 1]], i, i + 2))
            i += 2
        elif word in _FR_TEENS:
            items.append(_Item("small", _FR_TEENS[word], i, i + 1))
            i += 1
        elif word in _FR_UNITS:
            items.append(_Item("small", _FR_UNITS[word], i, i + 1))
            i += 1
        elif word in _FR_SCALES:
            items.append(_Item(_FR_SCALES[word], 0, i, i + 1))
            i += 1
        elif word in _FR_ZERO:
            items.append(_Item("zero", 0, i, i + 1))
            i += 1
        else:
            break
    return items


_SCALE_VALUES = {"thousand": 1_000, "million": 1_000_000}


class _Group:
    """One cardinal number being built: ``total`` (thousands and up) plus ``current`` (< 1000)."""

    def __init__(self, item: _Item) -> None:
        self.total = 0
        self.current = 0
        self.scale: int | None = None  # smallest scale (thousand / million) applied so far
        self.last: ItemKind = item.kind
        self.closed = item.kind == "zero"
        if item.kind == "small":
            self.current = item.value
        elif item.kind == "hundred":
            self.current = 100
        elif item.kind in _SCALE_VALUES:
            self.scale = _SCALE_VALUES[item.kind]
            self.total = self.scale

    @property
    def value(self) -> int:
        return self.total + self.current

    def accepts_after_and(self) -> bool:
        return self.last in ("hundred", "thousand", "million")

    def absorb(self, item: _Item) -> bool:
        """Add ``item`` to this number if the usual grammar allows it; False starts a new group."""
        if self.closed:
            return False
        if item.kind == "small":
            if self.last == "hundred":
                self.current += item.value
            elif self.last in ("thousand", "million"):
                self.current = item.value
            else:
                return False
            self.last = "small"
            return True
        if item.kind == "hundred":
            if self.last in ("thousand", "million"):  # mille cent: 1100
                self.current = 100
                self.last = "hundred"
                return True
            if self.last == "small" and 1 <= self.current <= 99:
                if self.total and self.current > 9:
                    return False
                self.current *= 100
                self.last = "hundred"
                return True
            return False
        if item.kind in _SCALE_VALUES:
            scale = _SCALE_VALUES[item.kind]
            if self.last in ("small", "hundred") and self.current > 0:
                if self.scale is not None and self.scale <= scale:
                    return False
                self.total += self.current * scale
                self.current = 0
                self.scale = scale
                self.last = item.kind
                return True
            return False
        return False


def _read_run(items: Sequence[_Item]) -> tuple[list[int], int]:
    """Group lexed items into numbers; returns (numbers, index one past the last token used)."""
    groups: list[_Group] = []
    end = items[0].start if items else 0
    k = 0
    while k < len(items):
        item = items[k]
        if item.kind == "and":
            nxt = items[k + 1] if k + 1 < len(items) else None
            joinable = nxt is not None and nxt.kind == "small"
            if not (groups and joinable and groups[-1].accepts_after_and()):
                break  # the connector is an ordinary word here
            assert nxt is not None
            groups[-1].absorb(nxt)
            end = nxt.end
            k += 2
            continue
        if not groups or not groups[-1].absorb(item):
            groups.append(_Group(item))
        end = item.end
        k += 1
    return [group.value for group in groups], end


def convert_tokens(tokens: Sequence[str]) -> list[str]:
    """Replace every run of number words by its digit groups; other tokens are kept.

    Tokens must be case-folded already. Each group is a separate token (``["nineteen",
    "eighty", "four"]`` → ``["19", "84"]``); :func:`to_digits` joins them.
    """
    out: list[str] = []
    i = 0
    while i < len(tokens):
        best: tuple[list[int], int] | None = None
        if tokens[i] in NUMBER_WORDS:
            for lexer in (_en_items, _fr_items):
                items = lexer(tokens, i)
                if not items:
                    continue
                numbers, end = _read_run(items)
                if numbers and (best is None or end > best[1]):
                    best = (numbers, end)
        if best is None:
            out.append(tokens[i])
            i += 1
        else:
            out.extend(str(number) for number in best[0])
            i = best[1]
    return out


def join_digit_runs(tokens: Sequence[str]) -> list[str]:
    """Join adjacent all-ASCII-digit tokens: ``["19", "84", "rex"]`` → ``["1984", "rex"]``."""
    out: list[str] = []
    previous_digits = False
    for token in tokens:
        is_digits = token.isascii() and token.isdigit()
        if is_digits and previous_digits:
            out[-1] += token
        else:
            out.append(token)
        previous_digits = is_digits
    return out


def to_digits(text: str) -> str:
    """Case-fold ``text``, split it on whitespace and hyphens, turn number words into digits.

    ``"Nineteen Eighty-Four"`` → ``"1984"``; ``"vingt et un chats"`` → ``"21 chats"``.
    """
    tokens = text.casefold().replace("-", " ").split()
    return " ".join(join_digit_runs(convert_tokens(tokens)))

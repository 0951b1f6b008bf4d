"""The product's own password checks (DESIGN.md 5.7), on top of whatever the directory enforces.

Length (default 12 to 128 characters; at least 64 must always be allowed), a zxcvbn score
(default at least 3) computed with the person's own names and the organisation's words as
context, and no personal data in the password. No composition rules: zxcvbn already rewards
what actually makes a password hard to guess.

Every refusal is a :class:`~dialogs.messages.Message` so the person sees why, in their language:
zxcvbn's English feedback strings are mapped to message ids (``password.hint.*``).

Lengths are counted in Unicode code points of the password exactly as typed; nothing is
normalised (the directory receives the same string).

One zxcvbn run per candidate (issue 13): the password page rates what is typed at each pause,
then the submit judges the same final candidate again. The last few verdicts are therefore
kept in a small bounded memo keyed by an HMAC of the candidate and its context under a key
drawn at start and never stored: the memo holds digests and verdicts (a score and message ids),
never a password, so nothing clear outlives the request that carried it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from zxcvbn import zxcvbn

from dialogs.messages import Message

_zxcvbn_rs: ModuleType | None
try:  # the Rust build of the same estimator where a wheel exists (pyproject.toml), else Python
    import zxcvbn_rs_py as _zxcvbn_rs
except ImportError:  # pragma: no cover - platforms without a wheel
    _zxcvbn_rs = None

__all__ = [
    "MESSAGES",
    "MESSAGE_IDS",
    "ZXCVBN_MAX_CHARS",
    "PasswordRules",
    "PasswordVerdict",
    "assess_password",
    "confirm_matches",
    "rules_summary",
]

ZXCVBN_MAX_CHARS = 128
"""zxcvbn only sees this many leading characters (its cost grows with length; beyond this a
password's score is bounded by its prefix anyway)."""

MIN_PERSONAL_WORD = 3
"""A whole personal input (username, name...) this long or longer may not appear in a password."""

MIN_PERSONAL_PART = 4
"""A part of a personal input (``john`` of ``john.smith``) this long or longer may not appear."""

MESSAGES: dict[str, frozenset[str]] = {
    "password.too_short": frozenset({"min"}),
    "password.too_long": frozenset({"max"}),
    "password.weak": frozenset({"score", "min"}),
    "password.contains_personal": frozenset(),
    "password.hint.common": frozenset(),
    "password.hint.single_word": frozenset(),
    "password.hint.names": frozenset(),
    "password.hint.repeats": frozenset(),
    "password.hint.sequence": frozenset(),
    "password.hint.dates": frozenset(),
    "password.hint.keyboard_pattern": frozenset(),
    "password.hint.predictable_changes": frozenset(),
    "password.hint.add_words": frozenset(),
    "password.hint.longer": frozenset(),
    "password.rules.length": frozenset({"min", "max"}),
    "password.rules.strength": frozenset(),
    "password.rules.no_personal": frozenset(),
}
"""Every message id this module emits, with the parameter names each one carries."""

MESSAGE_IDS: frozenset[str] = frozenset(MESSAGES)

# zxcvbn 4.x feedback (zxcvbn/feedback.py), English, to our hint ids. Unknown text falls back
# to password.hint.longer, so a zxcvbn upgrade degrades to a generic hint, never to no hint.
_ZXCVBN_HINTS: dict[str, str] = {
    "Straight rows of keys are easy to guess.": "password.hint.keyboard_pattern",
    "Short keyboard patterns are easy to guess.": "password.hint.keyboard_pattern",
    "Use a longer keyboard pattern with more turns.": "password.hint.keyboard_pattern",
    'Repeats like "aaa" are easy to guess.': "password.hint.repeats",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': (
        "password.hint.repeats"
    ),
    "Avoid repeated words and characters.": "password.hint.repeats",
    'Sequences like "abc" or "6543" are easy to guess.': "password.hint.sequence",
    "Sequences like abc or 6543 are easy to guess.": "password.hint.sequence",
    "Avoid sequences.": "password.hint.sequence",
    "Recent years are easy to guess.": "password.hint.dates",
    "Avoid recent years.": "password.hint.dates",
    "Avoid years that are associated with you.": "password.hint.dates",
    "Dates are often easy to guess.": "password.hint.dates",
    "Avoid dates and years that are associated with you.": "password.hint.dates",
    "This is a top-10 common password.": "password.hint.common",
    "This is a top-100 common password.": "password.hint.common",
    "This is a very common password.": "password.hint.common",
    "This is similar to a commonly used password.": "password.hint.common",
    "A word by itself is easy to guess.": "password.hint.single_word",
    "Names and surnames by themselves are easy to guess.": "password.hint.names",
    "Common names and surnames are easy to guess.": "password.hint.names",
    "Capitalization doesn't help very much.": "password.hint.predictable_changes",
    "All-uppercase is almost as easy to guess as all-lowercase.": (
        "password.hint.predictable_changes"
    ),
    "Reversed words aren't much harder to guess.": "password.hint.predictable_changes",
    "Predictable substitutions like '@' instead of 'a' don't help very much.": (
        "password.hint.predictable_changes"
    ),
    "Add another word or two. Uncommon words are better.": "password.hint.add_words",
    "Use a few words, avoid common phrases.": "password.hint.add_words",
    # Said about an empty password; the length message already covers it.
    "No need for symbols, digits, or uppercase letters.": "",
}
_FALLBACK_HINT = "password.hint.longer"

# zxcvbn keeps the user inputs in a module-level dict while it runs: serialise calls so two
# threads checking passwords for different people never see each other's context.
_ZXCVBN_LOCK = threading.Lock()

_PART_SPLIT = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class PasswordRules:
    """The product's password rules; the directory's own policy applies in addition."""

    min_length: int = 12
    max_length: int = 128
    min_score: int = 3
    org_words: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.min_length < 1:
            raise ValueError("min_length must be at least 1")
        if self.max_length < 64:
            raise ValueError("max_length must allow at least 64 characters")
        if self.max_length < self.min_length:
            raise ValueError("max_length must not be below min_length")
        if not 0 <= self.min_score <= 4:
            raise ValueError("min_score must be between 0 and 4")


@dataclass(frozen=True)
class PasswordVerdict:
    """``ok`` with the zxcvbn ``score`` (0-4, for a strength meter) and the reasons it is not."""

    ok: bool
    score: int
    problems: tuple[Message, ...]


def _personal_fragments(user_inputs: Sequence[str]) -> set[str]:
    fragments: set[str] = set()
    for raw in user_inputs:
        value = raw.casefold().strip()
        if len(value) >= MIN_PERSONAL_WORD:
            fragments.add(value)
        for part in _PART_SPLIT.split(value):
            if len(part) >= MIN_PERSONAL_PART:
                fragments.add(part)
    return fragments


def _contains_personal(password: str, user_inputs: Sequence[str]) -> bool:
    folded = password.casefold()
    return any(fragment in folded for fragment in _personal_fragments(user_inputs))


def _zxcvbn(password: str, context: Sequence[str]) -> dict[str, Any]:
    """zxcvbn's score and English feedback, in the Python package's shape."""
    candidate = password[:ZXCVBN_MAX_CHARS]
    if _zxcvbn_rs is not None:
        return _zxcvbn_rust(candidate, context)
    return _zxcvbn_python(candidate, context)


def _zxcvbn_rust(candidate: str, context: Sequence[str]) -> dict[str, Any]:
    assert _zxcvbn_rs is not None
    entropy = _zxcvbn_rs.zxcvbn(candidate, [str(word) for word in context])
    feedback = entropy.feedback
    if feedback is None:
        return {"score": int(entropy.score), "feedback": {}}
    warning = feedback.warning
    return {
        "score": int(entropy.score),
        "feedback": {
            "warning": str(warning) if warning is not None else "",
            "suggestions": [str(text) for text in feedback.suggestions],
        },
    }


def _zxcvbn_python(candidate: str, context: Sequence[str]) -> dict[str, Any]:
    with _ZXCVBN_LOCK:
        result: dict[str, Any] = zxcvbn(
            candidate, user_inputs=list(context), max_length=ZXCVBN_MAX_CHARS
        )
    return result


def _hints(feedback: dict[str, Any]) -> list[Message]:
    texts: list[str] = []
    warning = feedback.get("warning") or ""
    if warning:
        texts.append(str(warning))
    texts.extend(str(text) for text in feedback.get("suggestions") or ())
    ids: list[str] = []
    for text in texts:
        hint = _ZXCVBN_HINTS.get(text, _FALLBACK_HINT)
        if hint and hint not in ids:
            ids.append(hint)
    if not ids:
        ids.append(_FALLBACK_HINT)
    return [Message.of(hint) for hint in ids]


class _VerdictMemo:
    """The last ``size`` verdicts by keyed digest of (candidate, context, rules)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._key = secrets.token_bytes(32)
        self._verdicts: OrderedDict[bytes, PasswordVerdict] = OrderedDict()
        self._lock = threading.Lock()

    def digest(self, password: str, rules: PasswordRules, user_inputs: Sequence[str]) -> bytes:
        material = json.dumps([password, list(user_inputs), list(rules.org_words),
                               rules.min_length, rules.max_length, rules.min_score])
        return hmac.new(self._key, material.encode("utf-8"), hashlib.sha256).digest()

    def get(self, digest: bytes) -> PasswordVerdict | None:
        with self._lock:
            verdict = self._verdicts.get(digest)
            if verdict is not None:
                self._verdicts.move_to_end(digest)
            return verdict

    def put(self, digest: bytes, verdict: PasswordVerdict) -> None:
        with self._lock:
            self._verdicts[digest] = verdict
            self._verdicts.move_to_end(digest)
            while len(self._verdicts) > self._size:
                self._verdicts.popitem(last=False)


VERDICT_MEMO_SIZE = 256
"""Enough for the candidates rated in the last minutes of a busy process, and bounded."""

_MEMO = _VerdictMemo(VERDICT_MEMO_SIZE)


def assess_password(
    password: str, rules: PasswordRules, *, user_inputs: Sequence[str]
) -> PasswordVerdict:
    """Rate ``password`` against ``rules``; ``user_inputs`` are the person's username, names, mail.

    Problems, in order: ``password.too_short`` {min} or ``password.too_long`` {max};
    ``password.contains_personal`` (a user input of 3+ characters, or a 4+ character part of
    one, appears in the password, case-insensitively); ``password.weak`` {score} {min} when the
    zxcvbn score (with ``user_inputs`` and ``rules.org_words`` as context) is below
    ``rules.min_score``, followed by the matching ``password.hint.*`` ids. A password over the
    maximum length is not scored further (score 0). The same candidate in the same context is
    judged once (a memo of digests, see the module docstring).
    """
    digest = _MEMO.digest(password, rules, user_inputs)
    verdict = _MEMO.get(digest)
    if verdict is None:
        verdict = _judge(password, rules, user_inputs)
        _MEMO.put(digest, verdict)
    return verdict


def _judge(password: str, rules: PasswordRules, user_inputs: Sequence[str]) -> PasswordVerdict:
    problems: list[Message] = []
    length = len(password)
    if length > rules.max_length:
        return PasswordVerdict(
            ok=False, score=0, problems=(Message.of("password.too_long", max=rules.max_length),)
        )
    if length < rules.min_length:
        problems.append(Message.of("password.too_short", min=rules.min_length))
    if _contains_personal(password, user_inputs):
        problems.append(Message.of("password.contains_personal"))
    if password:
        result = _zxcvbn(password, [*user_inputs, *rules.org_words])
        score = int(result["score"])
        feedback: dict[str, Any] = result.get("feedback") or {}
    else:  # zxcvbn 4.5 fails on the empty string
        score, feedback = 0, {}
    if score < rules.min_score:
        problems.append(Message.of("password.weak", score=score, min=rules.min_score))
        problems.extend(_hints(feedback))
    return PasswordVerdict(ok=not problems, score=score, problems=tuple(problems))


def rules_summary(rules: PasswordRules) -> tuple[Message, ...]:
    """The rules to show before the person types a new password."""
    return (
        Message.of("password.rules.length", min=rules.min_length, max=rules.max_length),
        Message.of("password.rules.strength"),
        Message.of("password.rules.no_personal"),
    )


def confirm_matches(first: str, second: str) -> bool:
    """True when the confirmation equals the new password (constant-time comparison)."""
    return hmac.compare_digest(first.encode("utf-8"), second.encode("utf-8"))

"""The security-question catalogue and which questions to ask (DESIGN.md 2 Enrol, 5.2, 5.3).

Question texts are not here: each question id is a msgid in ``channels/locale/<lang>/
questions.po``. Choices are derived from HMAC-SHA256 under the service's secret key, so they
are stable and unpredictable without the key:

- :func:`choose_decoy_questions`: what an unknown or not-enrolled username is asked. It depends
  only on the key and the username, so it never changes between attempts, and it is drawn from
  the same catalogue the real questions come from (DESIGN.md 5.2, no enumeration).
- :func:`choose_asked_questions`: which M of a person's N enrolled questions are asked. It
  depends on an ``epoch`` counter that the caller increments only after a successful proof, so
  failing again and again always shows the same questions and never reveals the rest of the set
  (DESIGN.md 5.3).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence

from dialogs.answers import MIN_SIGNIFICANT_WORD_LENGTH, normalise_answer

__all__ = [
    "QUESTION_IDS",
    "choose_asked_questions",
    "choose_decoy_questions",
    "question_words",
]

QUESTION_IDS: tuple[str, ...] = (
    "q.first_pet",
    "q.birth_city_mother",
    "q.first_school",
    "q.childhood_street",
    "q.first_concert",
    "q.favourite_teacher",
    "q.first_car_model",
    "q.childhood_friend",
    "q.grandmother_first_name",
    "q.first_job_town",
    "q.first_manager_surname",
    "q.childhood_hero",
)
"""Every question a person can enrol; each id is a msgid of the questions catalogues."""

# Framing words of the questions (English and French, normalised): they say nothing about the
# answer, so an answer may contain them.
_STOPWORDS = frozenset(
    {
        # English
        "what", "which", "where", "when", "whom", "whose", "your", "yours", "were", "with",
        "that", "this", "from", "have", "been", "they", "their", "there", "name", "called",
        "did", "does", "into", "about", "first",
        # French
        "quel", "quelle", "quels", "quelles", "votre", "vous", "était", "étiez", "dans",
        "avec", "pour", "leur", "appelait", "comment", "lequel", "laquelle", "elle", "avez",
        "étaient",
        "premier", "première", "nom",
    }
)  # fmt: skip


_APOSTROPHES = re.compile("['\u2019\u02bc]")


def question_words(text: str) -> set[str]:
    """The significant words of a question text, normalised like answers.

    Significant = at least :data:`~dialogs.answers.MIN_SIGNIFICANT_WORD_LENGTH` letters and not a
    framing word such as "what", "your", "first", "quel" or "votre". The result is meant for the
    ``question_words`` argument of :func:`dialogs.answers.enrolment_problems`.
    """
    # Elided articles (d'enfance, s'appelait) would otherwise glue onto the next word.
    spaced = _APOSTROPHES.sub(" ", text)
    words: set[str] = set()
    for token in normalise_answer(spaced).split():
        if token in _STOPWORDS:
            continue
        if sum(char.isalpha() for char in token) >= MIN_SIGNIFICANT_WORD_LENGTH:
            words.add(token)
    return words


def _canonical_username(username: str) -> bytes:
    """Usernames are case-insensitive in LDAP and AD: NFKC, case-folded, trimmed."""
    return unicodedata.normalize("NFKC", username).casefold().strip().encode("utf-8")


def _field(data: bytes) -> bytes:
    """Length-prefixed, so concatenated fields cannot be confused with one another."""
    return len(data).to_bytes(4, "big") + data


def _rank(key: bytes, purpose: bytes, fields: Sequence[bytes], question: str) -> bytes:
    message = b"".join(_field(part) for part in (purpose, *fields, question.encode("utf-8")))
    return hmac.new(key, message, hashlib.sha256).digest()


def _check_key(key: bytes) -> None:
    if not key:
        raise ValueError("a non-empty secret key is required to choose questions")


def choose_decoy_questions(key: bytes, username: str, count: int) -> tuple[str, ...]:
    """``count`` distinct catalogue questions for ``username``, stable for a given key.

    Each question is ranked by HMAC-SHA256(key, "decoy", canonical username, question id); the
    ``count`` lowest ranks are returned, in rank order (the order to ask them in). The username
    is NFKC-normalised, case-folded and trimmed first, so ``JDoe`` and ``jdoe`` get the same
    decoys.
    """
    _check_key(key)
    if not 0 <= count <= len(QUESTION_IDS):
        raise ValueError(f"count must be between 0 and {len(QUESTION_IDS)}")
    user = _canonical_username(username)
    ranked = sorted(QUESTION_IDS, key=lambda q: _rank(key, b"sspm.decoy", (user,), q))
    return tuple(ranked[:count])


def choose_asked_questions(
    key: bytes, username: str, enrolled: Sequence[str], count: int, epoch: int
) -> tuple[str, ...]:
    """``count`` of the ``enrolled`` questions, the same ones for the same ``epoch``.

    Ranked by HMAC-SHA256(key, "asked", canonical username, epoch, question id), lowest
    first. The result does not depend on the order of ``enrolled``. The caller keeps ``epoch``
    with the enrolment and increments it only when a proof succeeds.
    """
    _check_key(key)
    if len(set(enrolled)) != len(enrolled):
        raise ValueError("enrolled questions must be distinct")
    if not 0 <= count <= len(enrolled):
        raise ValueError(f"count must be between 0 and {len(enrolled)}")
    if epoch < 0:
        raise ValueError("epoch must not be negative")
    user = _canonical_username(username)
    epoch_bytes = str(epoch).encode("ascii")
    ranked = sorted(enrolled, key=lambda q: _rank(key, b"sspm.asked", (user, epoch_bytes), q))
    return tuple(ranked[:count])

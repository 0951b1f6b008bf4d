"""Security answers: normalisation, enrolment checks, and hashing (DESIGN.md 2 Enrol, 5.2, 5.11).

Normalisation (:func:`normalise_answer`), step by step
------------------------------------------------------
1. Unicode NFKC, then case folding, then NFKC again (case folding can un-normalise a few
   characters; the second pass makes the result stable, so normalising twice changes nothing).
2. Character classes: dashes (Unicode ``Pd``) become spaces, so ``forty-two`` and
   ``Saint-Étienne`` split into words; every other punctuation character (``P*``: ``. , ! ? ' " /``
   and so on) is dropped; control and format characters (``Cc``, ``Cf``: zero-width joiners,
   soft hyphens) are dropped; any decimal digit (``Nd``, e.g. Arabic-Indic) becomes its ASCII
   digit; all whitespace becomes a space. Everything else, letters with their accents, symbols
   and emoji included, is kept.
3. Whitespace split; number words, English and French, become digit groups
   (:mod:`dialogs.number_words`).
4. Adjacent tokens made only of digits are joined, whether they were typed or came from words:
   ``"Nineteen Eighty-Four"``, ``"19 84"``, ``" 1984. "`` and ``"1,984"`` all give ``"1984"``.
5. Tokens are joined with single spaces (leading / trailing whitespace gone).

Accents are kept: ``"Saint-Étienne"`` gives ``"saint étienne"``, which differs from
``"saint etienne"``. NFKC and case folding keep them, the design names exactly those steps, and
in French an accent can be the only difference between two words (``côte`` / ``cote``, ``pêche`` /
``péché``). Stripping them would also mean every stored hash changes if the rule is revisited;
keeping them is the conservative choice. An accent typed on enrolment has to be typed (or
spoken, which speech recognition spells correctly) at verification.

Hashing
-------
Answers are stored only as Argon2id hashes of the normalised text (:class:`Argon2AnswerHasher`).
:meth:`AnswerHasher.burn` spends the same key-derivation work as a verification without a real
hash, so a decoy answer (unknown or not-enrolled user, DESIGN.md 5.2) costs the same time as a
real one. :class:`FastAnswerHasher` exists for unit tests only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import math
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import Argon2Error, VerifyMismatchError

from dialogs.messages import Message
from dialogs.number_words import convert_tokens, join_digit_runs

__all__ = [
    "MAX_JOINT_SETS",
    "MESSAGES",
    "MESSAGE_IDS",
    "MIN_ANSWER_LENGTH",
    "MIN_SIGNIFICANT_WORD_LENGTH",
    "AnswerHasher",
    "Argon2AnswerHasher",
    "FastAnswerHasher",
    "enrolment_problems",
    "joint_hashes",
    "joint_secret",
    "normalise_answer",
]

MIN_ANSWER_LENGTH = 3
"""An answer needs at least this many characters once normalised (spaces not counted)."""

MIN_SIGNIFICANT_WORD_LENGTH = 4
"""A question word of at least this many letters may not appear in the answer."""

MESSAGES: dict[str, frozenset[str]] = {
    "answers.too_short": frozenset({"min"}),
    "answers.repeated": frozenset(),
    "answers.contains_question": frozenset(),
    "answers.contains_username": frozenset(),
}
"""Every message id this module emits, with the parameter names each one carries."""

MESSAGE_IDS: frozenset[str] = frozenset(MESSAGES)


def _map_char(char: str) -> str:
    category = unicodedata.category(char)
    if char.isspace() or category == "Pd":
        return " "
    if category[0] == "P" or category in ("Cc", "Cf"):
        return ""
    if category == "Nd":
        return str(unicodedata.decimal(char))
    return char


def normalise_answer(text: str) -> str:
    """The canonical form of a security answer (see the module docstring for every step)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    cleaned = "".join(_map_char(char) for char in folded)
    return " ".join(join_digit_runs(convert_tokens(cleaned.split())))


def _compact(text: str) -> str:
    return text.replace(" ", "")


def _username_core(username: str) -> str:
    """The account name without a domain: ``CORP\\jdoe`` and ``jdoe@corp.example`` → ``jdoe``."""
    name = username.rsplit("\\", 1)[-1]
    name = name.split("@", 1)[0]
    return _compact(normalise_answer(name))


def enrolment_problems(
    answer: str,
    *,
    question_words: Iterable[str],
    username: str,
    other_answers: Iterable[str],
) -> list[Message]:
    """Why ``answer`` cannot be enrolled; an empty list means it is acceptable.

    ``question_words`` are the significant words of the question as shown to the person
    (see :func:`dialogs.questions.question_words`; they are normalised again here, and words
    shorter than :data:`MIN_SIGNIFICANT_WORD_LENGTH` letters are ignored). ``other_answers``
    are the person's other answers, raw or normalised. The checks, in the order reported:

    - ``answers.too_short``: fewer than :data:`MIN_ANSWER_LENGTH` characters once normalised,
      spaces not counted;
    - ``answers.repeated``: equal, once normalised, to another answer of the same person;
    - ``answers.contains_question``: one of the answer's words is a significant question word;
    - ``answers.contains_username``: the username (domain removed, normalised, at least 3
      characters) appears anywhere in the answer, spaces ignored (``"J Doe 1984"`` contains
      ``jdoe``).
    """
    normalised = normalise_answer(answer)
    compact = _compact(normalised)
    problems: list[Message] = []
    if len(compact) < MIN_ANSWER_LENGTH:
        problems.append(Message.of("answers.too_short", min=MIN_ANSWER_LENGTH))
    if normalised and any(normalised == normalise_answer(other) for other in other_answers):
        problems.append(Message.of("answers.repeated"))
    answer_words = set(normalised.split())
    significant = set()
    for word in question_words:
        for token in normalise_answer(word).split():
            if sum(char.isalpha() for char in token) >= MIN_SIGNIFICANT_WORD_LENGTH:
                significant.add(token)
    if answer_words & significant:
        problems.append(Message.of("answers.contains_question"))
    user = _username_core(username)
    if len(user) >= MIN_ANSWER_LENGTH and user in compact:
        problems.append(Message.of("answers.contains_username"))
    return problems


MAX_JOINT_SETS = 10
"""An enrolment keeps one joint hash per set of questions a proof may ask (``joint_hashes``);
past this many sets (many questions enrolled, several asked) it keeps none and proofs check
answer by answer, as records written before joint hashes do."""


def joint_secret(answers: Sequence[tuple[str, str]]) -> str:
    """What a proof's answers are hashed as, together: the (question id, normalised answer)
    pairs in question id order, as JSON (unambiguous whatever an answer holds).

    One KDF then checks a whole proof (issue 13: one Argon2id per reset, not one per answer),
    and a stolen record no longer lets each answer be guessed on its own: every guess must get
    all the answers of a set right at once.
    """
    pairs = sorted((str(question), str(answer)) for question, answer in answers)
    return json.dumps(pairs, ensure_ascii=False, separators=(",", ":"))


def joint_hashes(hasher: AnswerHasher, answers: Sequence[tuple[str, str]],
                 asked: int) -> tuple[tuple[tuple[str, ...], str], ...]:
    """One hash of ``joint_secret`` for every set of ``asked`` of these enrolled ``answers``
    ((question id, normalised answer) pairs), keyed by the set's sorted question ids; none when
    a proof asks fewer than two or there would be more than ``MAX_JOINT_SETS``."""
    ids = sorted(question for question, _ in answers)
    if asked < 2 or asked > len(ids) or math.comb(len(ids), asked) > MAX_JOINT_SETS:
        return ()
    by_id = dict(answers)
    return tuple((subset, hasher.hash(joint_secret([(q, by_id[q]) for q in subset])))
                 for subset in itertools.combinations(ids, asked))


class AnswerHasher(Protocol):
    """Hashes and checks normalised answers. Implementations never raise from :meth:`verify`."""

    def hash(self, normalised: str) -> str:
        """A salted hash of ``normalised``, safe to store."""
        ...

    def verify(self, stored_hash: str, normalised: str) -> bool:
        """True when ``normalised`` matches ``stored_hash``; False on mismatch or a bad hash."""
        ...

    def burn(self, normalised: str) -> None:
        """Spend the work of one :meth:`verify` without a real hash (decoy answers)."""
        ...


class Argon2AnswerHasher:
    """Argon2id via argon2-cffi. Defaults follow the OWASP minimum (19 MiB, t=2, p=1).

    At construction a hash of a random throwaway secret is made with the same parameters;
    :meth:`burn` verifies against it, so a decoy costs what a real verification costs.
    A stored hash that cannot be parsed also burns the same work before returning False.
    """

    def __init__(self, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=Type.ID,
        )
        self._burn_hash = self._hasher.hash(secrets.token_urlsafe(32))

    def hash(self, normalised: str) -> str:
        return self._hasher.hash(normalised)

    def verify(self, stored_hash: str, normalised: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, normalised)
        except VerifyMismatchError:
            return False
        except (Argon2Error, ValueError, TypeError):
            # Malformed or foreign hash: spend the usual work so timing does not tell.
            self.burn(normalised)
            return False

    def burn(self, normalised: str) -> None:
        with contextlib.suppress(Argon2Error, ValueError, TypeError):
            self._hasher.verify(self._burn_hash, normalised)

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when ``stored_hash`` was made with other parameters (or cannot be read)."""
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except (Argon2Error, ValueError, TypeError):
            return True


class FastAnswerHasher:
    """FOR UNIT TESTS ONLY: salted HMAC-SHA256, no key stretching, format ``fast$<salt>$<hex>``.

    Same contract as :class:`Argon2AnswerHasher` (random salt per hash, :meth:`verify` never
    raises) but microseconds instead of tens of milliseconds. Never wire it into a real service.
    """

    PREFIX = "fast"

    def hash(self, normalised: str) -> str:
        salt = secrets.token_hex(16)
        return f"{self.PREFIX}${salt}${self._digest(salt, normalised)}"

    def verify(self, stored_hash: str, normalised: str) -> bool:
        if not isinstance(stored_hash, str) or not isinstance(normalised, str):
            return False
        parts = stored_hash.split("$")
        if len(parts) != 3 or parts[0] != self.PREFIX or not parts[1]:
            return False
        expected = self._digest(parts[1], normalised)
        return hmac.compare_digest(expected.encode("ascii"), parts[2].encode("utf-8"))

    def burn(self, normalised: str) -> None:
        self._digest("burn", normalised)

    @staticmethod
    def _digest(salt: str, normalised: str) -> str:
        mac = hmac.new(salt.encode("utf-8"), normalised.encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()

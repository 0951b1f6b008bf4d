"""Security answers: normalisation, enrolment refusals, Argon2id hashing, message catalogues."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogs.answers import (
    MESSAGE_IDS,
    MESSAGES,
    AnswerHasher,
    Argon2AnswerHasher,
    FastAnswerHasher,
    enrolment_problems,
    normalise_answer,
)
from dialogs.messages import Message, parse_po, placeholders
from dialogs.questions import question_words

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "channels" / "locale"


def catalogue(lang: str, domain: str) -> dict[str, str]:
    return parse_po((LOCALES / lang / f"{domain}.po").read_text(encoding="utf-8"))


def ids(problems: list[Message]) -> list[str]:
    return [problem.id for problem in problems]


# -- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "1984",
        " 1984. ",
        "1,984",
        "19 84",
        "Nineteen Eighty-Four",
        "nineteen eighty four",
        "one thousand nine hundred and eighty-four",
        "mille neuf cent quatre-vingt-quatre",
        "Dix-neuf cent quatre-vingt-quatre !",
        "１９８４",  # fullwidth digits (NFKC)
        "١٩٨٤",  # Arabic-Indic digits
    ],
)
def test_spoken_and_typed_numbers_normalise_alike(variant: str) -> None:
    assert normalise_answer(variant) == "1984"


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("Rex!", "rex"),
        ("  Big \t  Ben\n", "big ben"),
        ("ＲＥＸ", "rex"),  # fullwidth letters
        ("ﬁdo", "fido"),  # ligature
        ("Straße", "strasse"),  # case folding, not just lower()
        ("re\u200bx", "rex"),  # zero-width space is a format character
        ("O'Brien", "obrien"),
        ("St. John's Wood", "st johns wood"),
        ("Saint-Étienne", "saint étienne"),
        ("rock-and-roll", "rock and roll"),
        ("Peugeot 205", "peugeot 205"),
        ("Vingt et un", "21"),
        ("Mr. Whiskers the 3rd", "mr whiskers the 3rd"),
        ("café ☕", "café ☕"),  # symbols are not punctuation: kept
        ("", ""),
        ("?!...", ""),
    ],
)
def test_normalise_answer_examples(raw: str, normalised: str) -> None:
    assert normalise_answer(raw) == normalised


def test_accents_are_kept() -> None:
    # Documented decision: NFKC + case folding keep accents, and in French they can matter.
    assert normalise_answer("Saint-Étienne") == normalise_answer("saint étienne")
    assert normalise_answer("Saint-Étienne") != normalise_answer("saint etienne")
    assert normalise_answer("côte") != normalise_answer("cote")


def test_composed_and_decomposed_accents_are_equal() -> None:
    assert normalise_answer("E\u0301tienne") == normalise_answer("\u00c9tienne") == "étienne"


@given(st.text(max_size=40))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise_answer(text)
    assert normalise_answer(once) == once


@given(st.text(max_size=40))
def test_normalised_form_has_no_punctuation_case_or_stray_space(text: str) -> None:
    out = normalise_answer(text)
    assert out == out.strip()
    assert "  " not in out
    assert out == out.casefold()
    assert not any(unicodedata.category(char).startswith("P") for char in out)
    assert all(char == " " or not char.isspace() for char in out)


# -- enrolment refusals -----------------------------------------------------------------------

CITY_QUESTION = "In which city was your mother born?"


def test_a_good_answer_has_no_problem() -> None:
    problems = enrolment_problems(
        "Saint-Étienne",
        question_words=question_words(CITY_QUESTION),
        username="jdupont",
        other_answers=["Rex", "Lycée Fauriel"],
    )
    assert problems == []


@pytest.mark.parametrize("answer", ["", "ab", " a b ", "A.B!", "7"])
def test_answers_under_three_characters_are_refused(answer: str) -> None:
    problems = enrolment_problems(answer, question_words=[], username="jdupont", other_answers=[])
    assert ids(problems) == ["answers.too_short"]
    assert problems[0].param_dict() == {"min": 3}


def test_three_characters_are_enough() -> None:
    assert enrolment_problems("Rex", question_words=[], username="jdupont", other_answers=[]) == []
    # "seven" is 1 character once normalised: the spoken form does not dodge the minimum.
    assert ids(
        enrolment_problems("seven", question_words=[], username="jdupont", other_answers=[])
    ) == ["answers.too_short"]


def test_a_repeated_answer_is_refused_after_normalisation() -> None:
    problems = enrolment_problems(
        "REX!", question_words=[], username="jdupont", other_answers=["Fido", " rex "]
    )
    assert ids(problems) == ["answers.repeated"]
    spoken = enrolment_problems(
        "nineteen eighty four", question_words=[], username="jdupont", other_answers=["1984"]
    )
    assert ids(spoken) == ["answers.repeated"]


def test_an_answer_containing_a_question_word_is_refused() -> None:
    words = question_words(CITY_QUESTION)
    problems = enrolment_problems(
        "My mother's city", question_words=words, username="jdupont", other_answers=[]
    )
    assert ids(problems) == ["answers.contains_question"]


def test_short_and_framing_question_words_do_not_count() -> None:
    # "was", "your" (framing) and "in" (short) are not significant.
    problems = enrolment_problems(
        "Your town was Lyon",
        question_words=question_words(CITY_QUESTION),
        username="jdupont",
        other_answers=[],
    )
    assert problems == []


def test_raw_question_words_are_normalised_too() -> None:
    problems = enrolment_problems(
        "born in lyon", question_words=["BORN!", "in"], username="jdupont", other_answers=[]
    )
    assert ids(problems) == ["answers.contains_question"]


@pytest.mark.parametrize(
    ("username", "answer"),
    [
        ("jdupont", "jdupont1984"),
        ("JDupont", "J. Dupont"),
        ("CORP\\jdupont", "jdupont"),
        ("jdupont@corp.example", "the jdupont cat"),
    ],
)
def test_an_answer_containing_the_username_is_refused(username: str, answer: str) -> None:
    problems = enrolment_problems(answer, question_words=[], username=username, other_answers=[])
    assert ids(problems) == ["answers.contains_username"]


def test_a_very_short_username_is_not_searched_for() -> None:
    assert enrolment_problems("Alice", question_words=[], username="al", other_answers=[]) == []


def test_every_problem_is_reported_in_order() -> None:
    problems = enrolment_problems("jo", question_words=["jo"], username="jo", other_answers=["JO"])
    assert ids(problems) == ["answers.too_short", "answers.repeated"]
    problems = enrolment_problems(
        "mother jdupont",
        question_words=question_words(CITY_QUESTION),
        username="jdupont",
        other_answers=["Mother  JDUPONT"],
    )
    assert ids(problems) == [
        "answers.repeated",
        "answers.contains_question",
        "answers.contains_username",
    ]


@given(answer=st.text(max_size=30), others=st.lists(st.text(max_size=10), max_size=3))
def test_enrolment_problems_only_emit_catalogued_messages(answer: str, others: list[str]) -> None:
    for problem in enrolment_problems(
        answer, question_words=["mother", "city"], username="jdupont", other_answers=others
    ):
        assert problem.id in MESSAGE_IDS
        assert set(problem.param_dict()) == MESSAGES[problem.id]


# -- hashing ------------------------------------------------------------------------------------

ANSWER = normalise_answer("Correct Horse Battery Staple")


@pytest.fixture(scope="module")
def argon2() -> Argon2AnswerHasher:
    return Argon2AnswerHasher()


@pytest.fixture(scope="module")
def cheap_argon2() -> Argon2AnswerHasher:
    """Minimal Argon2id cost, for property tests that call verify many times."""
    return Argon2AnswerHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_hashers_satisfy_the_protocol(argon2: Argon2AnswerHasher) -> None:
    hashers: list[AnswerHasher] = [argon2, FastAnswerHasher()]
    assert len(hashers) == 2


def test_argon2_round_trip(argon2: Argon2AnswerHasher) -> None:
    stored = argon2.hash(ANSWER)
    assert stored.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in stored
    assert argon2.verify(stored, ANSWER)
    assert argon2.verify(stored, normalise_answer("  correct horse, battery staple! "))


def test_argon2_wrong_answer_fails(argon2: Argon2AnswerHasher) -> None:
    stored = argon2.hash(ANSWER)
    assert not argon2.verify(stored, "correct horse battery stapler")
    assert not argon2.verify(stored, "")


def test_argon2_stored_hash_never_contains_the_answer(argon2: Argon2AnswerHasher) -> None:
    first, second = argon2.hash(ANSWER), argon2.hash(ANSWER)
    assert first != second  # salted
    for stored in (first, second):
        assert ANSWER not in stored
        assert "horse" not in stored.casefold()


MALFORMED = [
    "",
    "not a hash",
    "$argon2id$",
    "$argon2id$v=19$m=19456,t=2,p=1$",
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$!!!!",
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$AAAA",
    "$argon2id$v=19$m=99999999999999,t=2,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "$2b$12$abcdefghijklmnopqrstuuO9YQn1fBkU1JkXQJ7XUZ5v2Xb8Dk1e2",
    "fast$00$00",
    "\x00\x00\x00",
]


@pytest.mark.parametrize("stored", MALFORMED)
def test_argon2_malformed_hash_returns_false(cheap_argon2: Argon2AnswerHasher, stored: str) -> None:
    assert cheap_argon2.verify(stored, ANSWER) is False


def test_argon2_rejects_a_fast_hash_and_vice_versa(cheap_argon2: Argon2AnswerHasher) -> None:
    fast = FastAnswerHasher()
    assert not cheap_argon2.verify(fast.hash(ANSWER), ANSWER)
    assert not fast.verify(cheap_argon2.hash(ANSWER), ANSWER)


@settings(max_examples=30, deadline=None)
@given(stored=st.text(max_size=120), answer=st.text(max_size=20))
def test_argon2_verify_never_raises(
    cheap_argon2: Argon2AnswerHasher, stored: str, answer: str
) -> None:
    assert cheap_argon2.verify(stored, answer) is False


def test_argon2_needs_rehash(argon2: Argon2AnswerHasher, cheap_argon2: Argon2AnswerHasher) -> None:
    assert not argon2.needs_rehash(argon2.hash(ANSWER))
    assert argon2.needs_rehash(cheap_argon2.hash(ANSWER))
    assert argon2.needs_rehash("garbage")


def _best_of(runs: int, action: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return min(timings)


def test_argon2_burn_costs_what_a_verify_costs(argon2: Argon2AnswerHasher) -> None:
    """DESIGN 5.2: a decoy answer costs the same KDF work as a real one."""
    stored = argon2.hash(ANSWER)
    verify_right = _best_of(3, lambda: argon2.verify(stored, ANSWER))
    verify_wrong = _best_of(3, lambda: argon2.verify(stored, "wrong answer"))
    burn = _best_of(3, lambda: argon2.burn(ANSWER))
    malformed = _best_of(3, lambda: argon2.verify("garbage", ANSWER))
    reference = statistics.mean([verify_right, verify_wrong])
    for cost in (burn, malformed):
        assert 0.5 <= cost / reference <= 2.0, (cost, reference)


def test_fast_hasher_round_trip_and_format() -> None:
    fast = FastAnswerHasher()
    stored = fast.hash(ANSWER)
    assert re.fullmatch(r"fast\$[0-9a-f]{32}\$[0-9a-f]{64}", stored)
    assert fast.verify(stored, ANSWER)
    assert not fast.verify(stored, ANSWER + "x")
    assert fast.hash(ANSWER) != stored  # salted
    assert ANSWER not in stored
    fast.burn(ANSWER)


@given(stored=st.text(max_size=80), answer=st.text(max_size=20))
def test_fast_verify_never_raises(stored: str, answer: str) -> None:
    assert FastAnswerHasher().verify(stored, answer) is False


# -- catalogues -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_answers_message_is_catalogued_with_matching_placeholders(lang: str) -> None:
    texts = catalogue(lang, "answers")
    assert set(texts) == MESSAGE_IDS
    for message_id, expected in MESSAGES.items():
        assert texts[message_id].strip(), message_id
        assert placeholders(texts[message_id]) == expected, message_id


def test_every_id_literal_in_the_module_is_declared() -> None:
    source = (ROOT / "dialogs" / "answers.py").read_text(encoding="utf-8")
    literals = set(re.findall(r"\"(answers\.[a-z_.]+)\"", source))
    assert literals == MESSAGE_IDS


def test_message_helpers() -> None:
    message = Message.of("answers.too_short", min=3)
    assert message == Message("answers.too_short", (("min", 3),))
    assert message.as_dict() == {"id": "answers.too_short", "params": {"min": 3}}
    assert Message.from_dict(message.as_dict()) == message
    assert Message.of("x", b=1, a="z").params == (("a", "z"), ("b", 1))
    with pytest.raises(ValueError):
        Message("")
    with pytest.raises(ValueError):
        Message("x", (("a", 1), ("a", 2)))
    with pytest.raises(ValueError):
        Message.from_dict({"id": "x", "params": {"a": [1]}})
    with pytest.raises(ValueError):
        placeholders("{0} and {}")


def test_parse_po_reads_escapes_and_continuations() -> None:
    text = (
        '# comment\nmsgid ""\nmsgstr "Language: en\\n"\n\n'
        'msgid "a.b"\nmsgstr ""\n"Say \\"hi\\" "\n"to {name}"\n'
    )
    assert parse_po(text) == {"a.b": 'Say "hi" to {name}'}
    with pytest.raises(ValueError):
        parse_po('msgid "a"\nmsgstr "x"\nmsgid "a"\nmsgstr "y"\n')
    with pytest.raises(ValueError):
        parse_po('msgid "a"\nmsgid_plural "as"\n')


def test_these_modules_import_no_network_or_ui_library() -> None:
    """DESIGN 3: dialogs/ sees the world through ports only."""
    modules = ["answers", "messages", "number_words", "password_quality", "questions"]
    modules.append("temporary_password")
    code = (
        "import sys\n"
        + "".join(f"import dialogs.{name}\n" for name in modules)
        + "print(','.join(sorted(m for m in ('redis', 'ldap3', 'flask', 'aiogram', 'twilio',"
        + " 'PIL') if m in sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""

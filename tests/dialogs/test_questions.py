"""The question catalogue, decoy questions and the stable choice of asked questions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.answers import enrolment_problems
from dialogs.messages import parse_po, placeholders
from dialogs.questions import (
    QUESTION_IDS,
    choose_asked_questions,
    choose_decoy_questions,
    question_words,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def catalogue(lang: str) -> dict[str, str]:
    path = ROOT / "channels" / "locale" / lang / "questions.po"
    return parse_po(path.read_text(encoding="utf-8"))


# -- catalogue --------------------------------------------------------------------------------


def test_catalogue_has_at_least_ten_distinct_questions() -> None:
    assert len(QUESTION_IDS) >= 10
    assert len(set(QUESTION_IDS)) == len(QUESTION_IDS)
    assert all(question.startswith("q.") for question in QUESTION_IDS)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_question_has_a_text_in_each_language(lang: str) -> None:
    texts = catalogue(lang)
    assert set(texts) == set(QUESTION_IDS)
    for question in QUESTION_IDS:
        assert texts[question].strip().endswith("?"), question
        assert placeholders(texts[question]) == frozenset(), question


# -- question words ---------------------------------------------------------------------------


def test_question_words_keeps_significant_words_only() -> None:
    assert question_words("In which city was your mother born?") == {"city", "mother", "born"}
    assert question_words("What is your maternal grandmother's first name?") == {
        "maternal",
        "grandmother",
    }


def test_question_words_in_french_split_elisions() -> None:
    assert question_words("Qui était votre héros d'enfance ?") == {"héros", "enfance"}
    assert question_words("Comment s'appelait votre première école ?") == {"école"}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_catalogue_question_words_refuse_an_echoing_answer(lang: str) -> None:
    for question, text in catalogue(lang).items():
        words = question_words(text)
        for word in words:
            problems = enrolment_problems(
                f"xyz {word}", question_words=words, username="jdupont", other_answers=[]
            )
            assert [p.id for p in problems] == ["answers.contains_question"], (question, word)


# -- decoys -----------------------------------------------------------------------------------


def test_decoys_are_stable_and_case_insensitive_in_the_username() -> None:
    first = choose_decoy_questions(KEY, "jdupont", 2)
    assert first == choose_decoy_questions(KEY, "jdupont", 2)
    assert first == choose_decoy_questions(KEY, " JDupont ", 2)
    assert len(first) == 2 and len(set(first)) == 2
    assert set(first) <= set(QUESTION_IDS)


def test_decoys_depend_on_the_key_and_the_username() -> None:
    users = [f"user{i}" for i in range(40)]
    mine = [choose_decoy_questions(KEY, user, 3) for user in users]
    with_other_key = [choose_decoy_questions(OTHER_KEY, user, 3) for user in users]
    assert mine != with_other_key
    assert len(set(mine)) > 10  # not one fixed set for everybody


def test_asking_for_more_decoys_keeps_the_first_ones() -> None:
    assert choose_decoy_questions(KEY, "jdupont", 3)[:2] == choose_decoy_questions(
        KEY, "jdupont", 2
    )


def test_every_question_serves_as_a_decoy() -> None:
    counts = Counter(
        question for i in range(600) for question in choose_decoy_questions(KEY, f"u{i}", 2)
    )
    assert set(counts) == set(QUESTION_IDS)
    expected = 600 * 2 / len(QUESTION_IDS)
    assert all(0.5 * expected < count < 1.5 * expected for count in counts.values())


def test_decoy_arguments_are_checked() -> None:
    assert choose_decoy_questions(KEY, "jdupont", 0) == ()
    assert len(choose_decoy_questions(KEY, "jdupont", len(QUESTION_IDS))) == len(QUESTION_IDS)
    with pytest.raises(ValueError):
        choose_decoy_questions(KEY, "jdupont", len(QUESTION_IDS) + 1)
    with pytest.raises(ValueError):
        choose_decoy_questions(KEY, "jdupont", -1)
    with pytest.raises(ValueError):
        choose_decoy_questions(b"", "jdupont", 2)


@given(username=st.text(max_size=30), count=st.integers(min_value=0, max_value=len(QUESTION_IDS)))
def test_decoys_property(username: str, count: int) -> None:
    chosen = choose_decoy_questions(KEY, username, count)
    assert len(chosen) == count == len(set(chosen))
    assert set(chosen) <= set(QUESTION_IDS)
    assert chosen == choose_decoy_questions(KEY, username, count)


# -- asked questions ---------------------------------------------------------------------------

ENROLLED = ("q.first_pet", "q.first_school", "q.childhood_street", "q.first_car_model")


def test_asked_questions_stay_the_same_within_an_epoch() -> None:
    asked = choose_asked_questions(KEY, "jdupont", ENROLLED, 2, epoch=7)
    for _attempt in range(5):
        assert choose_asked_questions(KEY, "jdupont", ENROLLED, 2, epoch=7) == asked
    assert len(asked) == 2 and set(asked) <= set(ENROLLED)


def test_asked_questions_ignore_the_order_of_the_enrolment() -> None:
    reordered = tuple(reversed(ENROLLED))
    assert choose_asked_questions(KEY, "jdupont", reordered, 2, epoch=1) == (
        choose_asked_questions(KEY, "jdupont", ENROLLED, 2, epoch=1)
    )


def test_a_new_epoch_draws_a_new_set() -> None:
    sets = {
        frozenset(choose_asked_questions(KEY, "jdupont", ENROLLED, 2, epoch=epoch))
        for epoch in range(30)
    }
    assert len(sets) > 1
    assert all(subset <= set(ENROLLED) for subset in sets)


def test_asked_questions_depend_on_the_key() -> None:
    mine = [choose_asked_questions(KEY, "jdupont", ENROLLED, 2, epoch=e) for e in range(20)]
    other = [choose_asked_questions(OTHER_KEY, "jdupont", ENROLLED, 2, epoch=e) for e in range(20)]
    assert mine != other


def test_asked_arguments_are_checked() -> None:
    assert choose_asked_questions(KEY, "jdupont", ENROLLED, 0, epoch=0) == ()
    with pytest.raises(ValueError):
        choose_asked_questions(KEY, "jdupont", ENROLLED, 5, epoch=0)
    with pytest.raises(ValueError):
        choose_asked_questions(KEY, "jdupont", ("q.first_pet", "q.first_pet"), 1, epoch=0)
    with pytest.raises(ValueError):
        choose_asked_questions(KEY, "jdupont", ENROLLED, 2, epoch=-1)
    with pytest.raises(ValueError):
        choose_asked_questions(b"", "jdupont", ENROLLED, 2, epoch=0)


@given(
    username=st.text(max_size=20),
    enrolled=st.lists(st.sampled_from(QUESTION_IDS), min_size=1, unique=True),
    data=st.data(),
    epoch=st.integers(min_value=0, max_value=2**40),
)
def test_asked_property(
    username: str, enrolled: list[str], data: st.DataObject, epoch: int
) -> None:
    count = data.draw(st.integers(min_value=0, max_value=len(enrolled)))
    asked = choose_asked_questions(KEY, username, enrolled, count, epoch)
    assert len(asked) == count == len(set(asked))
    assert set(asked) <= set(enrolled)
    assert asked == choose_asked_questions(KEY, username, enrolled[::-1], count, epoch)

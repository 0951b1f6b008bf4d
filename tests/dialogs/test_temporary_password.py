"""Temporary passwords: random, unambiguous, complex enough for AD and ppolicy, rated strong."""

from __future__ import annotations

import pytest

import dialogs.temporary_password as tp
from dialogs.password_quality import PasswordRules, PasswordVerdict, assess_password
from dialogs.temporary_password import (
    ALPHABET,
    DIGITS,
    LOWER,
    MAX_TRIES,
    SYMBOLS,
    UPPER,
    generate_temporary_password,
)

AMBIGUOUS = set("0Oo1lI")


def test_alphabet_has_no_look_alikes() -> None:
    assert not AMBIGUOUS & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET)


def test_default_password_is_complex_and_strong() -> None:
    for _ in range(20):
        password = generate_temporary_password()
        assert len(password) == 16
        assert set(password) <= set(ALPHABET)
        for pool in (UPPER, LOWER, DIGITS, SYMBOLS):
            assert set(password) & set(pool), (password, pool)
        assert assess_password(password, PasswordRules(), user_inputs=()).ok


@pytest.mark.parametrize("length", [12, 20, 64])
def test_other_lengths(length: int) -> None:
    password = generate_temporary_password(length)
    assert len(password) == length
    assert assess_password(password, PasswordRules(), user_inputs=()).ok


def test_passwords_are_not_repeated() -> None:
    passwords = {generate_temporary_password() for _ in range(50)}
    assert len(passwords) == 50


@pytest.mark.parametrize("length", [0, 4, 11, 129])
def test_bad_lengths_are_refused(length: int) -> None:
    with pytest.raises(ValueError):
        generate_temporary_password(length)


def test_custom_rules_are_honoured() -> None:
    rules = PasswordRules(min_length=20, max_length=64)
    with pytest.raises(ValueError):
        generate_temporary_password(16, rules=rules)
    assert len(generate_temporary_password(24, rules=rules, user_inputs=("jdupont",))) == 24


def test_gives_up_after_a_bounded_number_of_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def always_refuse(
        password: str, rules: PasswordRules, *, user_inputs: object
    ) -> PasswordVerdict:
        calls.append(password)
        return PasswordVerdict(ok=False, score=0, problems=())

    monkeypatch.setattr(tp, "assess_password", always_refuse)
    with pytest.raises(RuntimeError):
        generate_temporary_password()
    assert len(calls) == MAX_TRIES


def test_a_refused_draw_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    verdicts = iter([False, False, True])

    def refuse_twice(
        password: str, rules: PasswordRules, *, user_inputs: object
    ) -> PasswordVerdict:
        return PasswordVerdict(ok=next(verdicts), score=4, problems=())

    monkeypatch.setattr(tp, "assess_password", refuse_twice)
    assert len(generate_temporary_password()) == 16

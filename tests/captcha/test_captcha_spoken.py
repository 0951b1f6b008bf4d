"""Spoken digit challenges and normalisation of what the caller keys in or says."""

from __future__ import annotations

import pytest

from captcha.spoken import new_spoken_digits, normalise_spoken_attempt


def test_digits_only_and_default_length() -> None:
    digits = new_spoken_digits()
    assert len(digits) == 4
    assert digits.isascii() and digits.isdigit()


@pytest.mark.parametrize("length", [1, 6, 10])
def test_requested_length(length: int) -> None:
    assert len(new_spoken_digits(length)) == length


def test_digits_vary() -> None:
    assert len({new_spoken_digits(8) for _ in range(20)}) > 1


def test_zero_length_is_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        new_spoken_digits(0)


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        ("one two three four", "1234"),
        ("un deux trois quatre", "1234"),
        ("1 2 3 4", "1234"),
        ("1234#", "1234"),
        ("One, Two... THREE four", "1234"),
        ("zéro cinq six sept huit neuf", "056789"),
        ("zero five six seven eight nine", "056789"),
        ("euh 1 deux 3 uh four", "1234"),
        ("", ""),
        ("no digits here", ""),
    ],
)
def test_normalise_spoken_attempt(attempt: str, expected: str) -> None:
    assert normalise_spoken_attempt(attempt) == expected


def test_non_ascii_digits_become_ascii() -> None:
    assert normalise_spoken_attempt("١٢٣٤") == "1234"

"""Number words to digits: English and French, spoken forms equal typed ones."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialogs.number_words import NUMBER_WORDS, convert_tokens, join_digit_runs, to_digits

# -- tiny renderers, independent of the parser ----------------------------------------------

EN_SMALL = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy",
           8: "eighty", 9: "ninety"}  # fmt: skip


def en_below_100(n: int, hyphen: bool) -> str:
    if n < 20:
        return EN_SMALL[n]
    tens, unit = divmod(n, 10)
    if unit == 0:
        return EN_TENS[tens]
    return EN_TENS[tens] + ("-" if hyphen else " ") + EN_SMALL[unit]


def en_below_1000(n: int, hyphen: bool, use_and: bool) -> str:
    hundreds, rest = divmod(n, 100)
    parts: list[str] = []
    if hundreds:
        parts += [EN_SMALL[hundreds], "hundred"]
    if rest:
        if hundreds and use_and:
            parts.append("and")
        parts.append(en_below_100(rest, hyphen))
    return " ".join(parts)


def en_words(n: int, *, hyphen: bool = True, use_and: bool = False) -> str:
    """Standard cardinal: 1984 → 'one thousand nine hundred eighty-four'."""
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    parts: list[str] = []
    if thousands:
        parts += [en_below_1000(thousands, hyphen, use_and), "thousand"]
    if rest:
        if thousands and use_and and rest < 100:
            parts.append("and")
        parts.append(en_below_1000(rest, hyphen, use_and))
    return " ".join(parts)


def en_year(n: int, *, hyphen: bool = True) -> str:
    """Year style for 1000-9999: 1984 → 'nineteen eighty-four', 1905 → 'nineteen oh five'."""
    high, low = divmod(n, 100)
    head = en_below_100(high, hyphen)
    if low == 0:
        return f"{head} hundred"
    if low < 10:
        return f"{head} oh {EN_SMALL[low]}"
    return f"{head} {en_below_100(low, hyphen)}"


FR_SMALL = [
    "zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix",
    "onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf",
]  # fmt: skip
FR_TENS = {2: "vingt", 3: "trente", 4: "quarante", 5: "cinquante", 6: "soixante"}
BE_TENS = {7: "septante", 9: "nonante"}


def fr_below_100(n: int, belgian: bool = False) -> str:
    if n < 20:
        return FR_SMALL[n]
    tens, unit = divmod(n, 10)
    if belgian and tens in BE_TENS:
        word = BE_TENS[tens]
        return word if unit == 0 else (f"{word} et un" if unit == 1 else f"{word}-{FR_SMALL[unit]}")
    if tens == 7:
        return "soixante et onze" if n == 71 else f"soixante-{FR_SMALL[n - 60]}"
    if tens == 8:
        return "quatre-vingts" if unit == 0 else f"quatre-vingt-{FR_SMALL[unit]}"
    if tens == 9:
        return f"quatre-vingt-{FR_SMALL[n - 80]}"
    word = FR_TENS[tens]
    if unit == 0:
        return word
    return f"{word} et un" if unit == 1 else f"{word}-{FR_SMALL[unit]}"


def fr_below_1000(n: int, belgian: bool = False) -> str:
    hundreds, rest = divmod(n, 100)
    parts: list[str] = []
    if hundreds == 1:
        parts.append("cent")
    elif hundreds:
        parts.append(FR_SMALL[hundreds] + (" cents" if rest == 0 else " cent"))
    if rest:
        parts.append(fr_below_100(rest, belgian))
    return " ".join(parts)


def fr_words(n: int, *, belgian: bool = False, all_hyphens: bool = False) -> str:
    """Standard French cardinal; ``all_hyphens`` gives the 1990 spelling (deux-mille-cinq)."""
    if n == 0:
        return "zéro"
    thousands, rest = divmod(n, 1000)
    parts: list[str] = []
    if thousands == 1:
        parts.append("mille")
    elif thousands:
        parts.append(FR_SMALL[thousands] + " mille")
    if rest:
        parts.append(fr_below_1000(rest, belgian))
    text = " ".join(parts)
    return text.replace(" ", "-") if all_hyphens else text


def fr_year(n: int) -> str:
    """1100-1999 as 'dix-neuf cent quatre-vingt-quatre'."""
    high, low = divmod(n, 100)
    head = f"{fr_below_100(high)} cent"
    return head if low == 0 else f"{head} {fr_below_100(low)}"


# -- the examples from the brief --------------------------------------------------------------


@pytest.mark.parametrize(
    ("spoken", "digits"),
    [
        ("nineteen eighty four", "1984"),
        ("Nineteen Eighty-Four", "1984"),
        ("one thousand nine hundred eighty four", "1984"),
        ("nineteen hundred and eighty four", "1984"),
        ("two thousand and five", "2005"),
        ("twenty twenty", "2020"),
        ("twenty twenty one", "2021"),
        ("nineteen oh five", "1905"),
        ("seven", "7"),
        ("forty-two", "42"),
        ("forty two", "42"),
        ("one hundred and one", "101"),
        ("one two three four", "1234"),
        ("zero zero seven", "007"),
        ("one million two hundred thousand and six", "1200006"),
        ("mille neuf cent quatre-vingt-quatre", "1984"),
        ("dix-neuf cent quatre-vingt-quatre", "1984"),
        ("soixante-dix", "70"),
        ("soixante et onze", "71"),
        ("soixante-dix-sept", "77"),
        ("quatre-vingts", "80"),
        ("quatre-vingt-un", "81"),
        ("quatre-vingt-dix-sept", "97"),
        ("vingt et un", "21"),
        ("vingt-et-un", "21"),
        ("deux mille cinq", "2005"),
        ("deux cents", "200"),
        ("septante-cinq", "75"),
        ("nonante-neuf", "99"),
        ("huitante", "80"),
        ("zéro", "0"),
    ],
)
def test_spoken_numbers_become_digits(spoken: str, digits: str) -> None:
    assert to_digits(spoken) == digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rex", "rex"),
        ("rock and roll", "rock and roll"),
        ("oh my god", "oh my god"),
        ("and one", "and 1"),
        ("three and four", "3 and 4"),
        ("one hundred and one dalmatians", "101 dalmatians"),
        ("flat seven b", "flat 7 b"),
        ("vingt et", "20 et"),
        ("route sixty six", "route 66"),
        ("le chat et le chien", "le chat et le chien"),
        ("pont neuf", "pont 9"),  # documented price of always trying both languages
    ],
)
def test_words_that_are_not_numbers_are_kept(text: str, expected: str) -> None:
    assert to_digits(text) == expected


def test_groups_stay_separate_tokens_until_joined() -> None:
    assert convert_tokens(["nineteen", "eighty", "four", "rex"]) == ["19", "84", "rex"]
    assert join_digit_runs(["19", "84", "rex", "7", "7"]) == ["1984", "rex", "77"]
    assert join_digit_runs(["19", "b", "84"]) == ["19", "b", "84"]


def test_typed_digits_join_with_spoken_ones() -> None:
    assert to_digits("19 84") == to_digits("nineteen eighty four") == "1984"
    assert to_digits("nineteen 84") == "1984"


def test_number_words_vocabulary_has_both_languages() -> None:
    assert {"nineteen", "hundred", "quatre", "vingt", "mille", "cent"} <= NUMBER_WORDS
    assert "and" not in NUMBER_WORDS and "et" not in NUMBER_WORDS


# -- every number 0..9999 ------------------------------------------------------------------


def test_every_english_number_up_to_9999() -> None:
    for n in range(10_000):
        assert to_digits(en_words(n)) == str(n), en_words(n)
        assert to_digits(en_words(n, hyphen=False, use_and=True)) == str(n)
        if n >= 1000:
            assert to_digits(en_year(n)) == str(n), en_year(n)


def test_every_french_number_up_to_9999() -> None:
    for n in range(10_000):
        assert to_digits(fr_words(n)) == str(n), fr_words(n)
    for n in range(1100, 2000):
        assert to_digits(fr_year(n)) == str(n), fr_year(n)


@given(
    n=st.integers(min_value=0, max_value=9999),
    hyphen=st.booleans(),
    use_and=st.booleans(),
    year_style=st.booleans(),
    upper=st.booleans(),
)
def test_english_words_property(
    n: int, hyphen: bool, use_and: bool, year_style: bool, upper: bool
) -> None:
    words = (
        en_year(n, hyphen=hyphen)
        if year_style and n >= 1000
        else en_words(n, hyphen=hyphen, use_and=use_and)
    )
    if upper:
        words = words.title()
    assert to_digits(words) == str(n)


@given(
    n=st.integers(min_value=0, max_value=9999),
    belgian=st.booleans(),
    all_hyphens=st.booleans(),
)
def test_french_words_property(n: int, belgian: bool, all_hyphens: bool) -> None:
    assert to_digits(fr_words(n, belgian=belgian, all_hyphens=all_hyphens)) == str(n)


@given(
    left=st.integers(min_value=0, max_value=9999),
    right=st.integers(min_value=0, max_value=9999),
)
def test_words_around_a_number_are_untouched(left: int, right: int) -> None:
    assert to_digits(f"rex {en_words(left)} is {fr_words(right)} chat") == (
        f"rex {left} is {right} chat"
    )


@given(st.lists(st.sampled_from([*sorted(NUMBER_WORDS), "and", "et", "oh", "rex", "7"])))
def test_to_digits_is_idempotent_and_total(words: list[str]) -> None:
    once = to_digits(" ".join(words))
    assert to_digits(once) == once

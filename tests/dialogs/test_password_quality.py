"""The product's password checks: length, zxcvbn with context, personal data, plain hints."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import zxcvbn.feedback
from hypothesis import given, settings
from hypothesis import strategies as st

import dialogs.password_quality as pq
from dialogs.messages import Message, parse_po, placeholders
from dialogs.password_quality import (
    MESSAGE_IDS,
    MESSAGES,
    PasswordRules,
    PasswordVerdict,
    assess_password,
    confirm_matches,
    rules_summary,
)

ROOT = Path(__file__).resolve().parents[2]
RULES = PasswordRules()
PERSON = ("jdupont", "Jean Dupont", "jean.dupont@corp.example")
STRONG = "correct horse battery staple"
HINTS = {message_id for message_id in MESSAGE_IDS if message_id.startswith("password.hint.")}


def ids(verdict: PasswordVerdict) -> list[str]:
    return [problem.id for problem in verdict.problems]


def check_shape(verdict: PasswordVerdict) -> None:
    assert verdict.ok == (verdict.problems == ())
    assert 0 <= verdict.score <= 4
    for problem in verdict.problems:
        assert problem.id in MESSAGE_IDS
        assert set(problem.param_dict()) == MESSAGES[problem.id]


# -- rules ------------------------------------------------------------------------------------


def test_default_rules_follow_the_design() -> None:
    assert (RULES.min_length, RULES.max_length, RULES.min_score, RULES.org_words) == (
        12,
        128,
        3,
        (),
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_length": 63},
        {"min_length": 0},
        {"min_length": 100, "max_length": 80},
        {"min_score": 5},
        {"min_score": -1},
    ],
)
def test_invalid_rules_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        PasswordRules(**kwargs)


def test_rules_summary_lists_what_is_shown_before_typing() -> None:
    summary = rules_summary(PasswordRules(min_length=14, max_length=100))
    assert summary == (
        Message.of("password.rules.length", min=14, max=100),
        Message.of("password.rules.strength"),
        Message.of("password.rules.no_personal"),
    )


# -- assess_password -----------------------------------------------------------------------------


def test_a_strong_passphrase_is_accepted() -> None:
    verdict = assess_password(STRONG, RULES, user_inputs=PERSON)
    assert verdict == PasswordVerdict(ok=True, score=4, problems=())


def test_too_short() -> None:
    verdict = assess_password("Xk#9vQ!2mZ", RULES, user_inputs=PERSON)
    assert ids(verdict)[0] == "password.too_short"
    assert verdict.problems[0].param_dict() == {"min": 12}
    assert not verdict.ok


def test_sixty_four_and_one_hundred_twenty_eight_characters_are_allowed() -> None:
    for length in (64, 128):
        password = (STRONG + " purple elephant umbrella gravity ") * 5
        verdict = assess_password(password[:length], RULES, user_inputs=PERSON)
        assert verdict.ok, (length, verdict)


def test_too_long() -> None:
    verdict = assess_password("x" * 129, RULES, user_inputs=PERSON)
    assert verdict == PasswordVerdict(
        ok=False, score=0, problems=(Message.of("password.too_long", max=128),)
    )


def test_no_composition_rules() -> None:
    # all lower case, no digit, no symbol: fine when it is hard to guess
    assert assess_password("plinth marmalade osprey", RULES, user_inputs=PERSON).ok


@pytest.mark.parametrize(
    ("password", "hint"),
    [
        ("password1234", "password.hint.common"),
        ("aaaaaaaaaaaaaa", "password.hint.repeats"),
        ("abcdefghijklmn", "password.hint.sequence"),
        ("zxcvbnm,./zxcv", "password.hint.keyboard_pattern"),
        ("Password12345", "password.hint.predictable_changes"),
        ("jenniferjennifer", "password.hint.repeats"),
    ],
)
def test_weak_passwords_say_why(password: str, hint: str) -> None:
    verdict = assess_password(password, RULES, user_inputs=())
    check_shape(verdict)
    assert not verdict.ok
    weak = [p for p in verdict.problems if p.id == "password.weak"]
    assert weak == [Message.of("password.weak", score=verdict.score, min=3)]
    assert verdict.score < 3
    assert hint in ids(verdict)
    assert "password.hint.add_words" in ids(verdict)


def test_personal_data_is_refused() -> None:
    for password in (
        "jdupont-plinth-marmalade",
        "Marmalade DUPONT osprey",
        "osprey jean plinth marmalade",
    ):
        verdict = assess_password(password, RULES, user_inputs=PERSON)
        assert "password.contains_personal" in ids(verdict), password


def test_short_personal_fragments_do_not_block() -> None:
    # "li" (2 characters) is too short to be searched for
    verdict = assess_password("plinth marmalade osprey", RULES, user_inputs=("li",))
    assert verdict.ok


def test_user_inputs_and_org_words_lower_the_score() -> None:
    password = "acmewidgets2024!"
    plain = assess_password(password, RULES, user_inputs=())
    with_org = assess_password(password, PasswordRules(org_words=("acmewidgets",)), user_inputs=())
    assert plain.ok and plain.score == 4
    assert not with_org.ok and with_org.score < 3
    assert "password.contains_personal" not in ids(with_org)


def test_an_empty_password_does_not_crash() -> None:
    verdict = assess_password("", RULES, user_inputs=PERSON)
    assert ids(verdict)[:2] == ["password.too_short", "password.weak"]
    assert verdict.score == 0


def test_unknown_zxcvbn_feedback_falls_back_to_a_generic_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fake(password: str, user_inputs: list[str], max_length: int) -> dict[str, Any]:
        return {"score": 1, "feedback": {"warning": "Something new.", "suggestions": []}}

    monkeypatch.setattr(pq, "_zxcvbn_rs", None)  # the Python build, whose feedback is faked
    monkeypatch.setattr(pq, "zxcvbn", fake)
    verdict = assess_password("whatever-long-enough", RULES, user_inputs=())
    assert ids(verdict) == ["password.weak", "password.hint.longer"]


def test_weak_without_any_feedback_still_gets_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(password: str, user_inputs: list[str], max_length: int) -> dict[str, Any]:
        return {"score": 2, "feedback": {"warning": "", "suggestions": []}}

    monkeypatch.setattr(pq, "_zxcvbn_rs", None)  # the Python build, whose feedback is faked
    monkeypatch.setattr(pq, "zxcvbn", fake)
    assert ids(assess_password("whatever-long-enough", RULES, user_inputs=())) == [
        "password.weak",
        "password.hint.longer",
    ]


def test_every_zxcvbn_feedback_string_is_mapped() -> None:
    """Guards a zxcvbn upgrade: each English string it can say has a plain-language id."""
    tree = ast.parse(inspect.getsource(zxcvbn.feedback))
    strings = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }
    assert len(strings) > 15
    missing = strings - set(pq._ZXCVBN_HINTS)
    assert not missing
    assert {hint for hint in pq._ZXCVBN_HINTS.values() if hint} <= HINTS


@settings(max_examples=60, deadline=None)
@given(password=st.text(max_size=40), inputs=st.lists(st.text(max_size=12), max_size=3))
def test_assess_password_is_total(password: str, inputs: list[str]) -> None:
    check_shape(assess_password(password, RULES, user_inputs=inputs))


# -- confirmation -----------------------------------------------------------------------------


def test_confirm_matches() -> None:
    assert confirm_matches(STRONG, STRONG)
    assert confirm_matches("Épée ☕ long password", "Épée ☕ long password")
    assert not confirm_matches(STRONG, STRONG + " ")
    assert not confirm_matches(STRONG, STRONG.upper())
    assert not confirm_matches("", STRONG)


# -- catalogues -------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_password_message_is_catalogued_with_matching_placeholders(lang: str) -> None:
    path = ROOT / "channels" / "locale" / lang / "password.po"
    texts = parse_po(path.read_text(encoding="utf-8"))
    assert set(texts) == MESSAGE_IDS
    for message_id, expected in MESSAGES.items():
        assert texts[message_id].strip(), message_id
        assert placeholders(texts[message_id]) == expected, message_id
        texts[message_id].format(**dict.fromkeys(expected, 1))  # formats without error


def test_every_id_literal_in_the_module_is_declared() -> None:
    source = (ROOT / "dialogs" / "password_quality.py").read_text(encoding="utf-8")
    literals = set(re.findall(r"\"(password\.[a-z_.]+)\"", source))
    assert literals == MESSAGE_IDS


# -- the Rust and Python builds of zxcvbn agree (issue 13: the Rust one rates, ~10x cheaper) --

_PARITY_SAMPLE = (
    "password", "password123", "Tr0ub4dour&3", "correct horse battery staple", "qwertyuiop",
    "aaaaaaaaaaaa", "abcabcabcabc", "1234567890", "Summer2024!", "alicemartin2024",
    "P@ssw0rd", "letmein", "dragonfly-umbrella-87", "zxcvbnm", "Martin1987",
    "01/02/1990", "drowssap", "iloveyou", "é" * 20, "NoNeedForSymbols",
)


def test_rust_and_python_zxcvbn_give_the_same_score_and_hints() -> None:
    pytest.importorskip("zxcvbn_rs_py")
    from dialogs import password_quality as quality

    context = ["alice", "Alice Martin", "amartin", "example"]
    for candidate in _PARITY_SAMPLE:
        rust = quality._zxcvbn_rust(candidate, context)
        python = quality._zxcvbn_python(candidate, context)
        assert rust["score"] == python["score"], candidate
        assert quality._hints(rust["feedback"]) == quality._hints(python["feedback"] or {}), (
            candidate
        )


def test_the_rust_zxcvbn_is_the_one_that_rates_where_installed() -> None:
    pytest.importorskip("zxcvbn_rs_py")
    from dialogs import password_quality as quality

    assert quality._zxcvbn_rs is not None
    verdict = quality._judge("password123", PasswordRules(), ["alice"])
    assert not verdict.ok and Message.of("password.hint.common") in verdict.problems

"""The message catalogue: loading, language parity, fallbacks, embedded messages, countdown."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from channels.catalogue import Catalogue, CatalogueError, normalise_language
from dialogs.messages import Message, placeholders

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def write_po(folder: Path, lang: str, name: str, entries: dict[str, str]) -> None:
    body = "".join(f'msgid "{key}"\nmsgstr "{text}"\n\n' for key, text in entries.items())
    (folder / lang).mkdir(parents=True, exist_ok=True)
    (folder / lang / f"{name}.po").write_text(HEADER + body, encoding="utf-8")


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
def small(tmp_path: Path) -> Catalogue:
    write_po(tmp_path, "en", "a", {
        "greet": "Hello {name}",
        "only.en": "English only",
        "ask.question": "Question {n}: {question_msg}",
        "q.pet": "Your first pet?",
        "q.with_n": "Question number {n}?",
        "common.countdown": "{time} left",
    })
    write_po(tmp_path, "en", "b", {"other": "From another file"})
    write_po(tmp_path, "fr", "a", {
        "greet": "Bonjour {name}",
        "ask.question": "Question {n} : {question_msg}",
        "q.pet": "Votre premier animal ?",
        "common.countdown": "{time} restantes",
    })
    return Catalogue.load(tmp_path)


# -- the shipped catalogues -------------------------------------------------------------------


def test_shipped_catalogue_has_english_and_french(shipped: Catalogue) -> None:
    assert {"en", "fr"} <= set(shipped.languages)


def test_every_english_id_exists_in_french_and_back(shipped: Catalogue) -> None:
    assert shipped.missing(shipped.ids("en"), "fr") == set()
    assert shipped.missing(shipped.ids("fr"), "en") == set()


def test_translations_use_the_same_placeholders_as_english(shipped: Catalogue) -> None:
    for lang in shipped.languages:
        for message_id in shipped.ids("en") & shipped.ids(lang):
            english = shipped.text(message_id, "en") or ""
            other = shipped.text(message_id, lang) or ""
            assert placeholders(english) == placeholders(other), (lang, message_id)


def test_every_language_folder_matches_english(shipped: Catalogue) -> None:
    for lang in shipped.languages:
        assert shipped.ids(lang) == shipped.ids("en"), lang


def test_the_common_messages_exist(shipped: Catalogue) -> None:
    needed = {
        "common.countdown", "common.choose_number", "common.captcha_saved",
        "common.captcha_spoken", "common.sms_sent", "common.notify_sent",
        "common.transferred", "common.goodbye", "common.secret_hidden",
        "common.internal_error",
    }
    for lang in ("en", "fr"):
        assert shipped.missing(needed, lang) == set()


def test_shipped_messages_render_in_both_languages(shipped: Catalogue) -> None:
    message = Message.of("common.transferred", ticket="HD-42")
    assert shipped.render(message, "en") == "Transferring you to the help desk (ticket HD-42)."
    assert "HD-42" in shipped.render(message, "fr")
    assert shipped.render(message, "fr") != shipped.render(message, "en")


# -- loading ----------------------------------------------------------------------------------


def test_all_po_files_of_a_language_are_merged(small: Catalogue) -> None:
    assert small.render(Message.of("other"), "en") == "From another file"
    assert small.languages == ("en", "fr")


def test_a_duplicate_id_across_files_is_a_load_error(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "a", {"same.id": "one"})
    write_po(tmp_path, "en", "b", {"same.id": "two"})
    with pytest.raises(CatalogueError, match=r"same\.id"):
        Catalogue.load(tmp_path)


def test_a_malformed_file_is_a_load_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "broken.po").write_text('msgid "x"\nnonsense\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"broken\.po"):
        Catalogue.load(tmp_path)


def test_a_missing_folder_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError):
        Catalogue.load(tmp_path / "nowhere")


# -- rendering --------------------------------------------------------------------------------


def test_render_formats_parameters_in_the_language(small: Catalogue) -> None:
    assert small.render(Message.of("greet", name="Ada"), "en") == "Hello Ada"
    assert small.render(Message.of("greet", name="Ada"), "fr") == "Bonjour Ada"


def test_region_and_case_are_ignored_in_the_language(small: Catalogue) -> None:
    assert small.render(Message.of("greet", name="Ada"), "fr-FR") == "Bonjour Ada"
    assert normalise_language("FR_ca") == "fr"
    assert normalise_language("") == "en"


def test_missing_in_the_language_falls_back_to_english(small: Catalogue) -> None:
    assert small.render(Message.of("only.en"), "fr") == "English only"
    assert small.render(Message.of("greet", name="Ada"), "de") == "Hello Ada"


def test_missing_everywhere_shows_the_id_and_warns_once(
    small: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="channels.catalogue"):
        first = small.render(Message.of("no.such.id", x=1), "fr")
        second = small.render(Message.of("no.such.id"), "en")
    assert first == second == "no.such.id"
    warnings = [r for r in caplog.records if "no.such.id" in r.getMessage()]
    assert len(warnings) == 1


def test_a_missing_parameter_stays_visible(small: Catalogue) -> None:
    assert small.render(Message.of("greet"), "en") == "Hello {name}"


def test_a_missing_parameter_with_a_format_spec_stays_visible(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "a", {"spec": "{mm:02d} and {ss}"})
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.render(Message.of("spec", ss=5), "en") == "{mm:02d} and 5"


def test_a_parameter_that_does_not_fit_its_spec_does_not_raise(tmp_path: Path) -> None:
    write_po(tmp_path, "en", "a", {"spec": "{mm:02d} left"})
    catalogue = Catalogue.load(tmp_path)
    assert catalogue.render(Message.of("spec", mm="four"), "en") == "{mm:02d} left"


def test_a_parameter_value_is_not_translated(small: Catalogue) -> None:
    assert small.render(Message.of("greet", name="q.pet"), "fr") == "Bonjour q.pet"


def test_a_msg_parameter_embeds_the_text_of_a_known_id(small: Catalogue) -> None:
    message = Message.of("ask.question", n=1, question_msg="q.pet")
    assert small.render(message, "en") == "Question 1: Your first pet?"
    assert small.render(message, "fr") == "Question 1 : Votre premier animal ?"


def test_an_embedded_message_gets_the_other_parameters(small: Catalogue) -> None:
    message = Message.of("ask.question", n=2, question_msg="q.with_n")
    assert small.render(message, "en") == "Question 2: Question number 2?"


def test_a_msg_parameter_that_is_no_known_id_is_shown_as_is(small: Catalogue) -> None:
    message = Message.of("ask.question", n=1, question_msg="What is it?")
    assert small.render(message, "en") == "Question 1: What is it?"


def test_braces_in_a_parameter_value_are_not_formatted(small: Catalogue) -> None:
    assert small.render(Message.of("greet", name="{name}"), "en") == "Hello {name}"


# -- countdown --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "lang", "expected"),
    [
        (258, "en", "04:18 left"),
        (258, "fr", "04:18 restantes"),
        (0, "en", "00:00 left"),
        (59, "en", "00:59 left"),
        (300, "en", "05:00 left"),
        (-3, "en", "00:00 left"),
    ],
)
def test_countdown_is_minutes_and_seconds(
    shipped: Catalogue, seconds: int, lang: str, expected: str
) -> None:
    assert shipped.countdown(seconds, lang) == expected


def test_missing_reports_ids_absent_from_a_language(small: Catalogue) -> None:
    assert small.missing({"greet", "only.en", "nope"}, "fr") == {"only.en", "nope"}
    assert small.missing({"greet"}, "en") == set()

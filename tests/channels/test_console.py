"""The console channel, driven like a person at a terminal: type lines, read what is printed."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import pytest
from PIL import Image

from channels.catalogue import Catalogue
from channels.console import ConsoleChannel
from dialogs.actions import (
    Action,
    Ask,
    Choice,
    End,
    ForgetMessage,
    Notify,
    Say,
    SendSms,
    ShowCaptcha,
    TransferToHelpdesk,
)
from dialogs.captcha_port import Challenge
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message

TEST_TEXTS = {
    "en": {
        "t.welcome": "Welcome.",
        "t.menu": "What do you need?",
        "t.forgot": "I forgot my password",
        "t.unlock": "My account is locked",
        "t.username": "Your username?",
        "t.password": "Your new password?",
        "t.code": "Key in the code we sent.",
        "t.code_sms": "Your code is {code}",
        "t.captcha": "Type the characters in the picture.",
        "t.spoken": "Listen and key in the digits.",
        "t.done": "Done: log in with your new password.",
        "t.temp": "Your temporary password is {password}",
        "t.rules": "At least {min} characters.",
        "language.changed": "I will speak English.",
    },
    "fr": {
        "t.welcome": "Bienvenue.",
        "t.menu": "De quoi avez-vous besoin ?",
        "t.forgot": "J'ai oublié mon mot de passe",
        "t.unlock": "Mon compte est bloqué",
        "language.changed": "Je parlerai français.",
    },
}

MENU = Ask(
    Message.of("t.menu"),
    choices=(Choice("forgot", Message.of("t.forgot")), Choice("unlock", Message.of("t.unlock"))),
    expect="choice",
)
Turn = Sequence[Action] | Exception


class ScriptedEngine:
    """Answers each event with the next scripted turn, and records what it was sent."""

    def __init__(self, *turns: Turn) -> None:
        self.turns = list(turns)
        self.events: list[Event] = []
        self.keys: list[ConversationKey] = []

    def handle(self, key: ConversationKey, event: Event) -> list[Action]:
        self.keys.append(key)
        self.events.append(event)
        turn = self.turns.pop(0) if self.turns else []
        if isinstance(turn, Exception):
            raise turn
        return list(turn)


class TtyInput(io.StringIO):
    """Input that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


class BreakingInput(io.StringIO):
    """Input interrupted by Ctrl-C."""

    def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]
        raise KeyboardInterrupt


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    shipped = Catalogue.load()
    texts = {lang: {i: shipped.text(i, lang) or "" for i in shipped.ids(lang)}
             for lang in shipped.languages}
    for lang, extra in TEST_TEXTS.items():
        texts.setdefault(lang, {}).update(extra)
    return Catalogue(texts)


class Console:
    """One console run: the channel, its engine and what it printed."""

    def __init__(self, catalogue: Catalogue, tmp_path: Path, script: str, *turns: Turn,
                 stdin: io.StringIO | None = None, secrets: Sequence[str] = ()) -> None:
        self.engine = ScriptedEngine(*turns)
        self.stdout = io.StringIO()
        self.prompts: list[str] = []
        self.secrets = list(secrets)
        self.captcha_dir = tmp_path / "captchas"
        self.delivered: list[tuple[SendSms | Notify, str]] = []
        self.channel = ConsoleChannel(
            self.engine, catalogue, stdin=stdin if stdin is not None else io.StringIO(script),
            stdout=self.stdout, captcha_dir=self.captcha_dir, secret_reader=self.read_secret,
            deliver=self.deliver)

    def deliver(self, action: SendSms | Notify, text: str) -> bool:
        self.delivered.append((action, text))
        return True

    def read_secret(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.secrets:
            raise EOFError
        return self.secrets.pop(0)

    def run(self) -> int:
        return self.channel.run()

    @property
    def lines(self) -> list[str]:
        return self.stdout.getvalue().splitlines()


def say(message_id: str, **params: str | int) -> Say:
    return Say(Message.of(message_id, **params))


# -- starting and stopping ------------------------------------------------------------------------


def test_the_conversation_starts_with_a_start_event(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "", [say("t.welcome"), MENU])
    assert console.run() == 0
    assert console.engine.events == [Event.start("en")]
    assert console.engine.keys == [ConversationKey("console", "local")]
    assert console.lines == [
        "Welcome.", "What do you need?", "1) I forgot my password", "2) My account is locked",
        "Reply with a number.",
    ]


def test_end_of_input_exits_zero(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "alice\n", [MENU], [say("t.done")])
    assert console.run() == 0
    assert [e.kind for e in console.engine.events] == ["start", "text"]


def test_quit_says_goodbye_and_sends_nothing_more(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "quit\nalice\n", [MENU])
    assert console.run() == 0
    assert console.lines[-1] == "Goodbye."
    assert len(console.engine.events) == 1


def test_exit_works_like_quit(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "  EXIT \n", [MENU])
    assert console.run() == 0
    assert len(console.engine.events) == 1


def test_ctrl_c_leaves_without_a_traceback(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "", [MENU], stdin=BreakingInput())
    assert console.run() == 130
    assert "Traceback" not in console.stdout.getvalue()


# -- reading answers ------------------------------------------------------------------------------


def test_a_number_picks_the_numbered_choice(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "2\n", [MENU])
    console.run()
    assert console.engine.events[-1] == Event.chose("unlock")


def test_the_choice_id_picks_the_choice_too(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "Forgot\n", [MENU])
    console.run()
    assert console.engine.events[-1] == Event.chose("forgot")


def test_a_number_out_of_range_is_sent_as_text(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "7\n", [MENU])
    console.run()
    assert console.engine.events[-1].kind == "text"
    assert console.engine.events[-1].text == "7"


def test_free_text_and_commands_are_sent_as_typed_text(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    ask = Ask(Message.of("t.username"))
    console = Console(catalogue, tmp_path, "alice\nmenu\ncancel\nhelp\nlanguage\n", [ask])
    console.run()
    texts = [(e.kind, e.text) for e in console.engine.events[1:]]
    assert texts == [("text", w) for w in ("alice", "menu", "cancel", "help", "language")]
    assert console.engine.events[1].message_ref is not None


def test_blank_lines_are_ignored(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "\n   \nalice\n", [Ask(Message.of("t.username"))])
    console.run()
    assert [e.text for e in console.engine.events[1:]] == ["alice"]


def test_a_digits_question_sends_a_digits_event(catalogue: Catalogue, tmp_path: Path) -> None:
    ask = Ask(Message.of("t.code"), expect="digits")
    console = Console(catalogue, tmp_path, "123 456\nmenu\n", [ask], [ask])
    console.run()
    assert console.engine.events[1] == Event("digits", "123456", message_ref="line-1")
    assert console.engine.events[2].kind == "text"
    assert console.engine.events[2].text == "menu"


def test_the_countdown_is_shown_in_brackets(catalogue: Catalogue, tmp_path: Path) -> None:
    ask = Ask(Message.of("t.username"), seconds_left=258, notes=(Message.of("t.rules", min=12),))
    console = Console(catalogue, tmp_path, "", [ask])
    console.run()
    assert console.lines == ["Your username?", "At least 12 characters.", "[04:18 left]"]


# -- secrets --------------------------------------------------------------------------------------


def test_a_secret_on_a_terminal_is_read_without_echo(catalogue: Catalogue, tmp_path: Path) -> None:
    ask = Ask(Message.of("t.password"), secret_input=True)
    console = Console(catalogue, tmp_path, "", [ask], [say("t.done")],
                      stdin=TtyInput("not this line\n"), secrets=[" s3cret phrase "])
    assert console.run() == 0
    assert console.prompts[0] == "(input hidden) "
    assert console.engine.events[1].text == " s3cret phrase "
    assert "s3cret" not in console.stdout.getvalue()


def test_a_secret_from_a_pipe_is_read_as_a_line(catalogue: Catalogue, tmp_path: Path) -> None:
    ask = Ask(Message.of("t.password"), secret_input=True)
    console = Console(catalogue, tmp_path, "quit\n", [ask])
    console.run()
    assert console.prompts == []
    assert console.engine.events[1].text == "quit"  # a secret is never taken as a command


def test_a_prompt_is_shown_only_on_a_terminal(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "", [MENU], stdin=TtyInput("1\n"))
    console.run()
    assert console.stdout.getvalue().count("> ") == 2
    piped = Console(catalogue, tmp_path, "1\n", [MENU])
    piped.run()
    assert "> " not in piped.stdout.getvalue()


def test_a_secret_say_is_printed(catalogue: Catalogue, tmp_path: Path) -> None:
    secret = Say(Message.of("t.temp", password="Xy7-plum-orbit"), secret=True)
    console = Console(catalogue, tmp_path, "", [secret])
    console.run()
    assert console.lines == ["Your temporary password is Xy7-plum-orbit"]


def test_forget_message_prints_nothing(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "", [ForgetMessage("line-1")])
    console.run()
    assert console.stdout.getvalue() == ""


# -- captcha, SMS, notices, hand-over -------------------------------------------------------------


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_image_captcha_is_saved_as_a_png(catalogue: Catalogue, tmp_path: Path) -> None:
    show = ShowCaptcha(Challenge("c1", "image", image_png=png_bytes()), Message.of("t.captcha"),
                       seconds_left=300)
    console = Console(catalogue, tmp_path, "k7pq\n", [show], [show])
    console.run()
    first, second = console.captcha_dir / "captcha-1.png", console.captcha_dir / "captcha-2.png"
    assert first.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(first) as image:
        assert image.format == "PNG"
    assert second.exists()
    assert console.lines[:3] == [
        "Type the characters in the picture.", "[05:00 left]", f"Captcha image saved to {first}",
    ]
    assert console.engine.events[1] == Event.typed("k7pq", message_ref="line-1")


def test_a_spoken_captcha_prints_the_digits(catalogue: Catalogue, tmp_path: Path) -> None:
    show = ShowCaptcha(Challenge("c1", "spoken", spoken_digits="4719"), Message.of("t.spoken"))
    console = Console(catalogue, tmp_path, "4719\n", [show])
    console.run()
    assert console.lines == ["Listen and key in the digits.", "Key in: 4 7 1 9"]
    assert console.engine.events[1].kind == "digits"
    assert not console.captcha_dir.exists()


def test_an_audio_captcha_is_saved_as_a_wav_next_to_the_pictures(
        catalogue: Catalogue, tmp_path: Path) -> None:
    """Issue 11: the accessible alternative on the console; a word asks for it, the digits
    heard answer it, and no digit is ever printed."""
    image = ShowCaptcha(Challenge("c1", "image", image_png=png_bytes()), Message.of("t.captcha"))
    audio = ShowCaptcha(Challenge("c2", "audio", audio_wav=b"RIFF....WAVE"),
                        Message.of("t.spoken"),
                        choices=(Choice("captcha.new", Message.of("t.forgot")),))
    console = Console(catalogue, tmp_path, "audio\n4719\n", [image], [audio], [])
    console.run()
    wav = console.captcha_dir / "captcha-2.wav"
    assert wav.read_bytes() == b"RIFF....WAVE"
    assert f"Captcha audio saved to {wav}" in console.lines
    printed = console.stdout.getvalue()
    assert "1) " not in printed and "Key in:" not in printed  # no numbered menu, no digit said
    assert console.engine.events[1] == Event.typed("audio", message_ref="line-1")
    assert console.engine.events[2].kind == "digits"


def test_an_sms_leaves_through_delivery_never_onto_the_screen(catalogue: Catalogue,
                                                               tmp_path: Path) -> None:
    sms = SendSms("+15550001234", Message.of("t.code_sms", code="493027"), secret=True)
    console = Console(catalogue, tmp_path, "", [sms])
    console.run()
    assert console.lines == []
    assert console.delivered == [(sms, "Your code is 493027")]


def test_a_notice_leaves_through_delivery_never_onto_the_screen(catalogue: Catalogue,
                                                                tmp_path: Path) -> None:
    notice = Notify("telegram", "12345", Message.of("t.done"))
    console = Console(catalogue, tmp_path, "", [notice])
    console.run()
    assert console.lines == []
    assert console.delivered == [(notice, "Done: log in with your new password.")]


def test_without_delivery_nothing_leaves_and_nothing_shows(catalogue: Catalogue,
                                                           tmp_path: Path) -> None:
    sms = SendSms("+15550001234", Message.of("t.code_sms", code="493027"), secret=True)
    stdout = io.StringIO()
    channel = ConsoleChannel(ScriptedEngine([sms]), catalogue, stdin=io.StringIO(""),
                             stdout=stdout, captcha_dir=tmp_path)
    assert channel.run() == 0
    assert "493027" not in stdout.getvalue()


def test_a_transfer_prints_the_ticket(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "", [TransferToHelpdesk("HD-7")])
    console.run()
    assert console.lines == ["Transferring you to the help desk (ticket HD-7)."]


# -- end and restart ------------------------------------------------------------------------------


def test_end_prints_a_blank_line_and_the_next_line_starts_afresh(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    console = Console(catalogue, tmp_path, "1\n2\n",
                      [MENU], [say("t.done"), End()], [MENU], [say("t.done")])
    assert console.run() == 0
    kinds = [(e.kind, e.text) for e in console.engine.events]
    # The line after an end opens the next conversation itself (no second greeting first).
    assert kinds == [("start", ""), ("choice", "forgot"), ("text", "2")]
    assert "" in console.lines


def test_a_blank_line_after_end_only_starts_afresh(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "1\n\n", [MENU], [End()], [MENU])
    console.run()
    assert [e.kind for e in console.engine.events] == ["start", "choice", "start"]


def test_end_of_input_after_end_does_not_start_again(
    catalogue: Catalogue, tmp_path: Path
) -> None:
    console = Console(catalogue, tmp_path, "1\n", [MENU], [End()])
    assert console.run() == 0
    assert [e.kind for e in console.engine.events] == ["start", "choice"]


# -- language -------------------------------------------------------------------------------------


def test_language_changed_switches_the_rendering(catalogue: Catalogue, tmp_path: Path) -> None:
    switch = Say(Message.of("language.changed", language="fr"))
    console = Console(catalogue, tmp_path, "language\n", [say("t.welcome")], [switch, MENU])
    console.run()
    assert console.lines[1:4] == [
        "Je parlerai français.", "De quoi avez-vous besoin ?", "1) J'ai oublié mon mot de passe",
    ]
    assert console.lines[-1] == "Répondez par un numéro."
    assert console.channel.language == "fr"


def test_a_restart_starts_in_the_configured_language(catalogue: Catalogue,
                                                     tmp_path: Path) -> None:
    """Issue 12: one person's French was the next person's greeting. The language of a
    conversation ends with it; a person's own choice is the engine's to remember."""
    switch = Say(Message.of("language.changed", language="fr"))
    console = Console(catalogue, tmp_path, "x\ny\n", [MENU], [switch, End()])
    console.run()
    restart = console.engine.events[2]
    assert (restart.kind, restart.text, restart.language_hint) == ("text", "y", "en")


# -- faults ---------------------------------------------------------------------------------------


def test_an_engine_failure_prints_a_friendly_message_only(
    catalogue: Catalogue, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    console = Console(catalogue, tmp_path, "alice\nbob\n",
                      [MENU], RuntimeError("redis is down"), [say("t.done")])
    with caplog.at_level(logging.ERROR, logger="channels.console"):
        assert console.run() == 0
    out = console.stdout.getvalue()
    assert ("Something went wrong on our side. Please try again later or contact the help desk."
            in console.lines)
    assert "Traceback" not in out and "redis is down" not in out
    assert any(r.exc_info is not None for r in caplog.records)
    assert console.lines[-1] == "Done: log in with your new password."  # and it carries on


def test_a_failing_start_is_friendly_too(catalogue: Catalogue, tmp_path: Path) -> None:
    console = Console(catalogue, tmp_path, "", ValueError("boom"))
    assert console.run() == 0
    assert console.lines == [
        "Something went wrong on our side. Please try again later or contact the help desk."]


# -- a whole conversation -------------------------------------------------------------------------


def test_a_scripted_forgot_password_transcript(catalogue: Catalogue, tmp_path: Path) -> None:
    captcha = ShowCaptcha(Challenge("c1", "image", image_png=png_bytes()),
                          Message.of("t.captcha"), seconds_left=300)
    console = Console(
        catalogue, tmp_path, "forgot\nalice\nk7pq\n493027\nCorrect horse battery\n\nunlock\n",
        [say("t.welcome"), MENU],
        [Ask(Message.of("t.username"))],
        [captcha],
        [SendSms("+15550001234", Message.of("t.code_sms", code="493027")),
         Ask(Message.of("t.code"), expect="digits", seconds_left=280)],
        [Ask(Message.of("t.password"), secret_input=True)],
        [ForgetMessage("line-5"), say("t.done"), End()],
        [MENU],
        [Ask(Message.of("t.username"))],
    )
    assert console.run() == 0
    sent = [(e.kind, e.text) for e in console.engine.events]
    assert sent == [
        ("start", ""), ("choice", "forgot"), ("text", "alice"), ("text", "k7pq"),
        ("digits", "493027"), ("text", "Correct horse battery"), ("start", ""),
        ("choice", "unlock"),
    ]
    assert [text for _action, text in console.delivered] == ["Your code is 493027"]
    assert not any("493027" in line for line in console.lines)
    assert "[04:40 left]" in console.lines


def test_a_start_that_ends_at_once_does_not_also_answer_the_line(
        catalogue: Catalogue, tmp_path: Path) -> None:
    """The service is down: every start ends at once. One refusal per typed line, and the
    typed line is not sent into a conversation that already ended (issue 12)."""
    down: list[Action] = [say("t.done"), End()]
    console = Console(catalogue, tmp_path, "hello\n1\n", down, down, down, down, down)
    assert console.run() == 0
    assert console.lines.count("Done: log in with your new password.") == 3
    assert [event.kind for event in console.engine.events] == ["start", "text", "text"]

"""Issue 10, property 10: ``sspm console`` proves possession for real.

The red team's move: outside ``sspm demo`` the console printed the one-time code (and the
notices meant for the person's other channels) on the terminal, so whoever sat at a console
knowing alice's answers reset her password without her phone. Replayed here by driving the
console as a person types into it, on real slapd and Redis, with a configuration that is not
the demo's:

- with no SMS sender configured (``sspm console --config ...``): no code reaches the screen,
  the person is told, before any login, that codes cannot be sent from here, and a guessed code
  does not reset anything;
- with an SMS sender: the code and the notices arrive there only; whoever holds the phone
  finishes the reset; the console never shows them;
- only ``sspm demo`` echoes them (its outbound senders print), still through the outbound.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.console_command import run_console
from bot.demo import demo_config, run_demo
from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers, seed_enrolments
from config import load_settings
from directory import LdapDirectory
from tests.conftest import domain_settings
from tests.directory.test_openldap import binds
from tests.engine.conftest import HASHER, demo_application
from tests.engine.console_person import ConsolePerson
from tests.engine.conversation import RecordingRenderer
from tests.helpdesk.conftest import Recorder

NEW_PASSWORD = "Quartz-Meadow-Lantern-58"
SIX_DIGITS = re.compile(r"(?<![\d+])\d{6}(?!\d)")
NO_SMS_NOTICE = "This console cannot send text messages"


class Attacker(ConsolePerson):
    """Knows alice's answers; has no phone, so types any code the screen shows, else a guess."""

    def answer(self, last: str, lines: list[str]) -> str:
        if last.startswith("Type the code"):
            shown = [m for line in lines for m in SIX_DIGITS.findall(line)]
            return shown[-1] if shown else "000000"
        return super().answer(last, lines)


class PhoneHolder(ConsolePerson):
    """alice herself: reads the code on her phone, not on the console."""

    def __init__(self, out: io.StringIO, renderer: RecordingRenderer, phone: Recorder) -> None:
        super().__init__(out, renderer, login="alice", answers=demo_answers("alice"),
                         new_password=NEW_PASSWORD)
        self.phone = phone

    def answer(self, last: str, lines: list[str]) -> str:
        if last.startswith("Type the code"):
            return code_in(self.phone.sent[-1][1])
        return super().answer(last, lines)


def code_in(text: str) -> str:
    match = SIX_DIGITS.search(text)
    assert match, text
    return match.group(0)


@pytest.fixture
def config_path(slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
                tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment's configuration on the throwaway servers: no SMS provider configured."""
    path = tmp_path / "sspm.toml"
    path.write_text(demo_config(slapd, redis_server.info.url, tmp_path, captcha=False))
    monkeypatch.setenv("SSPM_LDAP_BIND_PASSWORD", slapd.service_password)
    monkeypatch.setenv("SSPM_SECRET_KEY", "adversarial-secret-key-0123456789")
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TELEGRAM_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    directory = LdapDirectory(domain_settings(slapd))
    try:
        seed_enrolments(directory, HASHER)
    finally:
        directory.close()
    return path


@pytest.fixture
def kept_logging() -> Iterator[None]:
    """``sspm console`` points the root logger at its log file; give it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_console_proves_possession_for_real_without_an_sms_sender(
        config_path: Path, slapd: SlapdInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        kept_logging: None) -> None:
    out = io.StringIO()
    attacker = Attacker(out, RecordingRenderer(), login="alice", answers=demo_answers("alice"),
                        new_password=NEW_PASSWORD)
    monkeypatch.setattr(sys, "stdin", attacker)
    monkeypatch.setattr(sys, "stdout", out)
    status = main(["--config", str(config_path), "console", "--log", str(tmp_path / "c.log"),
                   "--captcha-dir", str(tmp_path / "captchas")])
    screen = out.getvalue()
    monkeypatch.undo()
    assert status == 0
    assert screen.startswith(NO_SMS_NOTICE), screen  # told before any login: no oracle
    assert "Type the code you received." in screen, screen  # the proof got that far
    assert "[SMS" not in screen and not SIX_DIGITS.search(screen), screen
    assert "[telegram" not in screen and "You can now log in" not in screen
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, alice.password)
    assert not binds(slapd, alice.dn, NEW_PASSWORD)
    assert "Biscuit" not in (tmp_path / "c.log").read_text()


def test_console_proves_possession_for_real_codes_reach_the_phone_only(
        config_path: Path, slapd: SlapdInfo, tmp_path: Path) -> None:
    settings = load_settings(config_path)
    renderer, phone, out = RecordingRenderer(), Recorder(), io.StringIO()
    with demo_application(settings, renderer=renderer, sms_sender=phone,
                          telegram_sender=phone) as app:
        # First someone without the phone: the code went to alice's mobile, not to the screen.
        attacker = Attacker(out, renderer, login="1001", answers=demo_answers("alice"),
                            new_password=NEW_PASSWORD)
        assert run_console(app, stdin=attacker, stdout=out, sender="kiosk") == 0
        screen = out.getvalue()
        codes = [code_in(text) for to, text in phone.sent if to == "+15550001001"]
        assert codes and not any(code in screen for code in codes)
        assert "[SMS" not in screen and "You can now log in" not in screen
        assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)

        # Then alice, phone in hand.
        out = io.StringIO()
        person = PhoneHolder(out, renderer, phone)
        assert run_console(app, stdin=person, stdout=out, sender="kiosk") == 0
    screen = out.getvalue()
    assert "You can now log in with your new password" in screen, screen
    assert NO_SMS_NOTICE not in screen
    assert binds(slapd, demo_user("alice").dn, NEW_PASSWORD)
    # Her bound Telegram account was told, there and not on the screen.
    notices = [text for to, text in phone.sent if to == "700001001"]
    assert notices and not any(text in screen for text in notices)
    assert not any(code_in(text) in screen for to, text in phone.sent
                   if to == "+15550001001" and SIX_DIGITS.search(text))


def test_console_proves_possession_only_the_demo_echoes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept_logging: None) -> None:
    out = io.StringIO()
    person = ConsolePerson(out, RecordingRenderer(), login="alice",
                           answers=demo_answers("alice"), new_password=NEW_PASSWORD,
                           max_lines=40)
    monkeypatch.setattr(sys, "stdin", person)
    monkeypatch.setattr(sys, "stdout", out)
    status = run_demo(workdir=str(tmp_path / "demo"), captcha=False)
    screen = out.getvalue()
    monkeypatch.undo()
    assert status == 0
    assert "[SMS to +15550001001]" in screen, screen  # the demo's users have no phones
    assert "You can now log in with your new password" in screen, screen

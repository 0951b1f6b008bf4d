"""``sspm check`` and the command line, against the real local stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.demo import demo_stack


def test_check_against_the_local_stack_prints_only_ok(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    with demo_stack(tmp_path) as stack:
        for name, value in stack.environment.items():
            monkeypatch.setenv(name, value)
        status = main(["--config", str(stack.config_path), "check"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert status == 0
    # reached, every right of the service account, paged searches whole, Redis
    assert len(lines) == 4 and all(line.startswith("ok ") for line in lines)
    assert stack.environment["SSPM_LDAP_BIND_PASSWORD"] not in "".join(lines)


def test_check_reports_what_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    with demo_stack(tmp_path) as stack:
        for name, value in stack.environment.items():
            monkeypatch.setenv(name, value)
        config = stack.config_path
    # Both servers are stopped now.
    status = main(["--config", str(config), "check"])
    out = capsys.readouterr().out
    assert status == 1
    assert out.count("FAILED") == 2 and "directory DEFAULT" in out and "redis" in out


def test_check_with_a_bad_config_names_the_key(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SSPM_SECRET_KEY", raising=False)
    monkeypatch.delenv("SSPM_CONFIG", raising=False)
    status = main(["check"])
    err = capsys.readouterr().err
    assert status == 2
    assert "secret_key" in err and "SSPM_SECRET_KEY" in err


def test_demo_no_wait_starts_checks_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["demo", "--no-wait"])
    out = capsys.readouterr().out
    assert status == 0
    assert "alice" in out and "FAILED" not in out and out.count("ok ") == 4


def test_background_sms_does_not_delay_the_caller() -> None:
    import threading
    import time

    from bot.outbound import BackgroundSms

    release = threading.Event()
    sent: list[tuple[str, str]] = []

    class SlowProvider:
        def send_sms(self, to: str, text: str) -> None:
            release.wait(5)
            sent.append((to, text))

    sms = BackgroundSms(SlowProvider())
    started = time.monotonic()
    sms.send_sms("+15550001001", "code 123456")
    assert time.monotonic() - started < 0.5 and sent == []
    release.set()
    sms.close()
    assert sent == [("+15550001001", "code 123456")]

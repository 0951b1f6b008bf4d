"""``sspm console`` when Redis or a directory does not answer: the operator is told on stderr,
the log file is named, the exit status says so, and the person reads a sensible contact.

Before issue 12 the same run printed "call the help desk: - (-)" twice per typed line,
nothing on stderr, and exited 0.
"""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.console_command import EXIT_UNAVAILABLE, run_console
from bot.local_stack import SlapdInfo
from bot.local_stack.redis_server import LocalRedis
from tests.engine.conftest import demo_application, make_settings


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def root_logging() -> Iterator[None]:
    """``sspm console`` points the root logger at its file: put things back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        for handler in root.handlers:
            if handler not in handlers:
                handler.close()
        root.handlers[:] = handlers
        root.setLevel(level)


def write_config(folder: Path, redis_port: int, ldap_port: int) -> Path:
    path = folder / "sspm.toml"
    path.write_text(f"""
secret_key = "test-secret-key-0123456789abcdef"
[redis]
url = "redis://127.0.0.1:{redis_port}/0"
socket_timeout = 1.0
[audit]
path = "{folder / 'audit.log'}"
[domains.DEFAULT]
url = "ldap://127.0.0.1:{ldap_port}"
base_dn = "dc=example,dc=test"
bind_dn = "cn=sspm,dc=example,dc=test"
bind_password = "not-used"
users_dn = "ou=people,dc=example,dc=test"
connect_timeout = 1.0
operation_timeout = 1.0
""", encoding="utf-8")
    return path


def test_console_with_the_stack_down_names_what_is_down_and_the_log_and_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        root_logging: None) -> None:
    redis_port, ldap_port = closed_port(), closed_port()
    config = write_config(tmp_path, redis_port, ldap_port)
    log = tmp_path / "console.log"
    monkeypatch.delenv("SSPM_CONFIG", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO("hello\n1\nalice\n"))

    status = main(["--config", str(config), "console", "--log", str(log)])

    captured = capsys.readouterr()
    assert status == EXIT_UNAVAILABLE != 0
    assert f"Redis (redis://127.0.0.1:{redis_port}/0) does not answer" in captured.err
    assert f"directory domain DEFAULT (ldap://127.0.0.1:{ldap_port}) does not answer" \
        in captured.err
    assert str(log) in captured.err and "sspm check" in captured.err
    assert "does not answer" in log.read_text(encoding="utf-8")  # the log says it too
    # The person: one sentence, a contact that reads as one even though none is configured.
    assert captured.out.count("The service is not available right now") == 1, captured.out
    assert "- (-)" not in captured.out and "your usual IT support contact" in captured.out


def test_console_tells_the_operator_when_redis_goes_down_mid_session(
        slapd: SlapdInfo, tmp_path: Path) -> None:
    redis = LocalRedis(tmp_path / "redis")
    redis.start()
    settings = make_settings(slapd, redis.info.url)

    class StopsRedis(io.StringIO):
        """Redis stops after the person chose from the menu, before the username."""

        def readline(self, size: int | None = -1, /) -> str:  # type: ignore[override]
            line = super().readline()
            if line == "alice\n":
                redis.stop()
            return line

    out, err = io.StringIO(), io.StringIO()
    try:
        with demo_application(settings) as app:
            status = run_console(app, stdin=StopsRedis("1\nalice\nbob\n"), stdout=out,
                                 stderr=err, captcha_dir=str(tmp_path / "captcha"))
    finally:
        redis.stop()

    assert status == EXIT_UNAVAILABLE
    assert f"Redis ({redis.info.url.split('@')[-1]}) does not answer" in err.getvalue()
    assert err.getvalue().count("does not answer") == 1  # once per outage, not per line
    screen = out.getvalue()
    assert screen.count("The service is not available right now") == 2, screen  # per line
    assert "+1 555 0100 (helpdesk@example.test)" in screen

"""A configuration with several mistakes names every one of them in one run (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from config import ConfigError, load_settings
from tests.config.test_settings import BASE_ENV

SEVERAL_MISTAKES = """
colour = "blue"
public_url = "ftp://x"
[dialog]
time_alotment_seconds = 300
failure_limit = "five"
questions_asked = 0
[password]
min_score = 7
max_length = 32
[redis]
url = "http://127.0.0.1"
[helpdesk]
agent_group = "cn=helpdesk"
[channels.telegam]
captcha = false
[domains.DEFAULT.attributes]
usrname = "uid"
[domains.OTHER]
url = "http://x"
base_dn = "dc=x"
"""

EXPECTED_KEYS = {
    "colour", "public_url", "dialog.time_alotment_seconds", "dialog.failure_limit",
    "dialog.questions_asked", "password.min_score", "password.max_length", "redis.url",
    "helpdesk.agent_group", "channels.telegam", "domains.DEFAULT.attributes.usrname",
    "domains.OTHER.url", "domains.OTHER.bind_dn", "domains.OTHER.bind_password",
}


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    path = tmp_path / "sspm.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, BASE_ENV if env is None else env)
    return error.value


def test_every_mistake_is_named_in_one_run(tmp_path: Path) -> None:
    error = load(tmp_path, SEVERAL_MISTAKES)
    assert {e.key for e in error.errors} == EXPECTED_KEYS
    assert len(str(error).splitlines()) == len(EXPECTED_KEYS)


@pytest.mark.parametrize(("key", "suggestion"), [
    ("dialog.time_alotment_seconds", "time_allotment_seconds"),
    ("helpdesk.agent_group", "agents_group"),
    ("channels.telegam", "telegram"),
    ("domains.DEFAULT.attributes.usrname", "username"),
])
def test_a_misspelt_key_gets_a_did_you_mean(tmp_path: Path, key: str, suggestion: str) -> None:
    (found,) = [e for e in load(tmp_path, SEVERAL_MISTAKES).errors if e.key == key]
    assert f"did you mean '{suggestion}'?" in found.problem


def test_an_unknown_key_unlike_any_gets_no_guess(tmp_path: Path) -> None:
    (found,) = [e for e in load(tmp_path, SEVERAL_MISTAKES).errors if e.key == "colour"]
    assert "did you mean" not in found.problem


def test_missing_secrets_are_all_named_together(tmp_path: Path) -> None:
    error = load(tmp_path, "", {"SSPM_LDAP_URL": "ldap://127.0.0.1:1"})
    assert {e.key for e in error.errors} == {
        "secret_key", "domains.DEFAULT.base_dn", "domains.DEFAULT.bind_dn",
        "domains.DEFAULT.bind_password"}
    assert all("SSPM_" in e.problem for e in error.errors)


def test_sspm_prints_every_error_and_exits_non_zero(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in BASE_ENV.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "sspm.toml"
    path.write_text(SEVERAL_MISTAKES)
    assert main(["--config", str(path), "check"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == len(EXPECTED_KEYS)
    assert all(line.startswith("configuration error: ") for line in err)
    assert {line.split(": ")[1] for line in err} == EXPECTED_KEYS

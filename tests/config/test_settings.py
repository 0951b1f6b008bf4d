"""Every bad configuration fails at load time and names the offending key."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Secret, load_settings

BASE_ENV = {
    "SSPM_SECRET_KEY": "k" * 32,
    "SSPM_LDAP_URL": "ldap://127.0.0.1:3890",
    "SSPM_LDAP_BIND_DN": "cn=sspm,dc=example,dc=test",
    "SSPM_LDAP_BIND_PASSWORD": "service-secret",
    "SSPM_LDAP_BASE_DN": "dc=example,dc=test",
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sspm.toml"
    path.write_text(text)
    return path


def test_environment_alone_configures_the_default_domain() -> None:
    settings = load_settings(None, BASE_ENV)
    domain = settings.domain()
    assert domain.name == "DEFAULT" and domain.url == "ldap://127.0.0.1:3890"
    assert domain.bind_password.reveal() == "service-secret"


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, """
[redis]
url = "redis://10.0.0.1:6379/0"
[domains.DEFAULT]
url = "ldap://file-host:389"
base_dn = "dc=file"
bind_dn = "cn=file"
""")
    settings = load_settings(path, {**BASE_ENV, "SSPM_REDIS_URL": "redis://127.0.0.1:1/2"})
    assert settings.domain().url == "ldap://127.0.0.1:3890"
    assert settings.domain().base_dn == "dc=example,dc=test"
    assert settings.redis.url.reveal() == "redis://127.0.0.1:1/2"


def test_several_domains_with_their_own_variables(tmp_path: Path) -> None:
    path = write(tmp_path, """
[domains.partners]
url = "ldaps://ad.partners.test"
dialect = "ad"
base_dn = "dc=partners,dc=test"
bind_dn = "CN=svc,CN=Users,DC=partners,DC=test"
self_service = false
[domains.partners.attributes]
username = "sAMAccountName"
""")
    settings = load_settings(path, {**BASE_ENV, "SSPM_DOMAIN_PARTNERS_BIND_PASSWORD": "p4"})
    partners = settings.domain("partners")
    assert partners.name == "PARTNERS" and partners.dialect == "ad"
    assert not partners.self_service and partners.attributes.username == "sAMAccountName"
    assert partners.bind_password.reveal() == "p4"
    assert settings.domain().name == "DEFAULT"


def test_secrets_are_masked_in_repr() -> None:
    text = repr(load_settings(None, {**BASE_ENV, "TWILIO_AUTH_TOKEN": "tw-token-123",
                                     "TELEGRAM_BOT_TOKEN": "123:tg-token"}))
    for secret in ("service-secret", "k" * 32, "tw-token-123", "123:tg-token"):
        assert secret not in text
    assert "Secret('********')" in text
    assert repr(Secret("x")) == "Secret('********')"


BAD_CONFIGS = [
    ("[dialog]\ntime_allotment_seconds = -1\n", "dialog.time_allotment_seconds"),
    ("[dialog]\ntime_alotment_seconds = 300\n", "dialog.time_alotment_seconds"),
    ("[dialog]\nquestions_asked = 4\nquestions_enrolled = 3\n", "dialog.questions_asked"),
    ("[dialog]\nidle_seconds = 600\n", "dialog.idle_seconds"),
    ("[dialog]\ndefault_language = \"de\"\n", "dialog.default_language"),
    ("[dialog]\nfailure_limit = \"five\"\n", "dialog.failure_limit"),
    ("[dialog]\nfailure_limit = true\n", "dialog.failure_limit"),
    ("[password]\nmin_length = 0\n", "password.min_length"),
    ("[password]\nmax_length = 32\n", "password.max_length"),
    ("[password]\nmin_score = 7\n", "password.min_score"),
    ("[redis]\nurl = \"http://127.0.0.1\"\n", "redis.url"),
    ("[domains.DEFAULT]\ndialect = \"novell\"\n", "domains.DEFAULT.dialect"),
    ("[domains.OTHER]\nurl = \"http://x\"\nbase_dn = \"dc=x\"\nbind_dn = \"cn=x\"\n"
     "bind_password = \"p\"\n", "domains.OTHER.url"),
    ("[domains.DEFAULT]\nconnect_timeout = \"soon\"\n", "domains.DEFAULT.connect_timeout"),
    ("[domains.DEFAULT.attributes]\nusername = 7\n", "domains.DEFAULT.attributes.username"),
    ("[domains.DEFAULT.attributes]\nusrname = \"uid\"\n", "domains.DEFAULT.attributes.usrname"),
    ("[domains.DEFAULT]\nprotected_groups = \"cn=admins\"\n", "domains.DEFAULT.protected_groups"),
    ("[domains.OTHER]\nurl = \"ldap://x\"\nbase_dn = \"dc=x\"\n", "domains.OTHER.bind_dn"),
    ("[channels.fax]\ncaptcha = false\n", "channels.fax"),
    ("[channels.telegram]\ncaptcha = \"no\"\n", "channels.telegram.captcha"),
    ("default_domain = 5\n", "default_domain"),
    ("public_url = \"ftp://x\"\n", "public_url"),
    ("colour = \"blue\"\n", "colour"),
    ("[dialog\n", "config"),
]


@pytest.mark.parametrize(("text", "key"), BAD_CONFIGS)
def test_bad_config_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), BASE_ENV)
    assert error.value.key == key
    assert str(error.value).startswith(key + ":")


@pytest.mark.parametrize(("missing", "key"), [
    ("SSPM_SECRET_KEY", "secret_key"),
    ("SSPM_LDAP_BIND_PASSWORD", "domains.DEFAULT.bind_password"),
    ("SSPM_LDAP_BASE_DN", "domains.DEFAULT.base_dn"),
    ("SSPM_LDAP_URL", "domains.DEFAULT.url"),
])
def test_missing_value_names_the_key(missing: str, key: str) -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != missing}
    with pytest.raises(ConfigError) as error:
        load_settings(None, env)
    assert error.value.key == key


def test_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(None, {**BASE_ENV, "SSPM_SECRET_KEY": "short"})
    assert error.value.key == "secret_key"


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(tmp_path / "absent.toml", BASE_ENV)
    assert error.value.key == "config" and "absent.toml" in error.value.problem


def test_sample_config_loads() -> None:
    sample = Path(__file__).resolve().parents[2] / "config" / "sspm.sample.toml"
    settings = load_settings(sample, BASE_ENV)
    assert settings.dialog.time_allotment_seconds == 300
    assert {d.name for d in settings.domains} >= {"DEFAULT"}

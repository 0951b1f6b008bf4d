"""Several directory servers per domain: how they are configured and what ``sspm check`` says.

Configuration (issue 14): ``url`` (one, or several separated by spaces as in ldap.conf's URI),
or ``urls``; ``write_urls`` for an OpenLDAP provider; the environment's ``SSPM_LDAP_URL`` and
``SSPM_LDAP_WRITE_URL`` take space-separated lists and win over the file.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.check import check_directory, print_results
from config import ConfigError, load_settings
from config.settings import DomainSettings
from tests.config.test_settings import BASE_ENV
from tests.ha.replicas import ConsumerSlapd, ProviderSlapd
from tests.ha.test_directory_replicas import domain

Pair = tuple[ProviderSlapd, ConsumerSlapd]


def load(tmp_path: Path, text: str, **env: str) -> DomainSettings:
    path = tmp_path / "sspm.toml"
    path.write_text(text)
    return load_settings(path, {**BASE_ENV, **env}).domain()


def test_one_url_is_one_server_that_reads_and_writes(tmp_path: Path) -> None:
    d = load(tmp_path, "", SSPM_LDAP_URL="ldap://a:389")
    assert d.servers == ("ldap://a:389",) and d.writers == ("ldap://a:389",)


def test_urls_in_the_file_and_a_write_url(tmp_path: Path) -> None:
    text = ('[domains.DEFAULT]\nurls = ["ldap://c1", "ldap://c2"]\n'
            'write_urls = ["ldap://p"]\ndead_server_seconds = 10\n')
    env = {k: v for k, v in BASE_ENV.items() if k != "SSPM_LDAP_URL"}
    path = tmp_path / "sspm.toml"
    path.write_text(text)
    d = load_settings(path, env).domain()
    assert d.servers == ("ldap://c1", "ldap://c2") and d.writers == ("ldap://p",)
    assert d.dead_server_seconds == 10.0


def test_the_environment_takes_space_separated_lists_and_wins(tmp_path: Path) -> None:
    text = '[domains.DEFAULT]\nurls = ["ldap://file1", "ldap://file2"]\n'
    d = load(tmp_path, text, SSPM_LDAP_URL="ldap://e1  ldap://e2",
             SSPM_LDAP_WRITE_URL="ldap://p1 ldap://p2")
    assert d.servers == ("ldap://e1", "ldap://e2")
    assert d.writers == ("ldap://p1", "ldap://p2")


def test_another_domain_takes_a_write_url_from_the_environment(tmp_path: Path) -> None:
    text = ('[domains.PARTNERS]\nurl = "ldap://x"\nbase_dn = "dc=x"\nbind_dn = "cn=x"\n')
    path = tmp_path / "sspm.toml"
    path.write_text(text)
    settings = load_settings(path, {**BASE_ENV, "SSPM_DOMAIN_PARTNERS_BIND_PASSWORD": "p",
                                    "SSPM_DOMAIN_PARTNERS_WRITE_URL": "ldap://xp"})
    partners = settings.domain("PARTNERS")
    assert partners.servers == ("ldap://x",) and partners.writers == ("ldap://xp",)


@pytest.mark.parametrize(("text", "key"), [
    ('url = "ldap://z"\nurls = ["ldap://a"]\n', "domains.DEFAULT.urls"),
    ('url = "ldap://z"\nwrite_urls = ["http://p"]\n', "domains.DEFAULT.write_urls"),
    ('urls = ["ldap://a", "ftp://b"]\n', "domains.DEFAULT.urls"),
    ('url = "ldap://a http://b"\n', "domains.DEFAULT.url"),
    ('url = "ldap://z"\ndead_server_seconds = 0\n', "domains.DEFAULT.dead_server_seconds"),
])
def test_wrong_server_settings_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    path = tmp_path / "sspm.toml"
    path.write_text("[domains.DEFAULT]\n" + text)
    env = {k: v for k, v in BASE_ENV.items() if k != "SSPM_LDAP_URL"}
    with pytest.raises(ConfigError) as error:
        load_settings(path, env)
    assert {e.key for e in error.value.errors} == {key}, error.value


def test_no_server_at_all_names_url(tmp_path: Path) -> None:
    env = {k: v for k, v in BASE_ENV.items() if k != "SSPM_LDAP_URL"}
    with pytest.raises(ConfigError) as error:
        load_settings(None, env)
    assert error.value.key == "domains.DEFAULT.url"
    assert "SSPM_LDAP_URL" in error.value.problem


# -- sspm check ----------------------------------------------------------------------------------

def test_check_names_each_server_its_role_and_a_dead_replica(replica_pair: Pair) -> None:
    provider, consumer = replica_pair
    settings = domain(provider.info, [consumer.info.url, provider.info.url],
                      write_urls=(provider.info.url,))
    results = check_directory(settings)
    lines = {r.name: r for r in results}
    reader = lines[f"directory DEFAULT server {consumer.info.url} (reads)"]
    writer = lines[f"directory DEFAULT server {provider.info.url} (reads and writes)"]
    assert reader.ok and writer.ok and not reader.warning
    assert all(r.ok for r in results), [(r.name, r.detail) for r in results]

    consumer.kill()
    results = check_directory(settings)
    reader = {r.name: r for r in results}[f"directory DEFAULT server {consumer.info.url} (reads)"]
    assert reader.ok and reader.warning and "does not answer" in reader.detail
    out = io.StringIO()
    assert print_results(results, out) == 0, out.getvalue()  # it serves: a warning

    provider.stop()
    results = check_directory(settings)
    out = io.StringIO()
    assert print_results(results, out) == 1
    assert f"FAILED directory DEFAULT server {provider.info.url} (reads and writes): " \
           "does not answer" in out.getvalue(), out.getvalue()


def test_check_says_a_replica_cannot_take_the_writes(replica_pair: Pair) -> None:
    """Consumers only, no write_urls: each write would meet a referral."""
    provider, consumer = replica_pair
    results = check_directory(domain(provider.info, [consumer.info.url]))
    rights = {r.name: r for r in results}["rights DEFAULT"]
    assert not rights.ok and "write_urls" in rights.detail, rights.detail

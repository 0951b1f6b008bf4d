"""``[redis]`` names one server, a Sentinel-managed master or a cluster, as a URL or a table;
a wrong one stops the start with the key to fix, and no password shows in any message."""

from __future__ import annotations

from pathlib import Path

import pytest

from config import ConfigError, Secret
from config.loader import load_settings
from config.settings import RedisSentinelSettings, RedisSettings

ENV = {"SSPM_SECRET_KEY": "k" * 20, "SSPM_LDAP_URL": "ldap://127.0.0.1:389",
       "SSPM_LDAP_BIND_DN": "cn=svc", "SSPM_LDAP_BIND_PASSWORD": "p",
       "SSPM_LDAP_BASE_DN": "dc=example,dc=test"}


def test_a_sentinel_url_names_sentinels_service_database_and_the_masters_password() -> None:
    target = RedisSettings(url=Secret(
        "redis+sentinel://app:s%40cret@10.0.0.1:26379,[fd00::2]:26380/sspm/3")).target
    assert (target.kind, target.nodes, target.service_name, target.db) == (
        "sentinel", (("10.0.0.1", 26379), ("fd00::2", 26380)), "sspm", 3)
    assert (target.username, target.password.reveal(), target.tls) == ("app", "s@cret", False)
    assert target.shown() == "redis+sentinel://10.0.0.1:26379,[fd00::2]:26380/sspm/3"


def test_the_sentinel_table_and_the_environment_say_the_same(tmp_path: Path) -> None:
    path = tmp_path / "sspm.toml"
    path.write_text('[redis.sentinel]\naddresses = ["a:26379", "b:26379", "c:26379"]\n'
                    'service_name = "sspm"\ndb = 1\ntls = true\n')
    settings = load_settings(path, {**ENV, "SSPM_REDIS_PASSWORD": "master-pw",
                                    "SSPM_REDIS_SENTINEL_PASSWORD": "sentinel-pw"})
    target = settings.redis.target
    assert (target.kind, len(target.nodes), target.db, target.tls) == ("sentinel", 3, 1, True)
    assert target.password.reveal() == "master-pw"
    assert settings.redis.sentinel.password.reveal() == "sentinel-pw"
    assert "pw" not in repr(settings.redis)


def test_a_cluster_url_has_startup_nodes_and_no_database() -> None:
    target = RedisSettings(url=Secret("rediss+cluster://:pw@n1:7000,n2:7001")).target
    assert (target.kind, target.nodes, target.tls) == ("cluster", (("n1", 7000), ("n2", 7001)),
                                                        True)
    with pytest.raises(ConfigError, match=r"redis\.url: a cluster URL has no path"):
        RedisSettings(url=Secret("redis+cluster://n1:7000/0"))


@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1:6379", "must start with redis://"),
    ("redis+sentinel://:hunter2@h1:26379", "ends with /service_name"),
    ("redis+sentinel://:hunter2@h1/sspm", "'h1' is not host:port"),
    ("redis+sentinel://:hunter2@h1:26379/sspm/x", "'x' is not a number"),
    ("redis+sentinel://:hunter2@/sspm", "names no host:port"),
])
def test_a_wrong_url_names_redis_url_and_hides_the_password(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as error:
        RedisSettings(url=Secret(url))
    assert error.value.key == "redis.url" and problem in str(error.value)
    assert "hunter2" not in str(error.value)


def test_a_wrong_sentinel_table_names_each_key() -> None:
    with pytest.raises(ConfigError) as error:
        RedisSettings(sentinel=RedisSentinelSettings(addresses=("h1",), db=-1))
    assert {e.key for e in error.value.errors} == {
        "redis.sentinel.addresses", "redis.sentinel.service_name", "redis.sentinel.db"}


def test_sentinels_given_twice_or_a_password_given_twice_is_refused() -> None:
    table = RedisSentinelSettings(addresses=("h1:26379",), service_name="sspm")
    with pytest.raises(ConfigError, match=r"redis\.sentinel: the sentinels are given twice"):
        RedisSettings(url=Secret("redis://10.0.0.9:6379/0"), sentinel=table)
    with pytest.raises(ConfigError, match=r"redis\.password: the credentials are also in"):
        RedisSettings(url=Secret("redis://:a@10.0.0.9:6379/0"), password=Secret("b"))
    assert RedisSettings(sentinel=table).target.kind == "sentinel"  # the default URL yields

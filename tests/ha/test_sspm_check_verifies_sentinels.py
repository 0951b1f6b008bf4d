"""``sspm check`` under Sentinel: each sentinel answers, they name a master, it takes a write;
a dead sentinel or a wrong service name is a FAILED line saying what to fix, and no password
is printed. Real sentinels on loopback (``sentinel_stack``)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.check import check_redis, print_results
from config import Settings, settings_from_dict
from tests.ha.sentinel_stack import SERVICE, SentinelStack, running_sentinels


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelStack]:
    with running_sentinels(tmp_path / "sentinel") as stack:
        yield stack


def settings(url: str) -> Settings:
    return settings_from_dict({
        "secret_key": "test-secret-key-0123456789abcdef",
        "redis": {"url": url, "key_prefix": "t:", "socket_timeout": 0.5},
        "domains": {"DEFAULT": {"url": "ldap://127.0.0.1:1", "base_dn": "dc=example,dc=test",
                                "bind_dn": "cn=svc", "bind_password": "p"}}})


def report(url: str) -> tuple[int, str]:
    out = io.StringIO()
    return print_results(check_redis(settings(url)), out), out.getvalue()


def test_check_names_each_sentinel_the_master_and_a_write(sentinels: SentinelStack) -> None:
    status, text = report(sentinels.url)
    assert status == 0, text
    for port in sentinels.sentinel_ports:
        assert f"ok     sentinel 127.0.0.1:{port}: names 127.0.0.1:{sentinels.master_port} " \
               f"as master of '{SERVICE}'" in text, text
    assert "ok     redis (redis+sentinel://" in text and "takes a write" in text, text


def test_check_fails_on_a_dead_sentinel_and_warns_of_the_lost_margin(
        sentinels: SentinelStack) -> None:
    sentinels.kill_sentinel(1)
    status, text = report(sentinels.url)
    assert status == 1, text
    assert f"FAILED sentinel 127.0.0.1:{sentinels.sentinel_ports[1]}: ConnectionError" in text
    assert "WARN   sentinels of 'sspm': 1 of 3 sentinels unreachable" in text, text
    assert "takes a write" in text, text  # the others still lead to the master


def test_check_fails_on_a_wrong_service_name_without_printing_the_password(
        sentinels: SentinelStack) -> None:
    hosts = ",".join(f"127.0.0.1:{port}" for port in sentinels.sentinel_ports)
    status, text = report(f"redis+sentinel://:hunter2-secret@{hosts}/not-{SERVICE}/0")
    assert status == 1, text
    assert text.count("FAILED sentinel") == 3 and "service name ('not-sspm')" in text, text
    assert "FAILED redis (redis+sentinel://" in text and "MasterNotFoundError" in text, text
    assert "hunter2" not in text

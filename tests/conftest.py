"""Shared fixtures: real throwaway servers on loopback (no mocks for LDAP and Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.local_stack import LocalRedis, LocalSlapd, SlapdInfo
from bot.local_stack.seed import PROTECTED_GROUP_DN
from config import Secret
from config.settings import DomainSettings


@pytest.fixture
def slapd_server(tmp_path: Path) -> Iterator[LocalSlapd]:
    """A fresh slapd per test: it starts in about 0.1 s, and tests change passwords."""
    server = LocalSlapd(tmp_path / "slapd")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slapd(slapd_server: LocalSlapd) -> SlapdInfo:
    return slapd_server.info


def domain_settings(info: SlapdInfo, **overrides: object) -> DomainSettings:
    values: dict[str, object] = {
        "name": "DEFAULT", "url": info.url, "base_dn": info.base_dn,
        "bind_dn": info.service_dn, "bind_password": Secret(info.service_password),
        "users_dn": f"ou=people,{info.base_dn}", "protected_groups": (PROTECTED_GROUP_DN,),
        "connect_timeout": 2.0, "operation_timeout": 2.0,
    }
    values.update(overrides)
    return DomainSettings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedis]:
    server = LocalRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.info.url, socket_timeout=2)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()

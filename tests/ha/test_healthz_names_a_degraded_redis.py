"""``/healthz`` under Sentinel: all well is the same answer as before (200, "up"); a sentinel
down or no replica left is 200 "degraded" naming Redis and why; the master unreachable is
503 "down" (``test_redis_sentinel_failover`` kills it). Real servers on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.health import ComponentDown, Degraded, HealthCheck
from bot.local_stack import SlapdInfo
from bot.web import create_app
from tests.channels.twilio.support import WebStack
from tests.ha.sentinel_stack import SentinelStack, running_sentinels
from tests.ha.test_redis_sentinel_failover import sentinel_web


@pytest.fixture
def sentinels(tmp_path: Path) -> Iterator[SentinelStack]:
    with running_sentinels(tmp_path / "sentinel") as stack:
        yield stack


@pytest.fixture
def web(slapd: SlapdInfo, sentinels: SentinelStack) -> Iterator[WebStack]:
    with sentinel_web(slapd, sentinels.url, io.StringIO()) as stack:
        yield stack


def test_healthz_under_sentinel_keeps_its_contract_then_names_a_dead_sentinel(
        web: WebStack, sentinels: SentinelStack) -> None:
    assert web.client().get("/healthz").json == {
        "status": "ok", "redis": "up", "directory": {"DEFAULT": "up"}}
    sentinels.kill_sentinel(2)
    # A fresh app: the first one keeps its answer for CACHE_SECONDS (a flood costs nothing).
    response = create_app(web.settings, web.application).test_client().get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json == {
        "status": "degraded", "directory": {"DEFAULT": "up"}, "degraded": ["redis"],
        "redis": f"degraded: 1 of 3 sentinels unreachable "
                 f"(127.0.0.1:{sentinels.sentinel_ports[2]})"}


def test_a_degraded_component_is_still_ok_and_a_down_one_says_why() -> None:
    def degraded() -> Degraded:
        return Degraded("1 of 3 sentinels unreachable")

    def down() -> None:
        raise ComponentDown("master unreachable (ConnectionError); failover in progress")

    def leaky() -> None:
        raise RuntimeError("redis://:hunter2@10.0.0.1")  # a foreign message is never shown

    health = HealthCheck({"a": degraded}).check()
    assert health.ok and health.degraded == ["a"] and health.down == []
    health = HealthCheck({"a": degraded, "b": down, "c": leaky}).check()
    assert not health.ok and health.down == ["b", "c"]
    assert dict(health.states) == {
        "a": "degraded: 1 of 3 sentinels unreachable",
        "b": "down: master unreachable (ConnectionError); failover in progress",
        "c": "down: RuntimeError"}

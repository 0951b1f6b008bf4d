"""``/healthz`` and the JSON log, as an operator reads them (``/metrics``: test_metrics.py)."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from bot.health import HealthCheck
from bot.local_stack import LocalSlapd, SlapdInfo
from bot.logging_setup import configure_logging
from bot.web import create_app
from tests.channels.twilio.support import WebStack, web_settings, web_stack


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- /healthz ----------------------------------------------------------------------------------

def test_healthz_reports_redis_and_each_directory_domain(stack: WebStack) -> None:
    response = stack.client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "redis": "up", "directory": {"DEFAULT": "up"}}


def test_healthz_is_503_naming_a_directory_that_is_down(stack: WebStack,
                                                        slapd_server: LocalSlapd) -> None:
    slapd_server.stop()
    response = stack.client().get("/healthz")
    assert response.status_code == 503, response.json
    body = response.json
    assert body is not None and body["status"] == "unavailable" and body["redis"] == "up"
    assert body["down"] == ["directory DEFAULT"]
    assert body["directory"]["DEFAULT"].startswith("down")


def test_healthz_is_503_naming_redis_when_it_is_down(slapd: SlapdInfo) -> None:
    settings = web_settings(slapd, f"redis://127.0.0.1:{closed_port()}/0")
    with web_stack(settings) as down:
        response = down.client().get("/healthz")
    assert response.status_code == 503
    assert response.json is not None and response.json["down"] == ["redis"]
    assert response.json["redis"].startswith("down") and \
        response.json["directory"] == {"DEFAULT": "up"}


def test_a_probe_flood_pings_the_directory_once_per_cache_period(
        stack: WebStack, monkeypatch: pytest.MonkeyPatch) -> None:
    directory = stack.application.directories["DEFAULT"]
    pings: list[int] = []
    real_ping = directory.ping

    def counted_ping() -> None:
        pings.append(1)
        real_ping()

    monkeypatch.setattr(directory, "ping", counted_ping)
    client = create_app(stack.settings, stack.application).test_client()
    statuses = {client.get("/healthz").status_code for _ in range(20)}
    assert statuses == {200}
    assert 1 <= len(pings) <= 2  # cached for 2 s: not one LDAP search per probe


def test_health_check_caches_and_never_stacks_pings_on_a_hung_component() -> None:
    now = [0.0]
    release = threading.Event()
    calls = {"fast": 0, "hung": 0}

    def fast() -> None:
        calls["fast"] += 1

    def hung() -> None:
        calls["hung"] += 1
        release.wait(10)

    check = HealthCheck({"fast": fast, "hung": hung}, timeout=0.05, cache_seconds=2.0,
                        clock=lambda: now[0])
    try:
        first = check.check()
        assert not first.ok and first.down == ["hung"]
        assert dict(first.states)["hung"].startswith("down: no answer")
        for _ in range(10):
            assert check.check() is first  # within the cache period
        now[0] = 5.0
        assert check.check().down == ["hung"]
        assert calls == {"fast": 2, "hung": 1}  # the hung ping was not started again
        release.set()
        now[0] = 10.0
        while check.check().down and now[0] < 100:  # the hung ping returns, then "up"
            now[0] += 5.0
        assert check.check().ok
    finally:
        release.set()
        check.close()


# -- /metrics: tests/channels/web/test_metrics.py (process memory, several workers) -----------

# -- the JSON log ------------------------------------------------------------------------------

@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_json_log_has_no_terminal_colour_codes(stack: WebStack,
                                                   json_log: io.StringIO) -> None:
    server = make_server("127.0.0.1", 0, stack.flask)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(urllib.error.HTTPError):
            # 404: werkzeug colours it
            urllib.request.urlopen(base + "/no-such-page", timeout=10)  # noqa: S310
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base + "/password/secret-token-123",  # noqa: S310
                                   timeout=10)
    finally:
        server.shutdown()
        thread.join(10)
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    requests = [entry for entry in lines if entry["logger"] == "werkzeug"]
    assert any("/no-such-page" in entry["message"] for entry in requests), lines
    assert "\x1b" not in json_log.getvalue() and "\\u001b" not in json_log.getvalue()
    assert "secret-token-123" not in json_log.getvalue()  # the redaction still holds

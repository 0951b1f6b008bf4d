"""``/healthz``, ``/metrics`` (Prometheus text format, counted across workers in Redis) and the
JSON log, as an operator reads them."""

from __future__ import annotations

import io
import json
import logging
import re
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
from tests.channels.twilio.support import WebStack, post_signed, web_settings, web_stack
from tests.channels.twilio.test_sms import Texter, prove_by_sms

Labels = frozenset[tuple[str, str]]


def samples(text: str) -> dict[tuple[str, Labels], int]:
    """The exposition text as {(metric name, labels): value}; label order does not matter."""
    found: dict[tuple[str, Labels], int] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\d+)", line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
            found[(match.group(1), labels)] = int(match.group(3))
    return found


def event(name: str, channel: str, result: str) -> tuple[str, Labels]:
    return ("sspm_events_total",
            frozenset({("event", name), ("channel", channel), ("result", result)}))


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


# -- /metrics ----------------------------------------------------------------------------------

def test_metrics_count_requests_turns_and_refusals(stack: WebStack) -> None:
    client = stack.client()
    params = {"From": "+15550001001", "Body": "hello", "MessageSid": "SM-metrics"}
    post_signed(client, "/twilio/sms", params)
    client.post("/twilio/sms", data=params)  # unsigned: 403
    text = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE sspm_http_requests_total counter" in text
    assert 'sspm_http_requests_total{method="POST",route="/twilio/sms",status="200"} 1' in text
    assert 'sspm_http_requests_total{method="POST",route="/twilio/sms",status="403"} 1' in text
    assert 'sspm_turns_total{channel="sms"} 1' in text
    assert "# TYPE sspm_errors_total counter" in text and "sspm_metrics_up 1" in text
    assert "# TYPE sspm_events_total counter" in text


@pytest.fixture
def temporary_stack(slapd: SlapdInfo, redis_server: object,
                    redis_client: object) -> Iterator[WebStack]:
    """SMS resets by a temporary password: the reset completes in the SMS conversation."""
    url = redis_server.info.url  # type: ignore[attr-defined]
    with web_stack(web_settings(slapd, url, sms={"reset_delivery": "temporary"})) as built:
        yield built


def test_metrics_count_a_reset_over_sms_by_channel_and_result(
        temporary_stack: WebStack) -> None:
    stack = temporary_stack
    reply = prove_by_sms(stack, Texter(stack), "alice")
    assert "temporary" in reply.lower(), reply
    found = samples(stack.client().get("/metrics").get_data(as_text=True))
    assert found[event("reset", "sms", "ok")] == 1
    assert found[event("proof", "sms", "ok")] == 1
    assert found[event("captcha", "sms", "ok")] == 1
    assert found[event("code", "sms", "ok")] == 1
    # Every worker shows the same totals: the counts are in Redis, not in this process.
    other = create_app(stack.settings, stack.application).test_client()
    assert samples(other.get("/metrics").get_data(as_text=True))[
        event("reset", "sms", "ok")] == 1


def test_metrics_count_the_link_path_where_each_step_happens(stack: WebStack) -> None:
    reply = prove_by_sms(stack, Texter(stack), "alice")
    assert "/password/" in reply
    found = samples(stack.client().get("/metrics").get_data(as_text=True))
    assert found[event("password_link", "sms", "issued")] == 1
    assert found[event("proof", "sms", "ok")] == 1
    assert event("reset", "sms", "ok") not in found  # not yet: the page sets it


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

"""``/metrics`` (issues 13 and 16): outcome counters and latency histograms in process memory,
added up across worker processes, read with Prometheus's own text parser, and no Redis call."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from bot.demo import demo_config
from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.ports import free_port, wait_for_port
from channels.web.metrics import COUNTERS, HISTOGRAMS
from tests.channels.twilio.support import WebStack, post_signed, web_settings, web_stack
from tests.channels.twilio.test_sms import Texter, prove_by_sms

REPO = Path(__file__).resolve().parents[3]
Sample = tuple[str, frozenset[tuple[str, str]]]


def parse(text: str) -> dict[Sample, float]:
    """Every sample of an exposition, by (name, labels); the parser rejects a malformed one."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[Sample, float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def scrape(stack: WebStack) -> dict[Sample, float]:
    response = stack.client().get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return parse(response.get_data(as_text=True))


# -- several processes, one scrape ------------------------------------------------------------

COUNT_IN_A_WORKER = textwrap.dedent("""
    import sys
    from channels.web.metrics import ProcessMetrics
    metrics = ProcessMetrics()
    assert metrics.multiprocess
    for _ in range(int(sys.argv[1])):
        metrics.increment("sspm_events_total", event="reset", channel="sms", result="ok")
    metrics.observe("sspm_turn_duration_seconds", 0.02, channel="sms")
    """)
SCRAPE = "from channels.web.metrics import ProcessMetrics\n" \
         "import sys; sys.stdout.write(ProcessMetrics().render().decode())"


def python(code: str, *args: str, folder: Path | None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    if folder is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=60, check=False)


def test_two_worker_processes_add_up_in_one_scrape(tmp_path: Path) -> None:
    for count in ("1", "2"):
        done = python(COUNT_IN_A_WORKER, count, folder=tmp_path)
        assert done.returncode == 0, done.stderr
    scraped = python(SCRAPE, folder=tmp_path)
    assert scraped.returncode == 0, scraped.stderr
    found = parse(scraped.stdout)
    assert value(found, "sspm_events_total", event="reset", channel="sms", result="ok") == 3
    assert value(found, "sspm_turn_duration_seconds_count", channel="sms") == 2
    assert value(found, "sspm_turn_duration_seconds_bucket", channel="sms", le="0.025") == 2
    assert value(found, "sspm_turn_duration_seconds_bucket", channel="sms", le="0.01") == 0


def test_without_a_folder_a_process_serves_only_its_own_counts(tmp_path: Path) -> None:
    done = python(COUNT_IN_A_WORKER.replace("assert metrics.multiprocess", "") + textwrap.dedent(
        """
        sys.stdout.write(metrics.render().decode())
        """), "2", folder=None)
    assert done.returncode == 0, done.stderr
    found = parse(done.stdout)
    assert value(found, "sspm_events_total", event="reset", channel="sms", result="ok") == 2
    assert not list(tmp_path.iterdir())


def test_a_folder_named_after_the_import_is_refused_not_half_counted(tmp_path: Path) -> None:
    late = textwrap.dedent(f"""
        import os, prometheus_client
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = {str(tmp_path)!r}
        from channels.web.metrics import ProcessMetrics
        ProcessMetrics()
        """)
    done = python(late, folder=None)
    assert done.returncode != 0 and "set it before the process starts" in done.stderr


# -- outcomes and latency through the real webhooks -------------------------------------------

@pytest.fixture
def temporary_stack(slapd: SlapdInfo, redis_server: LocalRedis,
                    redis_client: object) -> Iterator[WebStack]:
    """SMS resets by a temporary password: the reset completes in the SMS conversation."""
    with web_stack(web_settings(slapd, redis_server.info.url,
                                sms={"reset_delivery": "temporary"})) as built:
        yield built


def test_a_reset_over_signed_webhooks_moves_the_outcome_counters(
        temporary_stack: WebStack) -> None:
    stack = temporary_stack
    before = scrape(stack)
    person = Texter(stack)
    reply = prove_by_sms(stack, person, "alice")
    assert "temporary" in reply.lower(), reply
    after = scrape(stack)
    for event in ("reset", "proof", "captcha", "code"):
        labels = {"event": event, "channel": "sms", "result": "ok"}
        assert value(after, "sspm_events_total", **labels) == \
            value(before, "sspm_events_total", **labels) + 1, event
    turns = len(person.replies)
    assert value(after, "sspm_turns_total", channel="sms") == turns
    assert value(after, "sspm_turn_duration_seconds_count", channel="sms") == turns
    assert value(after, "sspm_turn_duration_seconds_bucket", channel="sms", le="+Inf") == turns
    assert value(after, "sspm_turn_duration_seconds_sum", channel="sms") > 0
    assert value(after, "sspm_http_requests_total", route="/twilio/sms", method="POST",
                 status="200") == turns
    assert value(after, "sspm_http_request_duration_seconds_count", route="/twilio/sms") == turns


def test_the_link_path_counts_each_step_where_it_happens(stack: WebStack) -> None:
    reply = prove_by_sms(stack, Texter(stack), "alice")
    assert "/password/" in reply
    found = scrape(stack)
    assert value(found, "sspm_events_total", event="password_link", channel="sms",
                 result="issued") == 1
    assert value(found, "sspm_events_total", event="proof", channel="sms", result="ok") == 1
    assert value(found, "sspm_events_total", event="reset", channel="sms", result="ok") == 0


def test_refusals_count_by_status_and_labels_stay_bounded(stack: WebStack) -> None:
    client = stack.client()
    params = {"From": "+15550001001", "Body": "hello", "MessageSid": "SM-metrics"}
    post_signed(client, "/twilio/sms", params)
    client.post("/twilio/sms", data=params)  # unsigned: 403
    client.get("/password/" + "T" * 40)  # a token in the path is never a label
    client.open("/healthz", method="BREW")  # neither is a made-up method
    found = scrape(stack)
    assert value(found, "sspm_http_requests_total", route="/twilio/sms", method="POST",
                 status="200") == 1
    assert value(found, "sspm_http_requests_total", route="/twilio/sms", method="POST",
                 status="403") == 1
    assert value(found, "sspm_http_requests_total", route="/password/<token>", method="GET",
                 status="410") == 1
    assert value(found, "sspm_http_requests_total", route="unmatched", method="other",
                 status="405") == 1
    labels = {v for (_name, pairs) in found for _key, v in pairs}
    assert not any("TTTT" in label or "BREW" in label for label in labels)


class CountingConnection:
    """Counts every command sent to Redis by any connection of the process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.sent = 0
        original = redis.connection.AbstractConnection.send_packed_command

        def send(connection: object, command: object, check_health: bool = True) -> None:
            self.sent += 1
            original(connection, command, check_health)  # type: ignore[no-untyped-call, arg-type]

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)


def test_metrics_make_no_redis_call(stack: WebStack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = stack.client()
    counting = CountingConnection(monkeypatch)
    post_signed(client, "/twilio/sms", {"From": "+15550001001", "Body": "hello",
                                        "MessageSid": "SM-no-redis"})
    assert counting.sent > 0  # the wrapper sees the turn's own Redis traffic
    counting.sent = 0
    for _ in range(3):
        assert client.get("/metrics").status_code == 200
    assert counting.sent == 0


# -- sspm web: gunicorn workers, the folder prepared and cleaned up ---------------------------

STALE = textwrap.dedent("""
    from channels.web.metrics import ProcessMetrics
    metrics = ProcessMetrics()
    for _ in range(100):
        metrics.increment("sspm_http_requests_total", route="/healthz", method="GET",
                          status="200")
    """)


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback only
        return response.status, response.read().decode()


@pytest.mark.parametrize("own_folder", [True, False], ids=["operator_folder", "temporary"])
def test_sspm_web_workers_add_up_from_a_clean_folder(
        own_folder: bool, slapd: SlapdInfo, redis_server: LocalRedis, redis_client: object,
        tmp_path: Path) -> None:
    folder, scratch = tmp_path / "metrics", tmp_path / "tmp"
    folder.mkdir()
    scratch.mkdir()
    # An earlier run's counts left in the folder: they must not be counted again.
    assert python(STALE, folder=folder).returncode == 0 and list(folder.iterdir())
    port = free_port()
    config = tmp_path / "sspm.toml"
    config.write_text(demo_config(slapd, redis_server.info.url, tmp_path, web_port=port))
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(scratch),
           "SSPM_SECRET_KEY": "metrics-test-secret-key-0123456789",
           "TWILIO_AUTH_TOKEN": "metrics-test-twilio-token",
           "SSPM_LDAP_BIND_PASSWORD": slapd.service_password}
    if own_folder:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    log = tmp_path / "web.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(config), "web", "--port",
             str(port), "--workers", "2"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
            stderr=errors)
    try:
        assert wait_for_port(port, 30, process), log.read_text()
        base = f"http://127.0.0.1:{port}"
        for _ in range(12):
            assert get(base + "/healthz")[0] == 200
        scrapes = [parse(get(base + "/metrics")[1]) for _ in range(4)]
    finally:
        process.terminate()
        assert process.wait(30) == 0, log.read_text()
    for found in scrapes:  # whichever worker answers, the same total
        assert value(found, "sspm_http_requests_total", route="/healthz", method="GET",
                     status="200") == 12
        assert value(found, "sspm_http_request_duration_seconds_count", route="/healthz") == 12
    assert "serving on http://127.0.0.1:" in log.read_text()
    assert list(scratch.iterdir()) == []  # the temporary folder, if made, is gone


def test_the_grafana_dashboard_reads_only_series_we_serve() -> None:
    dashboard = json.loads((REPO / "docs" / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    served = set(COUNTERS) | {h + "_bucket" for h in HISTOGRAMS}
    used = {name for query in queries for name in re.findall(r"\bsspm_\w+", query)}
    assert used and used <= served, used - served
    events = {e for q in queries for e in re.findall(r'event=~?"([^"]+)"', q)}
    assert {"reset", "unlock", "change", "enrol", "escalation", "proof"} <= events

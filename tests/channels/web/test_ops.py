"""``/healthz`` and ``/metrics`` (Prometheus text format, counted across workers in Redis)."""

from __future__ import annotations

from tests.channels.twilio.support import WebStack, post_signed


def test_healthz_reports_redis(stack: WebStack) -> None:
    response = stack.client().get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok", "redis": "up"}


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

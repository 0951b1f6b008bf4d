"""The reports an IT manager reads (issue 16): figures that match what happened, on the page,
in its CSV and from ``sspm report``; who may see them; the page in a real browser."""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path

from flask.testing import FlaskClient

from bot.local_stack import SlapdInfo
from bot.local_stack.seed import DEMO_USERS
from bot.report_command import run_report
from dialogs.events import ConversationKey, Event
from tests.channels.twilio.support import WebStack
from tests.channels.twilio.test_sms import NEW_PASSWORD, Texter, prove_by_sms
from tests.engine.conversation import Conversation
from tests.engine.test_forgot_password import prove_identity
from tests.helpdesk.test_console import AGENT, act, escalate_from_telegram, sign_in

REPORTER = ("bob", "Battery-Staple-77")
ARTIFACTS = Path(os.environ.get("SSPM_TEST_ARTIFACTS", Path(__file__).parents[2] / "var"))


def sms_reset(stack: WebStack) -> None:
    person = Texter(stack)
    reply = prove_by_sms(stack, person, "alice")
    token = re.search(r"/password/([A-Za-z0-9_-]{20,})", reply)
    assert token, reply
    client = stack.client()
    page = client.get(f"/password/{token.group(1)}").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert csrf
    done = client.post(f"/password/{token.group(1)}", data={
        "csrf": csrf.group(1), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200


def console_unlock(stack: WebStack) -> None:
    c = Conversation(stack.application.engine, stack.catalogue, stack.renderer,
                     sender="reports-unlock")
    prove_identity(c, "carol", flow="unlock")
    assert c.said("unlock.done"), c.text()


def failed_proof(stack: WebStack) -> None:
    c = Conversation(stack.application.engine, stack.catalogue, stack.renderer,
                     sender="reports-failed")
    c.start()
    c.choose("forgot")
    c.say("alice")
    c.solve_captcha()
    c.answer_questions({}, wrong=True)
    c.say(c.last_code())
    assert c.said("proof.failed"), c.text()


def cell(html: str, outcome: str, column: str) -> int:
    row = re.search(rf'<tr data-outcome="{outcome}">(.*?)</tr>', html, re.S)
    assert row, outcome
    if column == "total":
        found = re.search(r'<td class="total">(\d+)</td>', row.group(1))
    else:
        found = re.search(rf'<td data-channel="{column}">(\d+)</td>', row.group(1))
    return int(found.group(1)) if found else 0


def by_id(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, element_id
    return found.group(1)


def test_reports_count_what_happened(stack: WebStack, slapd: SlapdInfo) -> None:
    sms_reset(stack)
    console_unlock(stack)
    failed_proof(stack)
    ticket = escalate_from_telegram(stack.application, sender="880001")
    agent = stack.client()
    assert "/helpdesk/" in sign_in(agent, *AGENT)
    act(agent, ticket, "claim")
    act(agent, ticket, "resolve")

    page = agent.get("/helpdesk/reports")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert cell(html, "resets", "sms") == 1 and cell(html, "resets", "total") == 1
    assert cell(html, "unlocks", "console") == 1 and cell(html, "unlocks", "total") == 1
    assert cell(html, "escalations", "telegram") == 1
    assert cell(html, "failed_proofs", "console") == 1
    assert cell(html, "changes", "total") == 0
    assert by_id(html, "tickets-opened") == "1"
    assert by_id(html, "tickets-claimed") == "1" and by_id(html, "tickets-resolved") == "1"
    assert by_id(html, "median-claim").startswith("≤")
    assert re.search(r'data-flow="forgot">.*?class="started">(\d+)<.*?class="completed">1<',
                     html, re.S)
    # Coverage: every seeded person, the enrolled ones counted, bob listed as not enrolled.
    people = int(re.search(r'class="people">(\d+)<', html).group(1))  # type: ignore[union-attr]
    assert people == len(DEMO_USERS)
    assert '<td class="login">bob</td>' in html and '<td class="login">alice</td>' not in html
    assert html.count("<svg") >= 3 and "<script" not in html

    rows = list(csv.reader(io.StringIO(agent.get("/helpdesk/reports/activity.csv")
                                       .get_data(as_text=True))))
    assert rows[0] == ["day", "channel", "outcome", "count"]
    found = {(r[1], r[2]): int(r[3]) for r in rows[1:]}
    assert found[("sms", "resets")] == 1 and found[("console", "unlocks")] == 1
    assert found[("telegram", "escalations")] == 1
    missing = agent.get("/helpdesk/reports/not-enrolled.csv").get_data(as_text=True)
    assert "bob" in missing and ",alice," not in missing

    out = io.StringIO()
    assert run_report(stack.settings, days=30, as_csv=True, not_enrolled=False, out=out) == 0
    assert sorted(csv.reader(io.StringIO(out.getvalue()))) == sorted(rows)
    text = io.StringIO()
    assert run_report(stack.settings, days=30, as_csv=False, not_enrolled=False, out=text) == 0
    assert "Enrolment coverage" in text.getvalue() and "Resets" in text.getvalue()


def test_counts_reach_redis_off_the_request_path(stack: WebStack) -> None:
    application = stack.application
    assert application.reports is not None and application.activity_flusher is not None
    key = ConversationKey("console", "reports-offpath")
    application.engine.handle(key, Event.start())
    application.engine.handle(key, Event.chose("helpdesk"))
    application.engine.handle(key, Event.typed("skip"))
    days = [k for k in application.redis.scan_iter(match="t:activity:*")]
    assert days == []  # counted in memory only: no Redis write during the turns
    application.activity_flusher.stop()
    days = [k for k in application.redis.scan_iter(match="t:activity:*")]
    assert len(days) == 1 and 0 < application.redis.ttl(days[0]) <= 400 * 86_400


def reporter_client(stack: WebStack) -> FlaskClient:
    client = stack.client()
    sign_in(client, *REPORTER)
    return client


def test_a_reporter_sees_reports_but_no_tickets(stack: WebStack) -> None:
    ticket = escalate_from_telegram(stack.application, sender="880002")
    client = reporter_client(stack)
    assert client.get("/helpdesk/reports").status_code == 200
    for path in ("/helpdesk/", f"/helpdesk/ticket/{ticket}", "/helpdesk/people"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].endswith("/helpdesk/reports"), path
    token = re.search(r'name="csrf" value="([^"]+)"',
                      client.get("/helpdesk/reports").get_data(as_text=True))
    assert token
    claimed = client.post(f"/helpdesk/ticket/{ticket}/claim", data={"csrf": token.group(1)})
    assert claimed.status_code == 302
    assert stack.application.tickets.get(ticket).status == "open"
    assert ticket not in client.get("/helpdesk/reports").get_data(as_text=True)


def test_nobody_else_sees_the_reports(stack: WebStack) -> None:
    stranger = stack.client()
    for path in ("/helpdesk/reports", "/helpdesk/reports/activity.csv",
                 "/helpdesk/reports/not-enrolled.csv"):
        response = stranger.get(path)
        assert response.status_code == 302 and "/helpdesk/login" in response.headers["Location"]
    # alice is in neither group: her right password does not open the console.
    refused = sign_in(stranger, "alice", "Correct-Horse-42")
    assert not refused.startswith("/helpdesk") and "<html" in refused
    assert stranger.get("/helpdesk/reports").status_code == 302


def test_the_reports_page_in_a_real_browser(stack: WebStack) -> None:
    from selenium.webdriver.common.by import By

    from tests.browser import chromium, click_and_wait, serve
    from tests.helpdesk.test_console_browser import type_into

    console_unlock(stack)
    with serve(stack.flask) as base, chromium() as driver:
        driver.set_window_size(412, 915)  # type: ignore[attr-defined]  # a phone
        driver.get(base + "/helpdesk/login")  # type: ignore[attr-defined]
        type_into(driver, "username", REPORTER[0])
        type_into(driver, "password", REPORTER[1])
        click_and_wait(driver, "sign-in")
        assert driver.current_url.endswith("/helpdesk/reports")  # type: ignore[attr-defined]
        charts = driver.find_elements(By.CSS_SELECTOR, "svg.chart")  # type: ignore[attr-defined]
        assert len(charts) >= 3 and all(c.size["width"] <= 412 for c in charts)
        driver.find_element(By.CSS_SELECTOR, "#activity summary").click()  # type: ignore[attr-defined]
        unlocks = driver.find_element(  # type: ignore[attr-defined]
            By.CSS_SELECTOR, 'tr[data-outcome="unlocks"] td.total')
        assert unlocks.text == "1"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "reports-page.png"))  # type: ignore[attr-defined]

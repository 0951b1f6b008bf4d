"""Issue 16, reports: a reporter reaches nothing but the reports, and not for long after leaving.

A member of the reporters' group signs in to the console to read figures; tickets (with the
caller's number and what they said), people pages (enrolment, clear), every action on a ticket
(claim, relay, send a code, unlock, reset) are for agents. The red team's moves as bob, a
reporter, on real slapd and Redis:

- every console route the app knows (read from Flask's URL map, so a route added later is
  tried too), with GET and POST and a valid CSRF token, a live ticket and a real person in its
  arguments, plus a trailing slash and other letter cases;
- then bob leaves the reporters' group: after ``membership_check_seconds`` his session is
  gone, the reports included.

Nothing may come back but a redirect, 403, 404 or 405; no ticket changes, no enrolment is
cleared, nothing is sent to anyone.
"""

from __future__ import annotations

import io
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

from bot.helpdesk_agents import LdapAgentDirectory
from bot.helpdesk_app import helpdesk_deps
from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.seed import AGENTS_GROUP_DN, REPORTERS_GROUP_DN
from bot.services import Application
from channels.helpdesk import ACTIONS, configure_cookies, create_blueprint
from dialogs.memory import ManualClock
from tests.helpdesk.conftest import Recorder, audit_records
from tests.helpdesk.test_console import escalate_from_telegram, sign_in

REPORTER = ("bob", "Battery-Staple-77")
OPEN_TO_REPORTERS = {"helpdesk.reports_page", "helpdesk.activity_csv",
                     "helpdesk.not_enrolled_csv", "helpdesk.login", "helpdesk.logout",
                     "helpdesk.language", "helpdesk.static"}


@pytest.fixture
def console(desk_app: Application, desk_clock: ManualClock) -> Flask:
    app = Flask("reporter-attack")
    app.secret_key = "test-secret-key-0123456789abcdef"
    configure_cookies(app, secure=False)
    agents = LdapAgentDirectory(desk_app.directories["DEFAULT"], AGENTS_GROUP_DN,
                                REPORTERS_GROUP_DN)
    app.register_blueprint(create_blueprint(helpdesk_deps(desk_app, agents, desk_clock.now)))
    return app


def csrf_of(client: FlaskClient) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"',
                      client.get("/helpdesk/reports").get_data(as_text=True))
    assert found
    return found.group(1)


def attack_urls(app: Flask, ticket: str) -> list[tuple[str, str]]:
    """(method, path) for every console route a reporter must not reach."""
    args = {"ticket": ticket, "domain": "DEFAULT", "username": "alice"}
    tried: list[tuple[str, str]] = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("helpdesk.") or rule.endpoint in OPEN_TO_REPORTERS:
            continue
        actions = list(ACTIONS) if "action" in rule.arguments else [""]
        for action in actions:
            values = {name: args.get(name, action) for name in rule.arguments}
            path = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
            for method in ("GET", "POST"):
                for variant in (path, path.rstrip("/") + "/", path.upper(),
                                path.replace("/helpdesk/", "/HelpDesk/")):
                    tried.append((method, variant))
    return tried


def test_a_reporter_reaches_nothing_but_the_reports(
        console: Flask, desk_app: Application, sms: Recorder, telegram: Recorder) -> None:
    ticket = escalate_from_telegram(desk_app, sender="7701")
    alice = desk_app.directories["DEFAULT"].find_account("alice")
    assert alice is not None and alice.enrolment
    sent_before = (len(sms.sent), len(telegram.sent))
    client = console.test_client()
    assert sign_in(client, *REPORTER).endswith("/helpdesk/")
    token = csrf_of(client)
    tried = attack_urls(console, ticket)
    assert len(tried) > 40 and any("/reset" in path for _, path in tried)
    for method, path in tried:
        response = client.open(path, method=method,
                               data={"csrf": token, "confirm": "yes", "text": "hi",
                                     "code": "123456", "username": "alice", "q": "alice"})
        body = response.get_data(as_text=True)
        assert response.status_code in (301, 302, 303, 308, 403, 404, 405), (method, path)
        assert ticket not in body and "alice" not in body.lower(), (method, path)
        if 300 <= response.status_code < 400:  # to the reports, or Flask's own slash
            assert response.headers["Location"].endswith(("/helpdesk/reports", f"{path}/")), \
                (method, path, response.headers["Location"])
    after = desk_app.tickets.get(ticket)
    assert after.status == "open" and not after.agent, after
    alice_after = desk_app.directories["DEFAULT"].find_account("alice")
    assert alice_after is not None and alice_after.enrolment == alice.enrolment
    assert (len(sms.sent), len(telegram.sent)) == sent_before
    assert client.get("/helpdesk/reports").status_code == 200  # still a reporter


def swap_reporter(slapd: SlapdInfo, leaving: str, joining: str) -> None:
    with Connection(Server(slapd.url), slapd.admin_dn, slapd.admin_password,
                    auto_bind=True) as admin:
        # groupOfNames needs a member: someone joins as bob leaves.
        assert admin.modify(REPORTERS_GROUP_DN, {"member": [
            (MODIFY_ADD, [demo_user(joining).dn]), (MODIFY_DELETE, [demo_user(leaving).dn])]})


def test_a_reporter_who_left_the_group_reads_nothing(
        console: Flask, slapd: SlapdInfo, desk_app: Application, desk_clock: ManualClock,
        desk_audit: io.StringIO) -> None:
    client = console.test_client()
    sign_in(client, *REPORTER)
    assert client.get("/helpdesk/reports/not-enrolled.csv").status_code == 200
    swap_reporter(slapd, "bob", "dave")
    desk_clock.advance(desk_app.settings.helpdesk.membership_check_seconds)
    for path in ("/helpdesk/reports", "/helpdesk/reports/activity.csv",
                 "/helpdesk/reports/not-enrolled.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/helpdesk/login" in response.headers["Location"]
    assert [r["who"] for r in audit_records(desk_audit, "helpdesk.signed_out")] == ["bob"]

"""The console's people tools (issue 12): find a person without a ticket, read their
enrolment and lock state, clear an enrolment; and the console's words for reasons."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.services import Application
from dialogs.enrolment_record import EnrolmentRecord
from dialogs.memory import ManualClock
from dialogs.ports import Escalation
from tests.helpdesk.conftest import Recorder, audit_records
from tests.helpdesk.test_console import AGENT, csrf, escalate_from_telegram, sign_in

SPELLINGS = ("alice", "ALICE", "1001", "ａｌｉｃｅ", "DEFAULT\\alice")
ALICE_PASSWORD = "Correct-Horse-42"


@pytest.fixture
def agent(flask_app: Flask) -> FlaskClient:
    client = flask_app.test_client()
    assert sign_in(client, *AGENT).endswith("/helpdesk/")
    return client


def search(client: FlaskClient, query: str) -> str:
    token = csrf(client, "/helpdesk/people")
    response = client.post("/helpdesk/people", data={"q": query, "csrf": token})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def page(client: FlaskClient, username: str) -> str:
    response = client.get(f"/helpdesk/people/DEFAULT/{username}")
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post(client: FlaskClient, path: str, **form: str) -> str:
    token = csrf(client, "/helpdesk/people/DEFAULT/alice")
    response = client.post(path, data={"csrf": token, **form}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def enrolment_of(app: Application, username: str) -> str | None:
    account = app.directories["DEFAULT"].find_account(username)
    assert account is not None
    return account.enrolment


# -- finding a person ---------------------------------------------------------------------------


def test_an_agent_finds_a_person_without_a_ticket_under_any_spelling(
        agent: FlaskClient, desk_audit: io.StringIO) -> None:
    for spelling in SPELLINGS:
        found = search(agent, spelling)
        assert 'href="/helpdesk/people/DEFAULT/alice"' in found, (spelling, found)
    lookups = audit_records(desk_audit, "helpdesk.lookup")
    assert len(lookups) == len(SPELLINGS)
    assert all(r["who"] == "hana" and r["person"] == "DEFAULT\\alice" and r["result"] == "found"
               for r in lookups), lookups


def test_search_text_never_becomes_a_filter_nor_reaches_the_logs(
        agent: FlaskClient, desk_audit: io.StringIO, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for attack in ("*", "a*", "alice)(uid=*", "*)(|(objectClass=*", "\\2a", ALICE_PASSWORD):
        assert 'id="no-match"' in search(agent, attack), attack
    records = audit_records(desk_audit, "helpdesk.lookup")
    assert len(records) == 6 and all(r["result"] == "not_found" for r in records)
    assert ALICE_PASSWORD not in desk_audit.getvalue() and ALICE_PASSWORD not in caplog.text
    assert "uid=*" not in desk_audit.getvalue()


def test_people_pages_need_a_signed_in_agent_and_the_csrf_token(
        flask_app: Flask, agent: FlaskClient, desk_app: Application) -> None:
    stranger = flask_app.test_client()
    assert stranger.get("/helpdesk/people").status_code == 302
    assert stranger.get("/helpdesk/people/DEFAULT/alice").status_code == 302
    before = enrolment_of(desk_app, "alice")
    assert agent.post("/helpdesk/people", data={"q": "alice"}).status_code == 403
    assert agent.post("/helpdesk/people/DEFAULT/alice/clear",
                      data={"confirm": "yes"}).status_code == 403
    assert agent.post("/helpdesk/people/DEFAULT/alice/clear",
                      data={"confirm": "yes", "csrf": "forged"}).status_code == 403
    assert enrolment_of(desk_app, "alice") == before


# -- enrolment and lock state -------------------------------------------------------------------


def test_the_person_page_shows_enrolment_channels_masked_and_lock_state(
        agent: FlaskClient, desk_audit: io.StringIO) -> None:
    alice = page(agent, "alice")
    assert "Enrolled" in alice and "+1555…01" in alice and "+15550001001" not in alice
    assert re.search(r'id="telegram">yes', alice) and "Usable, not locked" in alice
    assert "700001001" not in alice  # the Telegram id itself is not shown
    assert audit_records(desk_audit, "helpdesk.lookup")[-1]["person"] == "DEFAULT\\alice"
    assert "Not enrolled" in page(agent, "bob")
    expected = {"carol": "Locked (failed logins)", "frank": "Locked by an administrator",
                "dave": "Must change the password at next login",
                "grace": "Password expired", "erin": "Protected"}
    for username, state in expected.items():
        assert state in page(agent, username), username
    assert 'id="clear"' not in page(agent, "erin")  # nothing to offer on a protected account


def test_a_binding_that_moved_recently_shows_its_cooling_off(
        agent: FlaskClient, desk_app: Application, desk_clock: ManualClock) -> None:
    directory = desk_app.directories["DEFAULT"]
    account = directory.find_account("alice")
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None
    directory.write_enrolment(account, replace(
        record, telegram_changed_at=desk_clock.now() - 60).to_json())
    shown = page(agent, "alice")
    telegram = re.search(r'id="telegram">(.*?)</td>', shown)
    assert telegram and "no proof of possession until" in telegram.group(1), shown
    mobile = re.search(r'id="mobile">(.*?)</td>', shown)
    assert mobile and "no proof of possession" not in mobile.group(1)


# -- clearing an enrolment ----------------------------------------------------------------------


def test_clearing_an_enrolment_is_confirmed_audited_and_announced_on_the_bound_channels(
        agent: FlaskClient, desk_app: Application, desk_audit: io.StringIO, sms: Recorder,
        telegram: Recorder) -> None:
    before = enrolment_of(desk_app, "alice")
    asked = post(agent, "/helpdesk/people/DEFAULT/alice/clear")
    assert 'id="confirm"' in asked and "DEFAULT\\alice" in asked
    assert enrolment_of(desk_app, "alice") == before  # the first POST changes nothing
    assert not audit_records(desk_audit, "helpdesk.clear_enrolment")

    done = post(agent, "/helpdesk/people/DEFAULT/alice/clear", confirm="yes")
    assert 'id="notice"' in done and "Enrolment cleared" in done and "Not enrolled" in done
    assert enrolment_of(desk_app, "alice") is None
    record, = audit_records(desk_audit, "helpdesk.clear_enrolment")
    assert record["who"] == "hana" and record["person"] == "DEFAULT\\alice"
    assert record["result"] == "ok" and record["notice"] == "ok"
    assert any(chat == "700001001" and "removed your self-service enrolment" in text
               for chat, text in telegram.sent), telegram.sent
    assert any(to == "+15550001001" and "removed your self-service enrolment" in text
               for to, text in sms.sent), sms.sent


def test_a_protected_accounts_enrolment_is_never_cleared(
        agent: FlaskClient, desk_app: Application, desk_audit: io.StringIO,
        sms: Recorder) -> None:
    before = enrolment_of(desk_app, "erin")
    assert before is not None
    done = post(agent, "/helpdesk/people/DEFAULT/erin/clear", confirm="yes")
    assert 'id="error"' in done
    assert enrolment_of(desk_app, "erin") == before
    record, = audit_records(desk_audit, "helpdesk.clear_enrolment")
    assert record["result"] == "refused_protected" and record["person"] == "DEFAULT\\erin"
    assert not sms.sent


def test_a_page_names_the_account_not_another_spelling(agent: FlaskClient,
                                                       desk_app: Application) -> None:
    # "1001" is alice's employee number: a page for "user 1001" is nobody's page.
    assert agent.get("/helpdesk/people/DEFAULT/1001").status_code == 404
    before = enrolment_of(desk_app, "alice")
    token = csrf(agent, "/helpdesk/people/DEFAULT/alice")
    agent.post("/helpdesk/people/DEFAULT/1001/clear", data={"csrf": token, "confirm": "yes"})
    assert enrolment_of(desk_app, "alice") == before


def test_an_agent_opens_a_ticket_for_a_person(agent: FlaskClient, desk_app: Application,
                                              desk_audit: io.StringIO) -> None:
    ticket_page = post(agent, "/helpdesk/people/DEFAULT/alice/ticket")
    assert "Opened by an agent" in ticket_page and 'id="person">alice<' in ticket_page
    ticket, escalation = next(iter(desk_app.services.escalations.recent(1)))
    assert escalation.username == "alice" and desk_app.tickets.get(ticket).agent == "hana"
    assert audit_records(desk_audit, "helpdesk.open_ticket")[0]["ticket"] == ticket


# -- words that fit the step --------------------------------------------------------------------


def test_the_console_shows_reasons_in_words_and_an_unidentified_person(
        agent: FlaskClient, desk_app: Application) -> None:
    ticket = escalate_from_telegram(desk_app, sender="5550101",
                                    problem="Locked <b>out</b> since Monday")
    desk_app.services.escalations.raise_escalation(Escalation(
        reason="a_reason_added_later", channel="sms", domain="DEFAULT"))
    queue = agent.get("/helpdesk/").get_data(as_text=True)
    assert "Asked for the help desk" in queue and "requested_by_person" not in queue
    assert "not identified yet" in queue and ">?<" not in queue
    assert "Other (a_reason_added_later)" in queue
    assert "Locked &lt;b&gt;out&lt;/b&gt; since Monday" in queue  # escaped, never markup
    shown = agent.get(f"/helpdesk/ticket/{ticket}").get_data(as_text=True)
    assert 'id="problem">Locked &lt;b&gt;out&lt;/b&gt; since Monday<' in shown
    assert 'id="person">not identified yet<' in shown


def test_every_escalation_reason_in_the_dialogs_has_words(desk_app: Application) -> None:
    root = Path(__file__).resolve().parents[2] / "dialogs"
    reasons = {match for path in root.rglob("*.py")
               for match in re.findall(r'escalate\(\s*"([a-z_]+)"', path.read_text())}
    assert {"requested_by_person", "too_many_failed_proofs", "protected_account"} <= reasons
    catalogue = desk_app.catalogue
    for reason in reasons:
        for language in ("en", "fr"):
            assert catalogue.text(f"helpdesk.reason.{reason}", language), (reason, language)

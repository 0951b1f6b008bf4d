"""Property 6: help desk sessions can be revoked.

The attack: an agent's cookie is copied (a shared workstation, a browser backup, malware).
It used to *be* the session: it kept working after the agent signed out, and after the
agent was removed from the agents' group. Now the cookie names a server-side session that
logout deletes, and membership is checked again at least every 60 s.
"""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from ldap3 import MODIFY_ADD, MODIFY_DELETE, Connection, Server

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.seed import AGENTS_GROUP_DN
from bot.services import Application
from dialogs.memory import ManualClock
from tests.helpdesk.conftest import audit_records
from tests.helpdesk.test_console import AGENT, csrf, escalate_from_telegram, sign_in


def copy_of(flask_app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same cookie, as an attacker who copied it would."""
    cookie = client.get_cookie("sspm_helpdesk")
    assert cookie is not None
    thief = flask_app.test_client()
    thief.set_cookie("sspm_helpdesk", cookie.value)
    return thief


def claim(client: FlaskClient, ticket: str, token: str) -> str:
    """Where the claim sends the browser (the login page when the session is gone)."""
    response = client.post(f"/helpdesk/ticket/{ticket}/claim", data={"csrf": token})
    assert response.status_code == 302
    return response.headers["Location"]


def remove_from_agents(slapd: SlapdInfo, uid: str) -> None:
    connection = Connection(Server(slapd.url), slapd.admin_dn, slapd.admin_password,
                            auto_bind=True)
    try:
        # groupOfNames needs a member: another agent joins as this one leaves.
        assert connection.modify(AGENTS_GROUP_DN, {"member": [
            (MODIFY_ADD, [demo_user("bob").dn]), (MODIFY_DELETE, [demo_user(uid).dn])]}), \
            connection.result
    finally:
        connection.unbind()


def test_helpdesk_sessions_can_be_revoked_by_logout(flask_app: Flask,
                                                     desk_app: Application) -> None:
    agent = flask_app.test_client()
    assert sign_in(agent, *AGENT).endswith("/helpdesk/")
    ticket = escalate_from_telegram(desk_app, sender="6601")
    token = csrf(agent, f"/helpdesk/ticket/{ticket}")
    thief = copy_of(flask_app, agent)
    assert thief.get("/helpdesk/").status_code == 200  # the copy works while signed in

    agent.post("/helpdesk/logout", data={"csrf": token})

    response = thief.get("/helpdesk/")
    assert response.status_code == 302 and "/helpdesk/login" in response.headers["Location"]
    # Replayed with its CSRF token: sent to the login page, nothing done.
    assert "/helpdesk/login" in claim(thief, ticket, token)
    assert desk_app.tickets.get(ticket).status == "open"
    assert agent.get("/helpdesk/").status_code == 302


def test_helpdesk_sessions_can_be_revoked_by_leaving_the_agents_group(
        flask_app: Flask, desk_app: Application, slapd: SlapdInfo, desk_clock: ManualClock,
        desk_audit: io.StringIO) -> None:
    agent = flask_app.test_client()
    sign_in(agent, *AGENT)
    ticket = escalate_from_telegram(desk_app, sender="6602")
    token = csrf(agent, f"/helpdesk/ticket/{ticket}")

    remove_from_agents(slapd, "hana")
    desk_clock.advance(60)

    assert "/helpdesk/login" in claim(agent, ticket, token)
    assert desk_app.tickets.get(ticket).status == "open"
    response = agent.get("/helpdesk/")
    assert response.status_code == 302 and "/helpdesk/login" in response.headers["Location"]
    assert [r["result"] for r in audit_records(desk_audit, "helpdesk.signed_out")] == [
        "not_agent"]
    # Nor can she sign in again: she is no agent any more (and her password was never
    # sent to the directory for that: membership is checked first).
    page = sign_in(flask_app.test_client(), *AGENT)
    assert "Sign-in refused" in page and re.search(r"/helpdesk/\Z", page) is None

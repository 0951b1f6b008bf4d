"""The agents' console through Flask's test client: sign-in, CSRF, queue, relay, assisted
verification proven on the directory."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from bot.local_stack import SlapdInfo, demo_user
from bot.services import Application
from dialogs.events import ConversationKey, Event
from dialogs.memory import ManualClock
from tests.directory.test_openldap import binds
from tests.helpdesk.conftest import Recorder

AGENT = ("hana", "Helpdesk-Agent-Pass-73")


def csrf(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str) -> str:
    token = csrf(client, "/helpdesk/login")
    response = client.post("/helpdesk/login", data={
        "username": username, "password": password, "csrf": token})
    return response.headers.get("Location", "") or response.get_data(as_text=True)


def escalate_from_telegram(app: Application, sender: str = "555123",
                           problem: str = "skip") -> str:
    key = ConversationKey("telegram", sender)
    app.engine.handle(key, Event.start())
    app.engine.handle(key, Event.chose("helpdesk"))
    app.engine.handle(key, Event.typed(problem))  # "In one line, what is the problem?"
    return next(iter(app.services.escalations.recent(1)))[0]


def act(client: FlaskClient, ticket: str, action: str, **form: str) -> str:
    token = csrf(client, f"/helpdesk/ticket/{ticket}")
    response = client.post(f"/helpdesk/ticket/{ticket}/{action}",
                           data={"csrf": token, **form}, follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_only_members_of_the_agents_group_sign_in(flask_app: Flask) -> None:
    client = flask_app.test_client()
    # alice's password is right, but she is not in the agents' group.
    assert "Sign-in refused" in sign_in(client, "alice", demo_user("alice").password)
    assert client.get("/helpdesk/").status_code == 302
    client = flask_app.test_client()
    assert "Sign-in refused" in sign_in(client, "hana", "wrong-password")
    client = flask_app.test_client()
    assert sign_in(client, *AGENT).endswith("/helpdesk/")
    assert client.get("/helpdesk/").status_code == 200


def test_forms_without_their_csrf_token_are_refused(flask_app: Flask,
                                                    desk_app: Application) -> None:
    client = flask_app.test_client()
    assert client.post("/helpdesk/login", data={"username": AGENT[0],
                                                "password": AGENT[1]}).status_code == 403
    sign_in(client, *AGENT)
    ticket = escalate_from_telegram(desk_app)
    assert client.post(f"/helpdesk/ticket/{ticket}/claim").status_code == 403
    assert client.post(f"/helpdesk/ticket/{ticket}/claim",
                       data={"csrf": "forged"}).status_code == 403
    assert desk_app.tickets.get(ticket).status == "open"


def test_cookie_flags(flask_app: Flask) -> None:
    client = flask_app.test_client()
    client.get("/helpdesk/login")
    cookie = client.get_cookie("sspm_helpdesk")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Strict"


def test_idle_agents_are_signed_out(flask_app: Flask, desk_clock: ManualClock) -> None:
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    assert client.get("/helpdesk/").status_code == 200
    desk_clock.advance(901)
    response = client.get("/helpdesk/")
    assert response.status_code == 302 and "expired=1" in response.headers["Location"]


def test_claim_relay_both_ways_and_assisted_unlock(flask_app: Flask, desk_app: Application,
                                                   slapd: SlapdInfo, sms: Recorder,
                                                   telegram: Recorder) -> None:
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    ticket = escalate_from_telegram(desk_app, sender="555123")
    queue = client.get("/helpdesk/").get_data(as_text=True)
    assert ticket in queue and "Asked for the help desk" in queue and "telegram" in queue

    act(client, ticket, "claim")
    page = act(client, ticket, "relay_start")
    assert "the bot steps aside" in page
    assert telegram.sent[-1][0] == "555123" and "help desk" in telegram.sent[-1][1]

    act(client, ticket, "say", text="Hello, which account is it?")
    assert telegram.sent[-1] == ("555123", "Help desk: Hello, which account is it?")
    # The person answers on Telegram: the bot stays silent, the agent reads it.
    reply = desk_app.engine.handle(ConversationKey("telegram", "555123"),
                                   Event.typed("It is carol, I am locked out"))
    assert reply == []
    assert "It is carol, I am locked out" in client.get(
        f"/helpdesk/ticket/{ticket}").get_data(as_text=True)
    raw = b"".join(desk_app.redis.lrange(f"t:relaylog:{ticket}", 0, -1))  # type: ignore[arg-type]
    assert raw and b"locked out" not in raw  # relayed words are sealed at rest

    act(client, ticket, "username", username="carol")
    page = act(client, ticket, "unlock")
    assert "Verify the person with a code first" in page
    act(client, ticket, "send_code")
    to, text = sms.sent[-1]
    assert to == "+15550001003"  # carol's enrolled mobile, not wherever the caller says
    code = re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]
    assert code not in client.get(f"/helpdesk/ticket/{ticket}").get_data(as_text=True)
    page = act(client, ticket, "check_code", code=code)
    assert "Verified" in page

    carol = demo_user("carol")
    assert not binds(slapd, carol.dn, carol.password)
    page = act(client, ticket, "unlock")
    assert "is unlocked" in page
    assert binds(slapd, carol.dn, carol.password)

    act(client, ticket, "relay_stop")
    assert desk_app.relays.active("telegram:555123") is None
    act(client, ticket, "resolve")
    assert desk_app.tickets.get(ticket).status == "resolved"


def test_assisted_reset_sends_the_password_to_the_person_not_the_agent(
        flask_app: Flask, desk_app: Application, slapd: SlapdInfo, sms: Recorder,
        telegram: Recorder) -> None:
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    ticket = escalate_from_telegram(desk_app, sender="777")
    act(client, ticket, "claim")
    act(client, ticket, "username", username="alice")
    act(client, ticket, "send_code")
    to, text = telegram.sent[-1]  # alice's bound Telegram account gets the code
    assert to == "700001001"
    code = re.search(r"\b(\d{6})\b", text).group(1)  # type: ignore[union-attr]
    act(client, ticket, "check_code", code=code)
    page = act(client, ticket, "reset")
    assert "temporary password went straight" in page
    to, text = sms.sent[-1]
    assert to == "+15550001001"
    password = text.split("is ")[1].split(" ")[0]
    assert password not in page
    assert binds(slapd, demo_user("alice").dn, password)
    assert not binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_a_wrong_code_does_not_verify(flask_app: Flask, desk_app: Application) -> None:
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    ticket = escalate_from_telegram(desk_app, sender="888")
    act(client, ticket, "claim")
    act(client, ticket, "username", username="alice")
    act(client, ticket, "send_code")
    page = act(client, ticket, "check_code", code="000000")
    assert "That code is not right" in page
    assert not desk_app.tickets.get(ticket).verified


def test_new_escalations_are_announced_to_the_agents_group(
        slapd: SlapdInfo, redis_server: object, redis_client: object) -> None:
    import io
    from dataclasses import replace

    from bot.services import build_application
    from tests.engine.conftest import HASHER, make_settings

    group = Recorder()
    settings = make_settings(slapd, redis_server.info.url)  # type: ignore[attr-defined]
    settings = replace(settings, helpdesk=replace(settings.helpdesk,
                                                  telegram_group_id="-100200300"))
    app = build_application(settings, audit_stream=io.StringIO(), hasher=HASHER,
                            telegram_sender=group)
    try:
        ticket = escalate_from_telegram(app, sender="31337")
    finally:
        app.close()
    assert group.sent == [("-100200300",
                           f"New escalation {ticket}: Asked for the help desk (telegram).")]

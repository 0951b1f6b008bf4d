"""The secure password page: rules, strength meter, CSRF, headers, single use; proven by binds."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.local_stack import SlapdInfo, demo_user
from dialogs.ports import LinkGrant
from tests.channels.twilio.support import WebStack
from tests.directory.test_openldap import binds

NEW_PASSWORD = "Velvet-Orbit-Cactus-27"


def issue_link(stack: WebStack, uid: str = "alice", language: str = "en") -> str:
    links = stack.application.services.password_links
    assert links is not None
    user = demo_user(uid)
    grant = LinkGrant(domain="DEFAULT", dn=user.dn, login=uid, channel="sms",
                      sender=user.mobile, language=language)
    return links.issue(grant, 600)


def open_page(client: FlaskClient, token: str) -> tuple[TestResponse, str]:
    page = client.get(f"/password/{token}")
    match = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.get_data(as_text=True))
    return page, match.group(1) if match else ""


def test_the_page_shows_the_rules_and_is_protected(stack: WebStack) -> None:
    token = issue_link(stack)
    page, csrf = open_page(stack.client(), token)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and csrf
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "Your new password must be 12 to 128 characters long." in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert "<script>" not in html and "style=" not in html  # nothing inline for the CSP
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-sspm_csrf=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie, cookie


def test_the_page_speaks_the_person_s_language(stack: WebStack) -> None:
    page, _ = open_page(stack.client(), issue_link(stack, "carol", language="fr"))
    html = page.get_data(as_text=True)
    assert '<html lang="fr">' in html and "Choisissez votre nouveau mot de passe" in html


def test_submitting_sets_the_password_once(stack: WebStack, slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    client = stack.client()
    token = issue_link(stack)
    _, csrf = open_page(client, token)
    weak = client.post(f"/password/{token}", data={"csrf": csrf, "password": "alice1234",
                                                   "confirm": "alice1234"})
    assert weak.status_code == 422 and "Your password was not changed" in weak.get_data(
        as_text=True)
    mismatch = client.post(f"/password/{token}", data={
        "csrf": csrf, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    assert binds(slapd, alice.dn, alice.password)

    done = client.post(f"/password/{token}", data={
        "csrf": csrf, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "Password changed" in done.get_data(as_text=True)
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)

    again = client.post(f"/password/{token}", data={
        "csrf": csrf, "password": "Another-" + NEW_PASSWORD, "confirm": "Another-" + NEW_PASSWORD})
    assert again.status_code == 410 and "This link no longer works" in again.get_data(
        as_text=True)
    reopened = client.get(f"/password/{token}")
    assert reopened.status_code == 410 and "already used or has expired" in reopened.get_data(
        as_text=True)
    assert binds(slapd, alice.dn, NEW_PASSWORD)


def test_a_post_without_the_csrf_token_changes_nothing(stack: WebStack,
                                                       slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    token = issue_link(stack)
    other_token = issue_link(stack)
    client = stack.client()
    _, other_csrf = open_page(client, other_token)
    form = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    no_token = client.post(f"/password/{token}", data=form)
    other_link = client.post(f"/password/{token}", data={**form, "csrf": other_csrf})
    no_cookie = stack.client().post(f"/password/{token}", data={**form, "csrf": other_csrf})
    assert [r.status_code for r in (no_token, other_link, no_cookie)] == [403, 403, 403]
    assert binds(slapd, alice.dn, alice.password)
    assert client.get(f"/password/{token}").status_code == 200  # the link is still usable


def test_the_strength_meter_rates_only_live_links_with_the_csrf_token(stack: WebStack) -> None:
    client = stack.client()
    token = issue_link(stack)
    _, csrf = open_page(client, token)
    url = f"/password/{token}/rate"
    weak = client.post(url, json={"password": "password", "language": "en"},
                       headers={"X-CSRF-Token": csrf})
    strong = client.post(url, json={"password": NEW_PASSWORD, "language": "fr"},
                         headers={"X-CSRF-Token": csrf})
    assert weak.status_code == 200 and weak.json is not None and strong.json is not None
    assert weak.json["ok"] is False and weak.json["problems"]
    assert strong.json["ok"] is True and strong.json["score"] >= 3
    assert strong.json["label"] in ("Robuste", "Très robuste")
    assert client.post(url, json={"password": "x"}).status_code == 403
    assert client.post("/password/unknown-token/rate", json={"password": "x"},
                       headers={"X-CSRF-Token": csrf}).status_code == 403
    assert strong.headers["Cache-Control"] == "no-store"


def test_an_unknown_link_gets_a_clear_page(stack: WebStack) -> None:
    page = stack.client().get("/password/not-a-real-token")
    assert page.status_code == 410
    assert "This link no longer works" in page.get_data(as_text=True)

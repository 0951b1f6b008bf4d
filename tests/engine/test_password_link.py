"""SMS never carries a new password: a single-use link to the password page instead."""

from __future__ import annotations

import re

import pytest

from bot.local_stack import SlapdInfo, demo_user
from bot.services import Application
from dialogs.actions import Notify, Say
from dialogs.password_page import PasswordPage
from tests.directory.test_openldap import binds
from tests.engine.conversation import Conversation
from tests.engine.test_forgot_password import prove_identity


@pytest.fixture
def public_app(app: Application) -> Application:
    # The link needs the public URL: set it on the engine's settings for this test.
    from dataclasses import replace

    services = replace(app.services, settings=replace(
        app.services.settings, public_url="https://sspm.example.test"))
    app.engine.services = services
    app.services = services
    return app


def link_token(c: Conversation) -> str:
    says = [a for a in c.actions if isinstance(a, Say) and a.message.id == "forgot.link"]
    assert says and says[0].secret, c.text()
    url = str(says[0].message.param_dict()["url"])
    match = re.fullmatch(r"https://sspm\.example\.test/password/([A-Za-z0-9_-]{20,})", url)
    assert match, url
    return match.group(1)


def test_sms_forgot_password_ends_on_the_password_page(public_app: Application,
                                                      conversation: Conversation,
                                                      slapd: SlapdInfo) -> None:
    c = Conversation(public_app.engine, conversation.catalogue, conversation.renderer,
                     channel="sms", sender="+15550001001")
    prove_identity(c, "alice")
    assert not c.asks("password.ask_new")  # no password is ever typed into SMS
    token = link_token(c)
    page = PasswordPage(public_app.services)
    view = page.open(token)
    assert view.valid and view.rules

    weak = page.submit(token, "alice1234", "alice1234")
    assert not weak.done and weak.problems and not weak.link_gone
    mismatch = page.submit(token, "Maple-Quartz-Lantern-19", "Maple-Quartz-Lantern-18")
    assert [p.id for p in mismatch.problems] == ["password.mismatch"]

    done = page.submit(token, "Maple-Quartz-Lantern-19", "Maple-Quartz-Lantern-19")
    assert done.done, done
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, "Maple-Quartz-Lantern-19")
    assert not binds(slapd, alice.dn, alice.password)
    assert any(isinstance(n, Notify) and n.channel == "telegram" for n in done.notices)

    again = page.submit(token, "Another-Quartz-Lantern-20", "Another-Quartz-Lantern-20")
    assert again.link_gone and not again.done
    assert not page.open(token).valid
    assert binds(slapd, alice.dn, "Maple-Quartz-Lantern-19")


def test_directory_refusal_keeps_the_link_usable(public_app: Application,
                                                 conversation: Conversation) -> None:
    c = Conversation(public_app.engine, conversation.catalogue, conversation.renderer,
                     channel="sms", sender="+15550001001")
    prove_identity(c, "alice")
    token = link_token(c)
    page = PasswordPage(public_app.services)
    # Strong enough for our checks, but in the directory's history: slapd refuses it.
    first = page.submit(token, "Correct-Horse-42", "Correct-Horse-42")
    assert not first.done and [p.id for p in first.problems] == ["password.rejected.history"]
    assert page.open(token).valid
    assert page.submit(token, "Velvet-Orbit-Cactus-27", "Velvet-Orbit-Cactus-27").done


def test_unknown_or_expired_link(public_app: Application) -> None:
    page = PasswordPage(public_app.services)
    assert not page.open("not-a-token").valid
    assert page.submit("not-a-token", "Velvet-Orbit-Cactus-27", "Velvet-Orbit-Cactus-27").link_gone

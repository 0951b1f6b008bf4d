"""Property 5 (help desk): nothing half-applied, nothing claimed that did not happen.

The attack: five abandoned phone calls for alice (wrong answers, then hang up at the code
prompt) each sent a one-time code to her mobile and filled its per-number SMS cap. An agent
then reset alice's password: the directory changed it, the temporary password SMS was
refused by the cap, alice was locked out, the audit said ``ok`` and the page "reset sent".
Now the reset is refused before anything changes, and every page says what really left.
"""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient

from bot.local_stack import SlapdInfo, demo_user
from bot.services import Application
from dialogs.actions import SendSms
from dialogs.messages import Message
from tests.directory.test_openldap import binds
from tests.engine.conversation import Conversation, RecordingRenderer
from tests.helpdesk.conftest import Recorder, audit_records
from tests.helpdesk.test_console import AGENT, act, escalate_from_telegram, sign_in


def abandoned_calls(app: Application, renderer: RecordingRenderer, login: str,
                    calls: int) -> None:
    """Phone calls that give ``login``, key in the captcha, answer wrongly and hang up at
    the code prompt; the codes leave through the product's outbound, as the voice channel
    sends them."""
    for n in range(calls):
        c = Conversation(app.engine, app.catalogue, renderer, channel="voice",
                         sender=f"+1555999{n:04d}")
        c.through_captcha(login)
        c.answer_questions({}, wrong=True)
        for action in c.actions:
            if isinstance(action, SendSms):
                app.outbound.dispatch(action, "en")


def sms_capped(app: Application, mobile: str) -> bool:
    return not app.outbound.can_deliver(SendSms(mobile, Message.of("proof.code_sms")))


def verified_ticket(client: FlaskClient, app: Application, telegram: Recorder,
                    username: str, sender: str) -> str:
    ticket = escalate_from_telegram(app, sender=sender)
    act(client, ticket, "claim")
    act(client, ticket, "username", username=username)
    act(client, ticket, "send_code")
    code = re.search(r"\b(\d{6})\b", telegram.sent[-1][1]).group(1)  # type: ignore[union-attr]
    assert "Verified" in act(client, ticket, "check_code", code=code)
    return ticket


def test_nothing_half_applied_helpdesk_reset_with_a_capped_mobile(
        flask_app: Flask, desk_app: Application, desk_renderer: RecordingRenderer,
        slapd: SlapdInfo, sms: Recorder, telegram: Recorder, desk_audit: io.StringIO) -> None:
    alice = demo_user("alice")
    abandoned_calls(desk_app, desk_renderer, "1001", calls=5)
    assert sms_capped(desk_app, "+15550001001")
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    # alice's code goes to her bound Telegram account, so she is verified...
    ticket = verified_ticket(client, desk_app, telegram, "alice", sender="4501")
    sent_before = list(sms.sent)

    page = act(client, ticket, "reset")

    # ...but her temporary password could not reach her mobile: nothing changes.
    assert "temporary password went straight" not in page
    assert "NOT changed" in page
    assert binds(slapd, alice.dn, alice.password)
    assert sms.sent == sent_before
    results = [record["result"] for record in audit_records(desk_audit, "helpdesk.reset")]
    assert results == ["not_deliverable"]


def test_nothing_half_applied_helpdesk_provider_refuses_after_the_change(
        flask_app: Flask, desk_app: Application, slapd: SlapdInfo, sms: Recorder,
        telegram: Recorder, desk_audit: io.StringIO) -> None:
    """The SMS provider refuses the temporary password after the directory changed it: the
    audit and the page say so instead of "sent"."""
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    ticket = verified_ticket(client, desk_app, telegram, "alice", sender="4502")

    def refuse(to: str, text: str) -> None:
        raise ConnectionError("provider down")

    sms.send_sms = refuse  # type: ignore[method-assign]
    page = act(client, ticket, "reset")

    assert "temporary password went straight" not in page
    assert "WAS changed" in page and "did not leave" in page
    assert not binds(slapd, demo_user("alice").dn, demo_user("alice").password)
    results = [record["result"] for record in audit_records(desk_audit, "helpdesk.reset")]
    assert results == ["not_delivered"]


def test_nothing_half_applied_helpdesk_no_code_claimed_when_none_left(
        flask_app: Flask, desk_app: Application, desk_renderer: RecordingRenderer,
        sms: Recorder, desk_audit: io.StringIO) -> None:
    """carol's only bound channel is her mobile, and its cap is full."""
    abandoned_calls(desk_app, desk_renderer, "1003", calls=5)
    assert sms_capped(desk_app, "+15550001003")
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    ticket = escalate_from_telegram(desk_app, sender="4503")
    act(client, ticket, "claim")
    act(client, ticket, "username", username="carol")
    sent_before = list(sms.sent)

    page = act(client, ticket, "send_code")

    assert "A code was sent" not in page and "No code was sent" in page
    assert sms.sent == sent_before
    assert not desk_app.tickets.get(ticket).code_digest
    results = [record["result"] for record in audit_records(desk_audit, "helpdesk.send_code")]
    assert results == ["not_deliverable"]


def test_nothing_half_applied_helpdesk_unlock_says_whether_the_person_was_told(
        flask_app: Flask, desk_app: Application, desk_renderer: RecordingRenderer,
        slapd: SlapdInfo, telegram: Recorder, desk_audit: io.StringIO) -> None:
    """carol is unlocked (her password is untouched), but her notice cannot leave: the page
    does not say "the person was told"."""
    client = flask_app.test_client()
    sign_in(client, *AGENT)
    ticket = escalate_from_telegram(desk_app, sender="4504")
    act(client, ticket, "claim")
    act(client, ticket, "username", username="carol")
    act(client, ticket, "send_code")
    code = re.search(r"\b(\d{6})\b", desk_app.outbound.sms.sent[-1][1])  # type: ignore[union-attr]
    assert code is not None and "Verified" in act(client, ticket, "check_code",
                                                  code=code.group(1))
    abandoned_calls(desk_app, desk_renderer, "1003", calls=5)

    page = act(client, ticket, "unlock")

    assert "the person was told" not in page and "did not leave" in page
    assert binds(slapd, demo_user("carol").dn, demo_user("carol").password)
    records = audit_records(desk_audit, "helpdesk.unlock")
    assert [(r["result"], r["notice"]) for r in records] == [("ok", "not_delivered")]

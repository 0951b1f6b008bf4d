"""SMS over signed Twilio webhooks: whole conversations, retries, forgeries, segments."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from itertools import count
from urllib.parse import urlparse

import redis

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from channels.twilio.segments import segments
from tests.channels.twilio.support import (
    PUBLIC_URL,
    WebStack,
    post_signed,
    question_id,
    signature,
    twiml,
)
from tests.directory.test_openldap import binds

ALICE = "+15550001001"
NEW_PASSWORD = "Granite-Orchard-Violin-58"
_sids = count(1)


class Texter:
    """A phone texting the bot: each reply's messages, as the person reads them."""

    def __init__(self, stack: WebStack, sender: str = ALICE) -> None:
        self.stack = stack
        self.client = stack.client()
        self.sender = sender
        self.replies: list[list[ET.Element]] = []

    def send(self, body: str, sid: str | None = None) -> list[ET.Element]:
        params = {"From": self.sender, "To": "+15550009999", "Body": body,
                  "MessageSid": sid or f"SM{next(_sids):032d}", "NumMedia": "0"}
        messages = twiml(post_signed(self.client, "/twilio/sms", params)).findall("Message")
        self.replies.append(messages)
        return messages

    @staticmethod
    def text(messages: list[ET.Element]) -> str:
        return "\n".join(_body(m) for m in messages)


def _body(message: ET.Element) -> str:
    body = message.find("Body")
    return (body.text if body is not None else message.text) or ""


def media_urls(messages: list[ET.Element]) -> list[str]:
    return [m.text or "" for message in messages for m in message.findall("Media")]


def prove_by_sms(stack: WebStack, person: Texter, uid: str) -> str:
    """Menu → forgot → username → MMS captcha → answers → code; the last reply's text."""
    menu = person.text(person.send("Hello"))
    assert "1 Forgot password" in menu and "Reply 1-6." in menu, menu
    asked = person.send("1")
    assert "Your username or employee number?" in person.text(asked)
    captcha = person.send(uid)
    urls = media_urls(captcha)
    assert len(urls) == 1 and urls[0].startswith(PUBLIC_URL + "/twilio/media/"), captcha
    image = person.client.get(urlparse(urls[0]).path)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.get_data().startswith(b"\x89PNG")
    reply = person.text(person.send(stack.renderer.last_text))
    answers = demo_answers(uid)
    for _ in range(3):
        if "Q" not in reply or "/2:" not in reply:
            break
        reply = person.text(person.send(answers[question_id(stack.catalogue, reply)]))
    assert "Type the code you received." in reply, reply
    return person.text(person.send(stack.sms.last_code(ALICE)))


def test_sms_forgot_password_ends_on_the_password_page(stack: WebStack, slapd: SlapdInfo) -> None:
    person = Texter(stack)
    reply = prove_by_sms(stack, person, "alice")
    match = re.search(re.escape(PUBLIC_URL) + r"/password/([A-Za-z0-9_-]{20,})", reply)
    assert match, reply
    client = stack.client()
    page = client.get(f"/password/{match.group(1)}")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.get_data(as_text=True))
    assert csrf is not None
    done = client.post(f"/password/{match.group(1)}", data={
        "csrf": csrf.group(1), "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 200 and "Password changed" in done.get_data(as_text=True)
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)


def test_every_sms_of_the_conversation_fits_one_segment(stack: WebStack) -> None:
    person = Texter(stack)
    prove_by_sms(stack, person, "alice")
    sizes = {_body(m): segments(_body(m)) for reply in person.replies for m in reply}
    assert sizes and all(size == 1 for size in sizes.values()), sizes


def test_retried_message_sid_is_processed_once(stack: WebStack) -> None:
    person = Texter(stack)
    person.send("Hello")
    first = person.send("1", sid="SM-retried")
    again = person.send("1", sid="SM-retried")
    assert "username" in person.text(first) and again == []
    # The conversation moved on exactly once: the next message is the username.
    assert media_urls(person.send("alice")), person.replies[-1]


def test_forged_signature_gets_403_and_changes_nothing(stack: WebStack,
                                                       redis_client: redis.Redis) -> None:
    client = stack.client()
    params = {"From": ALICE, "Body": "forgot", "MessageSid": "SM-forged"}
    before = set(redis_client.keys("*"))
    responses = [
        client.post("/twilio/sms", data=params, headers={"X-Twilio-Signature": "AAAA"}),
        client.post("/twilio/sms", data=params),
        post_signed(client, "/twilio/sms", params, token="not-the-token"),
        # Signed for http:// (what a worker behind a TLS proxy sees as request.url).
        post_signed(client, "/twilio/sms", params,
                    signed_url=PUBLIC_URL.replace("https", "http") + "/twilio/sms"),
        post_signed(client, "/twilio/voice", {"CallSid": "CA-forged", "From": ALICE},
                    token="not-the-token"),
        post_signed(client, "/twilio/voice/step?step=1", {"CallSid": "CA-forged"},
                    signed_url=PUBLIC_URL + "/twilio/voice/step?step=2"),
    ]
    assert [r.status_code for r in responses] == [403] * len(responses)
    changed = set(redis_client.keys("*")) - before
    assert changed <= {b"t:metrics"}, changed  # only the request counters moved
    assert stack.sms.sent == []
    # The same request, genuinely signed, is served (so the 403s were the signature's doing).
    assert post_signed(client, "/twilio/sms", params).status_code == 200


def test_a_tampered_body_breaks_the_signature(stack: WebStack,
                                              redis_client: redis.Redis) -> None:
    client = stack.client()
    params = {"From": ALICE, "Body": "forgot", "MessageSid": "SM-tampered"}
    good = signature(PUBLIC_URL + "/twilio/sms", params)
    response = client.post("/twilio/sms", data={**params, "Body": "unlock"},
                           headers={"X-Twilio-Signature": good})
    assert response.status_code == 403
    assert not [k for k in redis_client.keys("*") if b"session" in k]


def test_captcha_media_url_works_once_then_404(stack: WebStack) -> None:
    person = Texter(stack)
    person.send("forgot")
    urls = media_urls(person.send("alice"))
    path = urlparse(urls[0]).path
    client = stack.client()
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 404
    token = path.rsplit("/", 1)[1]
    assert client.get(path[: -len(token)] + "x" + token[1:]).status_code == 404

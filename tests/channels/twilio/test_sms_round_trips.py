"""An SMS turn is the engine's two Redis round trips: the last prompt (what "1" means) travels
inside them as the channel's memo, not in a read and a write of its own (issue 13)."""

from __future__ import annotations

from itertools import count

from tests.channels.twilio.support import WebStack, post_signed, twiml
from tests.engine.test_redis_round_trips import round_trips

_sids = count(9_000_001)


def text(stack: WebStack, client: object, body: str, sid: str | None = None) -> str:
    params = {"From": "+15550001001", "To": "+15550009999", "Body": body,
              "MessageSid": sid or f"SM{next(_sids):032d}", "NumMedia": "0"}
    reply = twiml(post_signed(client, "/twilio/sms", params))  # type: ignore[arg-type]
    return "\n".join((m.findtext("Body") or m.text or "") for m in reply.findall("Message"))


def test_an_sms_turn_is_two_redis_round_trips(stack: WebStack) -> None:
    client = stack.client()
    text(stack, client, "Hello")  # scripts loaded once, here
    with round_trips() as menu:
        reply = text(stack, client, "menu")
    assert "1 Forgot password" in reply, reply
    assert sum(menu.values()) <= 2, menu
    with round_trips() as chosen:
        reply = text(stack, client, "1")  # read as the menu's first choice, from the memo
    assert "Your username or employee number?" in reply, reply
    assert sum(chosen.values()) <= 3, chosen  # 2 + the flow's shared start counters


def test_a_retried_message_is_one_round_trip_and_no_reply(stack: WebStack) -> None:
    client = stack.client()
    text(stack, client, "Hello", sid="SM" + "7" * 32)
    with round_trips() as retried:
        reply = text(stack, client, "Hello", sid="SM" + "7" * 32)
    assert reply == "" and sum(retried.values()) == 1, retried


def test_a_numbered_reply_is_read_with_the_last_prompt(stack: WebStack) -> None:
    """"2" means the second choice of the last question asked (here: French), which only the
    memo carried from the previous turn can tell."""
    client = stack.client()
    text(stack, client, "Hello")
    asked = text(stack, client, "language")
    assert "2" in asked, asked
    reply = text(stack, client, "2")
    assert "Je parlerai français" in reply, reply

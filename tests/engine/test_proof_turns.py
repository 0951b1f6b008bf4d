"""Issue 13, the proof's turns: Redis round trips per turn, and what a live proof keeps.

A turn is at most two round trips (the session's open and close), plus one where the turn
needs the account's or the sender's shared counters (DESIGN.md 5.3: a start reserves the
sender's and channel's starts; the username and each answer read the account's budget
before any KDF work; the verdict takes a guess from it). The captcha costs no round trip of
its own: its keyed digest rides in the session, and single use follows from the session.
On real slapd and Redis, with the real Argon2id hasher.
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.local_stack import demo_user
from bot.local_stack.enrolments import demo_answers
from bot.redis_keys import ConversationKeys
from bot.redis_sessions import unpack
from bot.services import Application
from dialogs.enrolment_record import EnrolmentRecord
from tests.engine.conversation import Conversation
from tests.engine.test_redis_round_trips import round_trips

# (turn, most round trips): two for the session, one more where shared counters are needed.
BUDGET = (("start", 2), ("menu choice", 3), ("username", 3), ("captcha", 2), ("answer", 3),
          ("answer", 3), ("code", 3), ("new password", 2), ("confirm", 2))


def counted(act: Callable[[], object]) -> int:
    with round_trips() as counts:
        act()
    return sum(counts.values())


def session_data(app: Application, c: Conversation) -> dict[str, object]:
    settings = app.settings
    keys = ConversationKeys(settings.redis.key_prefix,
                            settings.secret_key.reveal().encode("utf-8"))
    raw = app.redis.get(keys(str(c.key), "s"))
    assert raw is not None, c.text()
    data = unpack(raw)["data"]
    assert isinstance(data, dict)
    return data


def warm_up(c: Conversation) -> None:
    """A whole failed proof for a login nobody has, so every script is loaded into this
    Redis before anything is counted (a load is a round trip, once per server)."""
    c.through_captcha("nobody-at-all")
    c.answer_questions({}, wrong=True)
    for _ in range(5):  # wrong codes until the verdict
        if c.ended():
            return
        c.say("000000")
    raise AssertionError(c.text())


def test_every_turn_of_a_reset_keeps_to_its_round_trips(conversation: Conversation) -> None:
    c = conversation.other("round-trips")
    warm_up(conversation.other("warm-up"))
    answers = demo_answers("alice")
    turns: list[Callable[[], object]] = [
        c.start, lambda: c.choose("forgot"), lambda: c.say("alice"), c.solve_captcha,
        lambda: c.say(answers[c.asked_question()]), lambda: c.say(answers[c.asked_question()]),
        lambda: c.say(c.last_code()), lambda: c.say("Granite-Orchard-Violin-58"),
        lambda: c.say("Granite-Orchard-Violin-58")]
    measured = [(name, counted(turn)) for (name, _), turn in zip(BUDGET, turns, strict=True)]
    assert c.said("forgot.done") and c.ended(), c.text()
    over = [(name, trips, most) for (name, trips), (_, most) in zip(measured, BUDGET,
                                                                    strict=True)
            if trips > most]
    assert over == [], measured


def test_the_captcha_is_no_redis_key_and_is_checked_once(
        app: Application, conversation: Conversation) -> None:
    c = conversation.other("captcha-once")
    c.start()
    c.choose("forgot")
    c.say("alice")
    shown = c.captcha()
    assert shown is not None, c.text()
    client: redis.Redis = app.redis
    assert list(client.scan_iter(match="*captcha*")) == []
    held = session_data(app, c)
    assert held["captcha_id"] == shown.challenge.id
    token = str(held["captcha_token"])
    assert c.renderer.last_text.lower() not in token.lower()
    right = c.renderer.last_text
    c.say("WRONG")  # a wrong answer retires the challenge...
    assert c.said("captcha.wrong"), c.text()
    assert session_data(app, c).get("captcha_token") != token
    # ...so its right answer, typed now, answers the new one and fails (single use).
    c.say(right)
    assert c.said("captcha.wrong") or c.said("proof.failed"), c.text()


def test_a_live_proof_carries_a_small_sealed_excerpt(app: Application,
                                                     conversation: Conversation) -> None:
    """Issue 13: at most 250 characters for two Argon2id answers and the bindings, sealed;
    nothing of the captcha left once it is solved."""
    c = conversation.other("excerpt")
    c.through_captcha("alice")
    assert c.asks("proof.ask_question"), c.text()
    data = session_data(app, c)
    sealed = str(data["proof_record"])
    assert len(sealed) <= 250, len(sealed)
    account = app.directories["DEFAULT"].find_account("alice")
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None
    assert not any(stored in sealed or stored.split("$")[-1] in sealed
                   for _, stored in record.questions)
    assert record.mobile not in sealed
    assert not [key for key in data if key.startswith("captcha")], data


def test_a_re_enrolment_during_the_proof_makes_it_fail(app: Application,
                                                       conversation: Conversation) -> None:
    """The excerpt stands for the enrolment as read; a changed enrolment ends the proof."""
    c = conversation.other("re-enrolled")
    c.through_captcha("alice")
    c.answer_questions(demo_answers("alice"))
    assert c.asks("proof.ask_code"), c.text()
    directory = app.directories["DEFAULT"]
    account = directory.find_account("alice")
    assert account is not None
    record = EnrolmentRecord.from_json(account.enrolment)
    assert record is not None
    rehashed = tuple((q, app.services.hasher.hash(demo_answers("alice")[q]))
                     for q, _ in record.questions)
    directory.write_enrolment(account, EnrolmentRecord(
        questions=rehashed, mobile=record.mobile, telegram_id=record.telegram_id,
        language=record.language, epoch=record.epoch).to_json())
    c.say(c.last_code())
    assert c.said("proof.failed") and not c.asks("password.ask_new"), c.text()
    assert demo_user("alice").password  # nothing was reset

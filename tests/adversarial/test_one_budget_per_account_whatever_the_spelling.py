"""Property 1: one budget of failed proofs per account, whatever the spelling, whatever the order.

The attacker knows that slapd matches ``alice``, ``ALICE``, her employee number ``1001``,
fullwidth ``ａｌｉｃｅ`` and mathematical-bold ``𝐚lice`` to the same entry. Before the fix, each
spelling got a fresh budget of 5 failed proofs, and conversations parked at the verdict in
parallel each got their outcome even once the budget was spent.
"""

from __future__ import annotations

import threading

import pytest

from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from dialogs.actions import Ask, Say
from dialogs.events import Event
from tests.channels.twilio.support import WebStack
from tests.channels.twilio.test_sms import Texter
from tests.directory.test_openldap import binds
from tests.engine.conversation import Conversation

SPELLINGS = ("ALICE", "1001", "ａｌｉｃｅ", "𝐚lice", " Alice ")
NEW_PASSWORD = "Granite-Orchard-Violin-58"


def fail_proof(c: Conversation, login: str) -> None:
    """One whole failed proof: wrong answers, then the right code (a stolen phone)."""
    c.start()
    c.choose("forgot")
    c.say(login)
    if not c.said("proof.throttled"):
        c.solve_captcha()
        c.answer_questions({}, wrong=True)
        c.say(c.last_code())
    assert c.said("proof.failed") or c.said("proof.failed_locked") or c.said(
        "proof.throttled"), c.text()


def full_proof(c: Conversation, login: str) -> None:
    """The right answers and the right code: only the budget can stop this one."""
    c.start()
    c.choose("forgot")
    c.say(login)
    if c.said("proof.throttled"):
        return
    c.solve_captcha()
    c.answer_questions(demo_answers("alice"))
    if c.asks("proof.ask_code"):
        c.say(c.last_code())


def test_every_spelling_resolves_to_alice(app: Application) -> None:
    """The premise of the attack: the directory matches all these spellings."""
    directory = app.directories["DEFAULT"]
    alice = directory.find_account("alice")
    assert alice is not None and alice.uid
    resolved = [directory.find_account(s) for s in ("ALICE", "1001", "ａｌｉｃｅ")]
    assert all(a is not None and a.uid == alice.uid for a in resolved)


def test_one_budget_per_account_whatever_the_spelling(
        app: Application, conversation: Conversation, slapd: SlapdInfo) -> None:
    limit = app.services.settings.failure_limit
    for n in range(limit):
        fail_proof(conversation.other(f"attacker-{n}"), "alice")
    for spelling in SPELLINGS:
        c = conversation.other(f"spelling-{spelling}", channel="telegram")
        full_proof(c, spelling)
        assert not c.asks("password.ask_new"), (spelling, c.text())
        assert c.said("proof.throttled") or c.said("proof.failed"), (spelling, c.text())
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_one_budget_per_account_across_spellings_adds_up(
        app: Application, conversation: Conversation) -> None:
    """Failures under several spellings spend one budget: the 5th locks every spelling."""
    limit = app.services.settings.failure_limit
    for n in range(limit):
        fail_proof(conversation.other(f"mix-{n}"), SPELLINGS[n % len(SPELLINGS)])
    last = conversation.other("after")
    last.start()
    last.choose("forgot")
    last.say("alice")
    assert last.said("proof.throttled") and last.ended(), last.text()


def test_one_budget_per_account_parked_conversations_get_no_more_outcomes(
        app: Application, conversation: Conversation, slapd: SlapdInfo) -> None:
    """12 conversations parked just before the verdict, released one after the other: only
    the budget's worth get an outcome; the right answers in the 12th do not get through."""
    limit = app.services.settings.failure_limit
    parked: list[tuple[Conversation, str]] = []
    for n in range(11):
        c = conversation.other(f"parked-{n}")
        c.through_captcha(SPELLINGS[n % len(SPELLINGS)])
        c.answer_questions({}, wrong=True)
        parked.append((c, c.last_code()))
    owner_like = conversation.other("parked-right")
    owner_like.through_captcha("alice")
    owner_like.answer_questions(demo_answers("alice"))
    parked.append((owner_like, owner_like.last_code()))
    outcomes = 0
    for c, code in parked:
        c.say(code)
        if c.said("proof.failed") or c.said("proof.failed_locked") or c.asks(
                "password.ask_new"):
            outcomes += 1
        else:
            assert c.said("proof.throttled"), c.text()
    assert outcomes == limit
    assert not owner_like.asks("password.ask_new"), owner_like.text()
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_one_budget_per_account_parallel_verdicts(app: Application,
                                                  conversation: Conversation) -> None:
    """The same, released at once from 12 threads (12 workers): never more than the budget."""
    limit = app.services.settings.failure_limit
    parked: list[tuple[Conversation, str]] = []
    for n in range(12):
        c = conversation.other(f"thread-{n}", channel="sms" if n % 2 else "console")
        c.through_captcha(SPELLINGS[n % len(SPELLINGS)])
        c.answer_questions({}, wrong=True)
        parked.append((c, c.last_code()))
    barrier = threading.Barrier(len(parked))
    results: dict[str, list[str]] = {}

    def release(c: Conversation, code: str) -> None:
        barrier.wait(timeout=10)
        actions = app.engine.handle(c.key, Event.typed(code, message_ref="last"))
        results[c.sender] = [a.message.id for a in actions if isinstance(a, Say | Ask)]

    threads = [threading.Thread(target=release, args=pair) for pair in parked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == len(parked)
    evaluated = [s for s, ids in results.items()
                 if "proof.failed" in ids or "proof.failed_locked" in ids]
    throttled = [s for s, ids in results.items() if "proof.throttled" in ids]
    assert len(evaluated) <= limit, results
    assert len(evaluated) + len(throttled) == len(parked), results


@pytest.mark.parametrize("spelling", ["ALICE", "１００１"])
def test_one_budget_per_account_across_channels_sms_then_console(
        stack: WebStack, spelling: str) -> None:
    """Failures over SMS (signed webhooks) spend the budget the console then finds spent."""
    app = stack.application
    limit = app.services.settings.failure_limit
    for n in range(limit):
        texter = Texter(stack, sender=f"+1555777{n:04d}")
        texter.send("forgot")
        texter.send("alice")
        texter.send(stack.renderer.last_text)
        for _ in range(app.services.settings.questions_asked):
            texter.send("not the answer")
        for _ in range(app.services.settings.code_attempts):
            texter.send("000000")
    c = Conversation(app.engine, app.catalogue, stack.renderer, channel="console",
                     sender="later")
    c.start()
    c.choose("forgot")
    c.say(spelling)
    assert c.said("proof.throttled") and c.ended(), c.text()

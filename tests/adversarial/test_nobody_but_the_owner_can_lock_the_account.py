"""Property 2 (chat flows): nobody but the owner can lock the directory account.

The change and enrol flows check the current password by a bind, and each wrong bind counts
towards slapd's ``pwdMaxFailure`` (3 here). The attacker types wrong passwords under every
spelling of alice's login, from many conversations at once, and after alice herself has
mistyped at her desk. The account must never get ``pwdAccountLockedTime``.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from bot.local_stack import SlapdInfo, demo_user
from bot.services import Application
from dialogs.events import Event
from tests.adversarial.directory_state import locked, wrong_binds_seen
from tests.directory.test_openldap import binds, fail_logins
from tests.engine.conversation import Conversation

SPELLINGS = ("alice", "ALICE", "1001", "ａｌｉｃｅ", "𝐚lice")


def wrong_passwords(c: Conversation, login: str, flow: str, tries: int = 4) -> None:
    c.through_captcha(login, flow=flow)
    for n in range(tries):
        if c.ended():
            return
        c.say(f"Wrong-Guess-{n}-{login}")


def test_nobody_but_the_owner_can_lock_the_account_change_flow_spellings(
        conversation: Conversation, slapd: SlapdInfo) -> None:
    for n, spelling in enumerate(SPELLINGS * 2):
        wrong_passwords(conversation.other(f"change-{n}"), spelling, "change")
    for n, spelling in enumerate(SPELLINGS):
        wrong_passwords(conversation.other(f"enrol-{n}", channel="telegram"), spelling, "enrol")
    assert wrong_binds_seen(slapd, "alice") <= 2  # bind_failure_limit
    assert not locked(slapd, "alice")
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_nobody_but_the_owner_can_lock_the_account_parallel_binds(
        app: Application, conversation: Conversation, slapd: SlapdInfo) -> None:
    """Ten conversations parked at the password prompt, released together."""
    parked = []
    for n in range(10):
        c = conversation.other(f"parallel-{n}")
        c.through_captcha(SPELLINGS[n % len(SPELLINGS)], flow="change")
        assert c.asks("change.ask_current"), c.text()
        parked.append(c)
    barrier = threading.Barrier(len(parked))

    def guess(c: Conversation) -> None:
        barrier.wait(timeout=10)
        app.engine.handle(c.key, Event.typed("Wrong-Parallel-Guess", message_ref="x"))

    threads = [threading.Thread(target=guess, args=(c,)) for c in parked]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert wrong_binds_seen(slapd, "alice") <= 2
    assert not locked(slapd, "alice")
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_nobody_but_the_owner_can_lock_the_account_budget_stays_below_the_threshold(
        app: Application, conversation: Conversation, slapd: SlapdInfo) -> None:
    """An operator set ``bind_failure_limit`` above slapd's threshold: the threshold wins."""
    app.engine.services = replace(app.services, settings=replace(
        app.services.settings, bind_failure_limit=10))
    for n in range(4):
        wrong_passwords(conversation.other(f"lax-{n}"), "alice", "change", tries=5)
    assert not locked(slapd, "alice")


def test_nobody_but_the_owner_can_lock_the_account_after_her_own_mistakes(
        conversation: Conversation, slapd: SlapdInfo) -> None:
    """Alice mistyped twice at her desk: one more wrong bind would lock her, so none is sent,
    and she is told to contact the help desk instead."""
    fail_logins(slapd, demo_user("alice").dn, 2)
    c = conversation.other("after-desk")
    wrong_passwords(c, "alice", "change", tries=1)
    assert c.said("change.too_many") and c.ended(), c.text()
    assert not locked(slapd, "alice")
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_nobody_but_the_owner_can_lock_the_account_owner_still_changes(
        conversation: Conversation, slapd: SlapdInfo) -> None:
    """After the attacker's tries, the owner's right password still works (it is not counted
    against a budget the attacker spent on other spellings beyond what the directory allows)."""
    wrong_passwords(conversation.other("one-wrong"), "bob", "change", tries=1)
    c = conversation.other("bob-himself")
    c.through_captcha("bob", flow="change")
    c.say(demo_user("bob").password)
    assert c.asks("password.ask_new"), c.text()

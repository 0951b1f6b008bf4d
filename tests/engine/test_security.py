"""DESIGN.md section 5, the requirements that live in the engine, each test named after one."""

from __future__ import annotations

import io
import json

import redis

from bot.local_stack import LocalSlapd, SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from dialogs.actions import Ask, Say, SendSms
from dialogs.events import Event
from dialogs.steps.identify import account_counter
from tests.directory.test_openldap import binds, ldapwhoami
from tests.engine.conftest import CountingHasher
from tests.engine.conversation import Conversation
from tests.engine.test_forgot_password import NEW_PASSWORD, prove_identity


def run_to_verdict(c: Conversation, uid: str, *, wrong: bool = False,
                   answers: dict[str, str] | None = None) -> list[str]:
    """Username, captcha, the answers and the code; returns the message ids seen in order."""
    ids: list[str] = []
    c.start()
    c.choose("forgot")
    for step in (lambda: c.say(uid), c.solve_captcha):
        step()
        ids += [a.message.id for a in c.actions if isinstance(a, Ask)]
    c.answer_questions(answers or demo_answers(uid) if not wrong else {}, wrong=wrong)
    ids += [a.message.id for a in c.actions if isinstance(a, Ask)]
    for _ in range(3):  # a wrong code three times: the same for everyone
        c.say("000000")
        ids += [a.message.id for a in c.actions if isinstance(a, Say | Ask)]
    return ids


# 1. Proof ------------------------------------------------------------------------------------

def test_security_1_proof_right_answers_without_the_code_fail(conversation: Conversation,
                                                              slapd: SlapdInfo) -> None:
    c = conversation
    c.through_captcha("alice")
    c.answer_questions(demo_answers("alice"))
    for attempt in ("111111", "222222", "333333"):
        c.say(attempt)
    assert c.said("proof.failed") and c.ended(), c.text()
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)


def test_security_1_proof_the_code_is_single_use_and_bound_to_the_conversation(
        conversation: Conversation) -> None:
    c = conversation
    c.through_captcha("alice")
    c.answer_questions(demo_answers("alice"))
    code = c.last_code()
    assert len(code) >= 6
    # Another conversation cannot use it.
    other = c.other("intruder")
    other.through_captcha("alice")
    other.answer_questions(demo_answers("alice"))
    other.say(code)
    assert other.said("proof.code_wrong")
    c.say(code)
    assert c.asks("password.ask_new")


def test_security_1_proof_bound_telegram_account_is_the_possession_factor(
        conversation: Conversation) -> None:
    bound = conversation.other("700001001", channel="telegram")
    bound.through_captcha("alice")
    bound.answer_questions(demo_answers("alice"))
    assert bound.asks("password.ask_new") and not bound.sms, bound.text()

    stranger = conversation.other("999", channel="telegram")
    stranger.through_captcha("alice")
    stranger.answer_questions(demo_answers("alice"))
    assert stranger.asks("proof.ask_code") and stranger.sms  # falls back to the mobile code


def test_security_1_proof_must_finish_inside_the_allotment(conversation: Conversation,
                                                           app: Application) -> None:
    c = conversation
    c.through_captcha("alice")
    clock = app.services.clock
    for _ in range(3):  # active, never idle more than 2 min, but 5 min in all
        clock.advance(110)  # type: ignore[attr-defined]
        c.say("Biscuit")
    assert c.said("session.expired"), c.text()
    assert c.asks("menu.prompt")


def test_security_1_proof_idle_limit_per_question(conversation: Conversation,
                                                  app: Application) -> None:
    c = conversation
    c.start()
    c.choose("forgot")
    c.say("alice")
    app.services.clock.advance(121)  # type: ignore[attr-defined]
    c.solve_captcha()
    assert c.said("session.expired")


# 2. No enumeration -----------------------------------------------------------------------------

def test_security_2_no_enumeration_same_prompts_for_every_kind_of_user(
        conversation: Conversation, hasher: CountingHasher) -> None:
    seen = {}
    kdf = {}
    for uid in ("alice", "bob", "nobody-here"):  # enrolled, not enrolled, unknown
        c = conversation.other(f"s-{uid}")
        before = hasher.kdf_calls
        ids = run_to_verdict(c, uid, wrong=True)
        kdf[uid] = hasher.kdf_calls - before
        seen[uid] = ids
        assert c.said("proof.failed")
    assert seen["alice"] == seen["bob"] == seen["nobody-here"]
    # A proof costs one KDF run over all its answers (issue 13), real or decoy.
    assert kdf["alice"] == kdf["bob"] == kdf["nobody-here"] == 1


def test_security_2_no_enumeration_decoy_questions_are_stable(conversation: Conversation) -> None:
    asked = []
    for attempt in range(2):
        c = conversation.other(f"decoy-{attempt}")
        c.through_captcha("nobody-here")
        asked.append(c.asked_question())
    assert asked[0] == asked[1]


def test_security_2_no_enumeration_first_message_says_enrolment_is_needed(
        conversation: Conversation) -> None:
    c = conversation
    c.start()
    lines = c.choose("forgot")
    assert any("only if you set up your security questions" in line for line in lines)
    assert any("+1 555 0100" in line for line in lines)


# 3. Brute force --------------------------------------------------------------------------------

def test_security_3_brute_force_limit_disables_self_service_not_the_account(
        conversation: Conversation, app: Application, slapd: SlapdInfo,
        hasher: CountingHasher) -> None:
    alice = demo_user("alice")
    questions = []
    for attempt in range(5):
        c = conversation.other(f"attacker-{attempt}")
        c.through_captcha("alice")
        questions.append(c.asked_question())
        c.answer_questions({}, wrong=True)
        c.say(c.last_code())
    assert c.said("proof.failed_locked"), c.text()
    assert len(set(questions)) == 1  # failing does not reveal the rest of the set
    escalation = next(iter(app.services.escalations.recent(1)))[1]
    assert escalation.reason == "too_many_failed_proofs"
    assert binds(slapd, alice.dn, alice.password)  # the directory account is not locked

    # Another channel, even with the right answers: throttled before any answer is weighed.
    t = conversation.other("700001001", channel="telegram")
    t.start()
    t.choose("forgot")
    lines = t.say("alice")
    assert t.said("proof.throttled") and t.ended(), lines
    before = hasher.kdf_calls
    assert before == hasher.kdf_calls


def test_security_3_brute_force_throttled_guess_costs_no_kdf_work(
        conversation: Conversation, app: Application, hasher: CountingHasher) -> None:
    c = conversation
    c.through_captcha("alice")
    # Blocked meanwhile by failures on another worker or channel.
    app.services.counters.block(account_counter_for(c, "alice"), 3600)
    before = hasher.kdf_calls
    c.say("Biscuit")
    assert hasher.kdf_calls == before
    assert c.said("proof.throttled") and c.ended()


def account_counter_for(c: Conversation, login: str) -> str:
    from dialogs.sealing import Sealer

    account = c.engine.services.directories["DEFAULT"].find_account(login)
    return account_counter(Sealer(c.engine.services.settings.secret_key), "DEFAULT", login,
                           account)


def test_security_3_brute_force_per_sender_rate_limit(conversation: Conversation,
                                                      app: Application) -> None:
    c = conversation
    limit = app.services.settings.sender_rate_limit
    for _ in range(limit):
        c.start()
        c.choose("forgot")
        assert c.asks("proof.ask_username")
    c.start()
    c.choose("forgot")
    assert c.said("rate.sender_limited") and c.ended()


def test_security_3_brute_force_per_channel_rate_limit(app: Application,
                                                       conversation: Conversation) -> None:
    """Above the channel's ceiling nobody is refused for the channel's sake: each sender gets
    only ``pressure_sender_limit`` starts, so a flooding number is cut off and a newcomer served."""
    from dataclasses import replace

    app.engine.services = replace(app.services, settings=replace(
        app.services.settings, channel_rate_limit=3, pressure_sender_limit=2))
    flooder = conversation.other("+15550000000", channel="sms")
    for number in range(3):
        c = conversation.other(f"+1555000{number:04d}", channel="sms")
        c.start()
        c.choose("forgot")
        assert c.asks("proof.ask_username")
    # The channel is under pressure now: the flooder (the first number) has one start left.
    flooder.start()
    flooder.choose("forgot")
    assert flooder.asks("proof.ask_username")
    flooder.start()
    flooder.choose("forgot")
    assert flooder.said("rate.sender_limited") and flooder.ended()
    late = conversation.other("+15550009998", channel="sms")
    late.start()
    late.choose("forgot")
    assert late.asks("proof.ask_username"), late.text()
    other_channel = conversation.other("someone")
    other_channel.start()
    other_channel.choose("forgot")
    assert other_channel.asks("proof.ask_username")


# 4. Injection ----------------------------------------------------------------------------------

def test_security_4_injection_hostile_usernames_get_the_decoy_flow(
        conversation: Conversation) -> None:
    for index, hostile in enumerate(("*)(uid=*", "admin)(|(uid=*", "a" * 200, "al\x00ice")):
        c = conversation.other(f"hostile-{index}")
        c.through_captcha(hostile)
        assert c.asks("proof.ask_question"), c.text()


# 6. Idempotent retries -------------------------------------------------------------------------

def test_security_6_idempotent_retries_same_delivery_is_processed_once(
        conversation: Conversation) -> None:
    c = conversation
    c.start()
    first = c.send_event(Event("choice", "forgot", event_id="update-41"))
    again = c.send_event(Event("choice", "forgot", event_id="update-41"))
    assert first and again == []
    c.send_event(Event("text", "alice", event_id="update-42"))
    assert any(a.__class__.__name__ == "ShowCaptcha" for a in c.actions)


# 7. Password quality ---------------------------------------------------------------------------

def test_security_7_password_quality_product_rules_and_reasons(conversation: Conversation,
                                                               slapd: SlapdInfo) -> None:
    c = conversation
    prove_identity(c, "alice")
    for weak, reason in (("Alice-Martin-2024!", "password.contains_personal"),
                         ("passwordpassword", "password.weak"),
                         ("Sh0rt!", "password.too_short")):
        c.say(weak)
        assert c.said(reason) and c.asks("password.ask_new"), (weak, c.text())
    assert binds(slapd, demo_user("alice").dn, demo_user("alice").password)
    long_one = "correct horse battery staple " * 3  # long passphrases are welcome
    c.say(long_one)
    c.say(long_one)
    assert c.said("forgot.done")
    assert binds(slapd, demo_user("alice").dn, long_one)


# 8. Temporary passwords ------------------------------------------------------------------------

def test_security_8_temporary_password_by_sms_must_change(conversation: Conversation,
                                                          slapd: SlapdInfo,
                                                          audit_stream: io.StringIO) -> None:
    c = conversation.other("+15550009999", channel="sms")
    prove_identity(c, "alice")
    assert c.said("forgot.temporary_sent") and c.ended(), c.text()
    sms = [a for a in c.actions if isinstance(a, SendSms)]
    assert len(sms) == 1 and sms[0].to == "+15550001001" and sms[0].secret
    password = str(sms[0].message.param_dict()["password"])
    whoami = ldapwhoami(slapd, demo_user("alice").dn, password)
    assert whoami.returncode == 0 and "Password must be changed" in whoami.stderr
    assert password not in audit_stream.getvalue()
    assert password not in "\n".join(line for line in c.transcript if "[sms" not in line)


# 9. Protected accounts -------------------------------------------------------------------------

def test_security_9_protected_accounts_are_never_reset(conversation: Conversation,
                                                       slapd: SlapdInfo) -> None:
    c = conversation
    prove_identity(c, "erin")
    assert c.said("selfservice.not_allowed") and c.ended(), c.text()
    assert binds(slapd, demo_user("erin").dn, demo_user("erin").password)


# 10. Faults ------------------------------------------------------------------------------------

def test_security_10_faults_directory_down_mid_flow(conversation: Conversation,
                                                    slapd_server: LocalSlapd) -> None:
    c = conversation
    c.start()
    c.choose("forgot")
    slapd_server.stop()
    c.say("alice")
    assert c.said("service.unavailable") and c.ended(), c.text()
    slapd_server.start()
    c.start()
    c.choose("forgot")
    c.say("alice")
    assert any(a.__class__.__name__ == "ShowCaptcha" for a in c.actions)


def test_security_10_faults_redis_down(app: Application, conversation: Conversation) -> None:
    from bot.local_stack import LocalRedis
    from bot.redis_sessions import RedisSessionStore
    from dialogs.engine import Engine

    dead = redis.Redis(host="127.0.0.1", port=LocalRedis(conversation_dir()).port,
                       socket_timeout=0.5, socket_connect_timeout=0.5)
    engine = Engine(app.services, RedisSessionStore(dead, "t:", secret_key=b"k" * 32,
                                                    lock_wait=1.0))
    c = Conversation(engine, conversation.catalogue, conversation.renderer)
    c.start()
    assert c.said("service.unavailable") and c.ended()


def conversation_dir():  # type: ignore[no-untyped-def]
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp())


# 11. No secret at rest in clear ---------------------------------------------------------------

def test_security_11_no_secret_at_rest_in_clear(conversation: Conversation,
                                                redis_client: redis.Redis,
                                                audit_stream: io.StringIO,
                                                app: Application) -> None:
    c = conversation
    answers = demo_answers("alice")
    secrets_seen: list[str] = [NEW_PASSWORD, *answers.values()]
    c.through_captcha("alice")
    secrets_seen.append(c.renderer.last_text)
    c.answer_questions(answers)
    code = c.last_code()
    secrets_seen.append(code)
    dump_mid = redis_dump(redis_client)
    c.say(code)
    c.say(NEW_PASSWORD)
    dump_sealed = redis_dump(redis_client)  # the new password is held between two messages
    c.say(NEW_PASSWORD)
    assert c.said("forgot.done")
    stored = dump_mid + dump_sealed + redis_dump(redis_client) + audit_stream.getvalue()
    stored += json.dumps([e.__dict__ for _, e in app.services.escalations.recent(50)])
    for secret in secrets_seen:
        assert secret not in stored, secret
        assert secret.lower() not in stored.lower()


def redis_dump(client: redis.Redis) -> str:
    parts = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            parts.append(repr(client.get(key)))
        elif kind == b"stream":
            parts.append(repr(client.xrange(key)))
        elif kind == b"hash":
            parts.append(repr(client.hgetall(key)))
        parts.append(repr(key))
    return "\n".join(parts)


def test_security_11_no_secret_at_rest_a_password_typed_as_username(
        conversation: Conversation, redis_client: redis.Redis,
        audit_stream: io.StringIO) -> None:
    c = conversation
    c.start()
    c.choose("forgot")
    c.say("Correct-Horse-42")  # alice's password, typed into the username prompt
    stored = redis_dump(redis_client) + audit_stream.getvalue()
    assert "Correct-Horse-42" not in stored
    record = json.loads(audit_stream.getvalue().splitlines()[-1])
    assert record["who"].startswith("DEFAULT\\?")  # a keyed digest stands for the login


# 12. Audit and notice --------------------------------------------------------------------------

def test_security_12_audit_and_notice(conversation: Conversation,
                                      audit_stream: io.StringIO) -> None:
    c = conversation
    prove_identity(c, "alice")
    c.say(NEW_PASSWORD)
    c.say(NEW_PASSWORD)
    records = [json.loads(line) for line in audit_stream.getvalue().splitlines()]
    events = [(r["event"], r["result"]) for r in records]
    for expected in (("proof.start", "ok"), ("captcha", "ok"), ("answers", "ok"),
                     ("code", "ok"), ("proof", "ok"), ("reset", "ok")):
        assert expected in events, events
    assert all(r["who"] == "DEFAULT\\alice" and r["channel"] == "console" and r["ts"]
               for r in records)
    # Told on every other bound channel: the Telegram account and the mobile.
    assert "[notify telegram 700001001]" in c.text()
    assert "[notify sms +15550001001]" in c.text()

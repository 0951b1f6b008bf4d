"""Whole conversations through the Telegram channel on real slapd and Redis.

A reset is proven by binds (the new password works, the old one fails); every message of the
person that carried an answer, a password or a code is deleted from the chat.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from bot.telegram_command import TelegramOptions, serve
from channels.catalogue import Catalogue
from config import Secret, Settings
from config.settings import TelegramSettings
from dialogs.actions import Notify, SendSms
from dialogs.messages import Message
from tests.channels.telegram.harness import (
    ALICE_TELEGRAM_ID,
    TOKEN,
    CountingEngine,
    OutboundRecorder,
    Person,
    fast_flood,
    free_port,
    harness,
    wait_for_call,
    webhook_sender,
)
from tests.channels.telegram.stand_in import BotApiStandIn
from tests.directory.test_openldap import binds
from tests.engine.conftest import make_settings
from tests.engine.conversation import RecordingRenderer

NEW_PASSWORD = "Granite-Orchard-Violin-58"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HOOK_SECRET = "hook-secret_0123456789"


def question_texts(catalogue: Catalogue, uid: str, language: str = "en") -> dict[str, str]:
    return {qid: catalogue.render(Message.of(qid), language) for qid in demo_answers(uid)}


def test_forgot_password_whole_conversation_on_telegram(
        app: Application, renderer: RecordingRenderer, slapd: SlapdInfo) -> None:
    alice = demo_user("alice")
    asyncio.run(_forgot_password(app, renderer))
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)


async def _forgot_password(app: Application, renderer: RecordingRenderer) -> None:
    async with harness(app.engine, app.catalogue) as h:
        alice = h.person(ALICE_TELEGRAM_ID, renderer)
        await alice.start()
        assert "Hello" in alice.texts() and "forgot" in alice.buttons()
        await alice.press("forgot")
        assert alice.sent("answerCallbackQuery")
        assert "username" in alice.texts() and "left" in alice.texts()
        await alice.say("alice")
        first = alice.sent("sendPhoto")
        await alice.say("not-the-captcha")  # a wrong attempt gets a fresh picture
        second = alice.sent("sendPhoto")
        assert len(first) == len(second) == 1 and first[0].files != second[0].files
        for photo in first + second:
            assert photo.flag("protect_content") and "left" in photo.params["caption"]
            assert next(iter(photo.files.values())).startswith(PNG_MAGIC)
        await alice.solve_captcha()
        await alice.answer_questions(demo_answers("alice"), question_texts(app.catalogue, "alice"))
        # The bound Telegram account is the possession factor: no code is sent.
        assert not [a for a, _ in h.outbound.sent if isinstance(a, SendSms)]
        assert "12 to" in alice.texts() and "new password" in alice.texts(), alice.texts()
        await alice.say("password", secret=True)
        assert "too short" in alice.texts()
        methods = [c.method for c in alice.last_calls]
        assert methods.index("deleteMessage") < methods.index("sendMessage")  # deleted first
        await alice.say(NEW_PASSWORD, secret=True)
        await alice.say(NEW_PASSWORD, secret=True)
        assert "Done" in alice.texts(), alice.texts()
        assert set(alice.secret_refs) <= alice.deleted()
        assert len(alice.secret_refs) == 5  # two answers, three passwords
        notices = [(a.channel, a.address) for a, _ in h.outbound.sent if isinstance(a, Notify)]
        assert ("sms", "+15550001001") in notices


def test_unlock_whole_conversation_through_the_webhook(
        app: Application, renderer: RecordingRenderer, slapd: SlapdInfo,
        redis_server: LocalRedis) -> None:
    carol = demo_user("carol")
    assert not binds(slapd, carol.dn, carol.password)  # seeded locked
    settings = make_settings(slapd, redis_server.info.url)
    asyncio.run(_unlock_through_the_webhook(app, renderer, settings))
    assert binds(slapd, carol.dn, carol.password)


async def _unlock_through_the_webhook(app: Application, renderer: RecordingRenderer,
                                      settings: Settings) -> None:
    stand_in = BotApiStandIn(TOKEN)
    settings = replace(settings, public_url="https://sspm.example.test/", telegram=(
        TelegramSettings(Secret(TOKEN), Secret(HOOK_SECRET), await stand_in.start())))
    port, stop, outbound = free_port(), asyncio.Event(), OutboundRecorder()
    options = TelegramOptions(webhook=True, host="127.0.0.1", port=port, outbound=outbound,
                              flood=fast_flood())
    server = asyncio.create_task(serve(settings, app, options, stop))
    try:
        registered = await wait_for_call(stand_in, "setWebhook")
        assert registered.params["url"] == "https://sspm.example.test/telegram/webhook"
        assert registered.params["secret_token"] == HOOK_SECRET
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        carol = Person(stand_in, webhook_sender(url, HOOK_SECRET), 700009999, renderer)
        await _unlock_conversation(carol, app.catalogue, outbound)
    finally:
        stop.set()
        assert await asyncio.wait_for(server, 10) == 0
        await stand_in.stop()


async def _unlock_conversation(carol: Person, catalogue: Catalogue,
                               outbound: OutboundRecorder) -> None:
    await carol.start()
    await carol.press("unlock")
    await carol.say("carol")
    await carol.solve_captcha()
    await carol.answer_questions(demo_answers("carol"), question_texts(catalogue, "carol"))
    sms = [a for a, _ in outbound.sent if isinstance(a, SendSms)]
    assert [a.to for a in sms] == ["+15550001003"] and sms[0].secret  # not the bound account
    await carol.say(outbound.last_code(), secret=True)
    assert "déverrouillé" in carol.texts(), carol.texts()  # carol enrolled in French
    assert set(carol.secret_refs) <= carol.deleted()
    assert len(carol.secret_refs) == 3  # two answers, one code


def test_security_6_idempotent_retries_duplicate_update_makes_no_bot_api_call(
        app: Application) -> None:
    async def scenario() -> None:
        engine = CountingEngine(app.engine)
        async with harness(engine, app.catalogue) as h:
            person = h.person(700001002)
            await person.start()
            update, _ = person.message_update("forgot")
            assert (await person.feed(update)) and person.sent("sendMessage")
            assert await person.feed(update) == []  # no Bot API call at all
            press = person.callback_update("menu")
            await person.feed(press)
            assert await person.feed(press) == []

    asyncio.run(scenario())

"""The channel's own conventions, with a scripted engine: no business rule, only translation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from channels.catalogue import Catalogue
from dialogs.actions import Action, Ask, Choice, End, Say
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message
from tests.channels.telegram.harness import Harness, ScriptedEngine, harness

CATALOGUE = Catalogue.load()
MENU = Ask(Message.of("menu.prompt"), choices=(Choice("forgot", Message.of("menu.forgot")),
                                               Choice("q.first_pet", Message.of("q.first_pet"))))
SECRET_ASK = Ask(Message.of("proof.ask_code"), secret_input=True, seconds_left=258)


def run(engine: ScriptedEngine, scenario: Callable[[Harness], Awaitable[None]],
        **options: Any) -> None:
    async def main() -> None:
        async with harness(engine, CATALOGUE, **options) as h:
            await scenario(h)

    asyncio.run(main())


def test_choices_are_an_inline_keyboard_and_the_countdown_a_line() -> None:
    async def scenario(h: Harness) -> None:
        person = h.person(42)
        await person.start()
        assert person.buttons() == ["forgot", "q.first_pet"]
        assert len(person.sent("sendMessage")) == 1  # one turn, one message
        await person.press("q.first_pet")
        assert engine.events[-1] == Event("choice", "q.first_pet",
                                          event_id=engine.events[-1].event_id,
                                          language_hint="en")
        assert person.sent("answerCallbackQuery")

    engine = ScriptedEngine(Say(Message.of("menu.welcome")), MENU)
    run(engine, scenario)
    assert engine.events[0].kind == "start"


@pytest.mark.parametrize("data", ["x" * 65, "é" * 33, "forgot;DROP", "", "a b"])
def test_callback_data_refused_is_answered_and_never_reaches_the_engine(data: str) -> None:
    async def scenario(h: Harness) -> None:
        person = h.person(42)
        await person.start()
        calls = await person.feed(person.callback_update(data))
        assert [c.method for c in calls] == ["answerCallbackQuery"]
        assert "cannot be used" in calls[0].params["text"]

    engine = ScriptedEngine(MENU)
    run(engine, scenario)
    assert [e.kind for e in engine.events] == ["start"]


def test_updates_become_events_with_the_update_id_and_the_language_hint() -> None:
    async def scenario(h: Harness) -> None:
        person = h.person(42, language_code="fr-FR")
        update, message_id = person.message_update("/start@sspm_test_bot hello")
        await person.feed(update)
        assert engine.events[-1] == Event("start", event_id=str(update["update_id"]),
                                          language_hint="fr-FR")
        update, message_id = person.message_update("/cancel")
        await person.feed(update)
        assert engine.events[-1].kind == "text" and engine.events[-1].text == "cancel"
        assert engine.events[-1].message_ref == str(message_id)
        await person.say("  my answer ")
        assert engine.events[-1].text == "  my answer "

    engine = ScriptedEngine(Say(Message.of("menu.welcome")))
    run(engine, scenario)


def test_security_11_no_secret_in_clear_answer_deleted_even_unasked() -> None:
    async def scenario(h: Harness) -> None:
        person = h.person(42)
        await person.say("hello")
        assert person.deleted() == set()
        text = person.texts()
        assert "04:18" in text and "deleted" in text
        engine.actions = [Say(Message.of("common.goodbye")), End()]
        await person.say("123456", secret=True)
        assert person.deleted() == set(person.secret_refs)
        await person.say("not secret any more")
        await person.say("nor this")
        assert person.deleted() == set(person.secret_refs)

    engine = ScriptedEngine(SECRET_ASK)  # no ForgetMessage: the belt and braces does it
    run(engine, scenario)


def test_security_11_no_secret_in_clear_bot_secret_protected_and_deleted_later() -> None:
    async def scenario(h: Harness) -> None:
        person = h.person(42)
        await person.start()
        secret = person.sent("sendMessage")[0]
        assert secret.flag("protect_content")
        await asyncio.sleep(0.4)
        assert len(h.stand_in.of("deleteMessage")) == 1
        await person.start()
        await h.dispatcher.emit_shutdown()  # pending deletions are done at once
        assert len(h.stand_in.of("deleteMessage")) == 2

    engine = ScriptedEngine(Say(Message.of("common.goodbye"), secret=True))
    run(engine, scenario, secret_delete_after=0.2)


def test_message_without_text_and_group_chats() -> None:
    async def scenario(h: Harness) -> None:
        person = h.person(42)
        update, _ = person.message_update("x")
        del update["message"]["text"]
        update["message"]["sticker"] = {"file_id": "s", "file_unique_id": "s", "type": "regular",
                                        "width": 1, "height": 1, "is_animated": False,
                                        "is_video": False}
        await person.feed(update)
        assert "text message" in person.texts()
        update, _ = person.message_update("forgot")
        update["message"]["chat"] = {"id": -100, "type": "group", "title": "g"}
        assert await person.feed(update) == []

    engine = ScriptedEngine(MENU)
    run(engine, scenario)
    assert engine.events == []


def test_engine_failure_tells_the_person_what_to_do() -> None:
    class Broken(ScriptedEngine):
        def handle(self, key: ConversationKey, event: Event) -> list[Action]:
            raise RuntimeError("boom")

    async def scenario(h: Harness) -> None:
        person = h.person(42)
        await person.start()
        assert "Something went wrong" in person.texts()

    run(Broken(), scenario)


def test_flood_429_is_retried_and_the_message_delivered() -> None:
    async def scenario(h: Harness) -> None:
        h.stand_in.throttle("sendMessage", 1)
        person = h.person(42)
        began = time.monotonic()
        calls = await person.start()
        assert [(c.method, c.status) for c in calls] == [("sendMessage", 429),
                                                         ("sendMessage", 200)]
        assert calls[0].params["text"] == calls[1].params["text"]
        assert time.monotonic() - began >= 0.9

    run(ScriptedEngine(Say(Message.of("menu.welcome"))), scenario)


def test_one_chat_is_paced_and_others_are_not_held_up() -> None:
    async def scenario(h: Harness) -> None:
        first, other = h.person(42), h.person(43)
        await asyncio.gather(first.start(), other.start())
        sends = h.stand_in.of("sendMessage")
        mine = [c.at for c in sends if c.chat_id == "42"]
        theirs = [c.at for c in sends if c.chat_id == "43"]
        assert len(mine) == len(theirs) == 2
        assert mine[1] - mine[0] >= 0.25
        assert abs(theirs[0] - mine[0]) < 0.2

    secret = Say(Message.of("common.goodbye"), secret=True)  # a secret Say is its own message
    run(ScriptedEngine(secret, secret), scenario, per_chat_interval=0.3)

"""The channel's state on a real Redis, as two workers (two clients, two janitors) share it.

Issue 14, many workers: each pending deletion is done once by whichever worker claims it;
a stopping worker leaves its deletions to the others and the last one out does them all;
a restarted or crashed worker loses nothing; secret marks and turn order hold across workers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import redis
from aiogram import Bot, Dispatcher
from aiogram.types import Update

from bot.local_stack import LocalRedis
from channels.catalogue import Catalogue
from channels.telegram import build_bot, build_dispatcher, build_router
from channels.telegram.housekeeping import ALIVE_SECONDS, LEASE_SECONDS, SecretJanitor
from channels.telegram.shared_state import (
    ChatKeys,
    RedisDeletionQueue,
    RedisSecretMarks,
    SharedChatTurns,
    shared_state,
)
from dialogs.actions import Action, Ask, ForgetMessage, Say
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message
from tests.channels.telegram.harness import TOKEN, OutboundRecorder, Person, fast_flood
from tests.channels.telegram.stand_in import BotApiStandIn

PREFIX = "t:"
SECRET = b"test-secret-key-0123456789abcdef"
START = 1_700_000_000.0


class FakeTime:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clients(redis_server: LocalRedis, redis_client: redis.Redis) -> Iterator[list[redis.Redis]]:
    """Two workers' own clients (``redis_client`` empties the database around the test)."""
    made = [redis.Redis.from_url(redis_server.info.url, socket_timeout=2) for _ in range(3)]
    try:
        yield made
    finally:
        for client in made:
            client.close()


@asynccontextmanager
async def bot_api() -> AsyncIterator[tuple[BotApiStandIn, Bot]]:
    stand_in = BotApiStandIn(TOKEN)
    bot = build_bot(TOKEN, await stand_in.start(), flood=fast_flood())
    try:
        yield stand_in, bot
    finally:
        await bot.session.close()
        await stand_in.stop()


def janitor(client: redis.Redis, clock: FakeTime, delay: float = 5.0) -> SecretJanitor:
    # No loop in the background: the tests drive the janitors with sweep() on a fake clock.
    return SecretJanitor(RedisDeletionQueue(client, PREFIX), delay, clock=clock,
                         background=False)


def deleted(stand_in: BotApiStandIn) -> list[int]:
    return sorted(int(c.params["message_id"]) for c in stand_in.of("deleteMessage"))


def run(scenario: Callable[[BotApiStandIn, Bot], Awaitable[None]]) -> None:
    async def main() -> None:
        async with bot_api() as (stand_in, bot):
            await scenario(stand_in, bot)

    asyncio.run(main())


def test_each_pending_deletion_is_done_once_by_whichever_worker_claims_it(
        clients: list[redis.Redis]) -> None:
    clock = FakeTime()

    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        first, second = janitor(clients[0], clock), janitor(clients[1], clock)
        for number in range(40):
            await (first if number % 2 else second).schedule(bot, 42, 100 + number)
        await asyncio.gather(first.sweep(), second.sweep())
        assert deleted(stand_in) == []  # not due yet
        clock.now += 6
        await asyncio.gather(*(j.sweep(limit=7) for j in [first, second] * 4))
        assert deleted(stand_in) == list(range(100, 140))  # every one, none twice
        assert first.pending == 0
        await first.close()
        await second.close()

    run(scenario)


def test_a_stopping_worker_leaves_its_deletions_to_the_others(
        clients: list[redis.Redis]) -> None:
    clock = FakeTime()

    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        leaving, staying = janitor(clients[0], clock), janitor(clients[1], clock)
        staying.start(bot)
        await staying.sweep()  # its heartbeat: a worker is alive
        await leaving.schedule(bot, 42, 7)
        await leaving.close()
        assert deleted(stand_in) == [] and staying.pending == 1  # not deleted early
        clock.now += 6
        await staying.sweep()
        assert deleted(stand_in) == [7]
        await staying.close()

    run(scenario)


def test_the_last_worker_out_deletes_everything_at_once(clients: list[redis.Redis]) -> None:
    clock = FakeTime()

    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        gone, last = janitor(clients[0], clock), janitor(clients[1], clock, delay=300)
        gone.start(bot)
        await gone.sweep()  # a heartbeat, then the worker dies without a word
        clock.now += ALIVE_SECONDS + 1
        for message in (1, 2, 3):
            await last.schedule(bot, 42, message)
        await last.close()  # the dead worker does not count: the secrets go now
        assert deleted(stand_in) == [1, 2, 3] and last.pending == 0

    run(scenario)


def test_pending_deletions_survive_a_worker_restart_and_a_crash_mid_batch(
        clients: list[redis.Redis]) -> None:
    clock = FakeTime()

    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        crashed = janitor(clients[0], clock)
        await crashed.schedule(bot, 42, 1)
        await crashed.schedule(bot, 43, 2)
        clock.now += 6
        # The crashed worker had claimed one batch and died before deleting it.
        queue = RedisDeletionQueue(clients[0], PREFIX)
        claim = queue.claim("crashed", clock.now, clock.now, clock.now + LEASE_SECONDS, 1)
        assert len(claim.entries) == 1
        restarted = janitor(clients[1], clock)  # a new process: nothing in its memory
        restarted.start(bot)
        await restarted.sweep()
        assert len(deleted(stand_in)) == 1  # the leased one waits for its lease to end
        clock.now += LEASE_SECONDS + 1
        await restarted.sweep()
        assert deleted(stand_in) == [1, 2]
        await restarted.close()

    run(scenario)


def test_beyond_the_bound_the_soonest_deletions_are_done_at_once(
        clients: list[redis.Redis]) -> None:
    clock = FakeTime()
    queue = RedisDeletionQueue(clients[0], PREFIX)

    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        bounded = SecretJanitor(queue, 300, clock=clock, background=False, max_pending=3)
        for message in range(1, 6):
            await bounded.schedule(bot, 42, message)
            clock.now += 1
        await bounded.sweep()
        assert deleted(stand_in) == [1, 2]  # the two oldest; nothing was dropped
        assert bounded.pending == 3
        await bounded.close()

    run(scenario)


def test_secret_marks_are_shared_taken_once_and_name_no_chat(
        clients: list[redis.Redis]) -> None:
    one = RedisSecretMarks(clients[0], shared_keys())
    other = RedisSecretMarks(clients[1], shared_keys())
    one.expect(700001001)
    stored: Any = clients[2].keys("*")
    keys = [k.decode() for k in stored]
    assert len(keys) == 1 and "700001001" not in keys[0]
    ttl: Any = clients[2].ttl(keys[0])
    assert 0 < int(ttl) <= 86_400
    assert other.take(700001001) and not one.take(700001001)
    one.expect(700001001)
    other.clear(700001001)
    assert not one.take(700001001)


def shared_keys() -> ChatKeys:
    return ChatKeys(SECRET, PREFIX)


def test_one_chats_turns_never_overlap_across_workers(clients: list[redis.Redis]) -> None:
    workers = [SharedChatTurns(client, shared_keys()) for client in clients[:2]]
    events: list[tuple[str, int, int]] = []

    async def turn(turns: SharedChatTurns, chat: int, number: int) -> None:
        async with turns.hold(chat):
            events.append(("in", chat, number))
            await asyncio.sleep(0.05)
            events.append(("out", chat, number))

    async def main() -> None:
        await asyncio.gather(*(turn(workers[n % 2], 42, n) for n in range(6)))
        mine = [e for e in events if e[1] == 42]
        for enter, leave in zip(mine[::2], mine[1::2], strict=True):
            assert enter[0] == "in" and leave == ("out", 42, enter[2]), mine
        events.clear()
        await asyncio.gather(turn(workers[0], 42, 0), turn(workers[1], 43, 1))
        assert [e[0] for e in events] == ["in", "in", "out", "out"]  # other chats go on

    asyncio.run(main())


class ForgettingEngine:
    """Deletes the person's message (``ForgetMessage``) and answers, as a secret step does."""

    def handle(self, key: ConversationKey, event: Event) -> list[Action]:
        return [ForgetMessage(event.message_ref or ""), Say(Message.of("common.goodbye")),
                Ask(Message.of("proof.ask_code"), secret_input=True)]


def test_two_workers_replies_to_quick_messages_never_interleave(
        clients: list[redis.Redis]) -> None:
    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        catalogue = Catalogue.load()
        dispatchers = [build_dispatcher(build_router(
            ForgettingEngine(), catalogue, outbound=OutboundRecorder(),
            state=shared_state(client, secret=SECRET, prefix=PREFIX)))
            for client in clients[:2]]
        stand_in.delay("sendMessage", 0.2)  # a slow reply: the other turn would slip in
        feeds = [_feeder(d, bot) for d in dispatchers]
        person = Person(stand_in, feeds[0], 42)
        updates = [person.message_update(str(n))[0] for n in range(4)]
        await asyncio.gather(*(feeds[n % 2](u) for n, u in enumerate(updates)))
        # Each turn deletes its message, then replies; a reply is slow, yet the next turn
        # (on the other worker) waits for it rather than slipping in between.
        turns = [c.method for c in stand_in.calls]
        assert turns == ["deleteMessage", "sendMessage"] * 4, turns

    run(scenario)


def test_a_secret_mark_set_by_one_worker_deletes_the_message_the_other_receives(
        clients: list[redis.Redis]) -> None:
    class SecretThenNothing:
        def __init__(self) -> None:
            self.turns = 0

        def handle(self, key: ConversationKey, event: Event) -> list[Action]:
            self.turns += 1  # no ForgetMessage: only the mark can delete the answer
            return [Ask(Message.of("proof.ask_code"), secret_input=self.turns == 1)]

    async def scenario(stand_in: BotApiStandIn, bot: Bot) -> None:
        engine = SecretThenNothing()
        feeds = [_feeder(build_dispatcher(build_router(
            engine, Catalogue.load(), outbound=OutboundRecorder(),
            state=shared_state(client, secret=SECRET, prefix=PREFIX))), bot)
            for client in clients[:2]]
        person = Person(stand_in, feeds[0], 42)
        await person.say("hello")
        person.send = feeds[1]  # the next update reaches the other worker
        await person.say("123456", secret=True)
        assert person.deleted() == set(person.secret_refs) == {2}

    run(scenario)


def _feeder(dispatcher: Dispatcher, bot: Bot) -> Callable[[dict[str, Any]], Awaitable[None]]:
    async def feed(update: dict[str, Any]) -> None:
        await dispatcher.feed_update(bot, Update.model_validate(update, context={"bot": bot}))

    return feed

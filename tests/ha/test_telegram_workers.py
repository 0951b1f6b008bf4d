"""Issue 14, many workers: one Telegram conversation served by two ``sspm telegram --webhook``
processes, on real slapd and Redis, with the local Bot API stand-in.

The updates alternate between the two processes (as a balancer in front of them would send
them); the reset completes and binds, every secret the person typed is deleted, the replies
come in order, and two quick messages sent to the two workers at once get their replies one
turn after the other, never interleaved. A deletion left pending by a worker that died is
done once, by one of the live workers. SIGTERM: the stopping worker finishes the turn in flight
(its reply still arrives), leaves the pending deletions to the worker still alive, and the last
worker out deletes them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.local_stack.ports import free_port, wait_for_port
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from bot.services import Application
from channels.telegram.housekeeping import Pending
from channels.telegram.shared_state import RedisDeletionQueue
from tests.channels.telegram.harness import (
    ALICE_TELEGRAM_ID,
    TOKEN,
    Person,
    webhook_sender,
)
from tests.channels.telegram.stand_in import BotApiStandIn, Call
from tests.channels.telegram.test_conversations import question_texts
from tests.directory.test_openldap import binds
from tests.engine.conftest import (  # noqa: F401 - fixtures, composed like production
    app,
    audit_stream,
    clock,
    dialog_settings,
    hasher,
    renderer,
)

REPO = Path(__file__).resolve().parents[2]
PREFIX = "t:"  # as tests.engine.conftest.settings_data, whose app seeded the enrolments
SECRET_KEY = "test-secret-key-0123456789abcdef"
HOOK_SECRET = "hook-secret_0123456789"
NEW_PASSWORD = "Granite-Orchard-Violin-58"
START_SECONDS = 60  # a worker's start (imports, then setWebhook) on a busy machine
STOP_SECONDS = 40  # SIGTERM to exit: the drain is bounded at 25 s


def worker_config(slapd: SlapdInfo, redis_url: str, folder: Path, number: int) -> Path:
    path = folder / f"worker{number}.toml"
    path.write_text(f"""
public_url = "https://sspm.example.test/"

[redis]
url = "{redis_url}"
key_prefix = "{PREFIX}"

[audit]
path = "{folder / f'audit{number}.log'}"

[helpdesk]
phone = "+1 555 0100"
email = "helpdesk@example.test"
registration_authority = "the IT desk"

# The test cannot read the real captcha pictures; everything else is as in production.
[channels.telegram]
captcha = false

[domains.DEFAULT]
url = "{slapd.url}"
base_dn = "{slapd.base_dn}"
bind_dn = "{slapd.service_dn}"
users_dn = "{PEOPLE_DN}"
protected_groups = ["{PROTECTED_GROUP_DN}"]
connect_timeout = 2.0
operation_timeout = 2.0
""")
    return path


class Worker:
    """``sspm telegram --webhook`` in its own process; its standard error is its log."""

    def __init__(self, config: Path, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/telegram/webhook"
        self.log = log
        with log.open("wb") as stream:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "--config", str(config), "telegram",
                 "--webhook", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=stream,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environment})

    def ready(self) -> bool:
        return wait_for_port(self.port, START_SECONDS, self.process)

    def terminate(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def workers(app: Application, slapd: SlapdInfo, redis_server: LocalRedis,  # noqa: F811
            tmp_path: Path) -> Iterator[Callable[[str], list[Worker]]]:
    """Starts two workers on the Bot API stand-in at the given base URL (``app`` seeded the
    enrolments); kills whatever is left at the end."""
    started: list[Worker] = []

    def start(api_base: str) -> list[Worker]:
        environment = {"SSPM_SECRET_KEY": SECRET_KEY,
                       "SSPM_LDAP_BIND_PASSWORD": slapd.service_password,
                       "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": HOOK_SECRET,
                       "TELEGRAM_API_BASE": api_base}
        for number in (0, 1):
            config = worker_config(slapd, redis_server.info.url, tmp_path, number)
            started.append(Worker(config, environment, tmp_path / f"worker{number}.log"))
        return started

    try:
        yield start
    finally:
        for worker in started:
            worker.kill()


def alternating(senders: list[Callable[[dict[str, Any]], Awaitable[None]]],
                ) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """Each update to the next worker in turn, as a round-robin balancer does."""
    turn = iter(range(1_000))

    async def send(update: dict[str, Any]) -> None:
        await senders[next(turn) % len(senders)](update)

    return send


async def wait_until(check: Callable[[], bool], seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


def deletions_of(stand_in: BotApiStandIn, message_id: int) -> list[Call]:
    return [c for c in stand_in.of("deleteMessage") if c.params["message_id"] == str(message_id)]


def test_a_conversation_alternating_between_two_telegram_workers(
        app: Application, slapd: SlapdInfo, redis_server: LocalRedis,  # noqa: F811
        workers: Callable[[str], list[Worker]]) -> None:
    client = redis.Redis.from_url(redis_server.info.url, socket_timeout=5)
    try:
        asyncio.run(_two_workers(app, client, workers))
    finally:
        client.close()
    alice = demo_user("alice")
    assert binds(slapd, alice.dn, NEW_PASSWORD)
    assert not binds(slapd, alice.dn, alice.password)


async def _two_workers(app: Application, client: redis.Redis,  # noqa: F811
                       workers: Callable[[str], list[Worker]]) -> None:
    stand_in = BotApiStandIn(TOKEN)
    first, second = workers(await stand_in.start())
    try:
        for worker in (first, second):  # in a thread: the stand-in serves this loop meanwhile
            assert await asyncio.to_thread(worker.ready), worker.log.read_text()
        await wait_until(lambda: len(stand_in.of("setWebhook")) == 2, START_SECONDS)
        # A secret message of the bot whose worker died before deleting it.
        queue = RedisDeletionQueue(client, PREFIX)
        queue.add(Pending(ALICE_TELEGRAM_ID, 4999, int(time.time())), time.time(), 100)
        await wait_until(lambda: bool(deletions_of(stand_in, 4999)), 10)

        alice = Person(stand_in, alternating([webhook_sender(w.url, HOOK_SECRET)
                                              for w in (first, second)]), ALICE_TELEGRAM_ID)
        await _reset_with_two_quick_messages(alice, app, stand_in)
        await _sigterm_drains_and_hands_over(alice, first, second, stand_in, queue)
        assert len(deletions_of(stand_in, 4999)) == 1  # done once, by one of the workers
    finally:
        first.kill()
        second.kill()
        await stand_in.stop()


async def _reset_with_two_quick_messages(alice: Person, app: Application,  # noqa: F811
                                         stand_in: BotApiStandIn) -> None:
    shown: list[str] = []
    await alice.start()
    shown.append(alice.texts())
    await alice.press("forgot")
    await alice.say("alice")
    shown.append(alice.texts())
    await alice.answer_questions(demo_answers("alice"), question_texts(app.catalogue, "alice"))
    shown.append(alice.texts())
    assert "new password" in alice.texts(), alice.texts()

    # Two quick messages, one to each worker at once; each reply is slow to send.
    stand_in.delay("sendMessage", 0.5)
    before = len(stand_in.calls)
    quick = [alice.message_update("password") for _ in range(2)]
    alice.secret_refs.extend(message_id for _, message_id in quick)
    await asyncio.gather(*(alice.send(update) for update, _ in quick))
    stand_in.delay("sendMessage", 0.0)
    methods = [c.method for c in stand_in.calls[before:]]
    assert methods == ["deleteMessage", "sendMessage"] * 2, methods  # one turn, then the other
    assert all("too short" in c.params["text"] for c in stand_in.calls[before:]
               if c.method == "sendMessage")

    await alice.say(NEW_PASSWORD, secret=True)
    await alice.say(NEW_PASSWORD, secret=True)
    shown.append(alice.texts())
    assert "Done" in alice.texts(), alice.texts()
    assert set(alice.secret_refs) <= alice.deleted()
    assert len(alice.secret_refs) == 6  # two answers, two quick ones, the password twice
    # Each turn's reply came with its turn (the webhook answers after the turn), in order.
    assert ["Hello" in shown[0], "username" not in shown[0], "new password" in shown[2],
            "Done" in shown[3]] == [True] * 4, shown


async def _sigterm_drains_and_hands_over(alice: Person, stopping: Worker, staying: Worker,
                                         stand_in: BotApiStandIn,
                                         queue: RedisDeletionQueue) -> None:
    # A deletion due later: the stopping worker must not do it early, the other will.
    later = int(time.time())
    queue.add(Pending(ALICE_TELEGRAM_ID, 4998, later), later + 3600.0, 100)
    await alice.start()
    assert "forgot" in alice.buttons()
    stand_in.delay("sendMessage", 3.0)  # the reply is slow to leave
    press = alice.callback_update("forgot")
    in_flight = asyncio.ensure_future(webhook_sender(stopping.url, HOOK_SECRET)(press))
    before = len(stand_in.of("sendMessage"))
    await wait_until(lambda: len(stand_in.of("sendMessage")) > before, 20)
    stopping.terminate()  # while the reply is on its way
    await in_flight  # the webhook still answers 200, after the whole turn
    stand_in.delay("sendMessage", 0.0)
    assert stand_in.calls[-1].method == "answerCallbackQuery", stand_in.calls[-3:]
    assert await asyncio.to_thread(stopping.process.wait, STOP_SECONDS) == 0
    # The reply was delivered, not cut off by the bot's session closing under it.
    assert "Bot API call refused" not in stopping.log.read_text()
    assert not deletions_of(stand_in, 4998) and queue.size() == 1  # left to the other

    staying.terminate()  # the last worker out deletes what is left, now
    assert await asyncio.to_thread(staying.process.wait, STOP_SECONDS) == 0
    assert len(deletions_of(stand_in, 4998)) == 1 and queue.size() == 0
    for worker in (stopping, staying):
        log = worker.log.read_text()
        assert "Traceback" not in log and NEW_PASSWORD not in log, log[-2000:]

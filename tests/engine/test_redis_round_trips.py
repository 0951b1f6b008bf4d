"""Redis round trips per turn, counted through the whole application (issue 13: at most two
for an ordinary turn: one script opens it, one closes it).

The count wraps redis-py's client at class level and keeps only calls made by the test's own
thread (background flushers and SMS senders have theirs); a pipeline or a script is one.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
import redis.client

from bot.local_stack.enrolments import demo_answers
from dialogs.events import Event
from tests.engine.conversation import Conversation


@contextmanager
def round_trips() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    me = threading.get_ident()
    targets = [(redis.Redis, "execute_command"), (redis.client.Pipeline, "execute")]
    originals = [(cls, name, getattr(cls, name)) for cls, name in targets]

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: object, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == me:
                counts[str(args[0]) if args else "PIPELINE"] += 1
            return original(self, *args, **kwargs)
        return counted

    for cls, name, original in originals:
        setattr(cls, name, wrap(original))
    try:
        yield counts
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


def trips(act: Callable[[], object]) -> Counter[str]:
    with round_trips() as counts:
        act()
    return counts


def test_an_ordinary_turn_is_two_redis_round_trips(conversation: Conversation) -> None:
    c = conversation
    c.start()  # the scripts are loaded into this Redis once, here
    started = trips(lambda: c.send_event(Event.start()))
    assert c.asks("menu.choose") or c.said("menu.welcome"), c.text()
    assert sum(started.values()) <= 2, started
    c.choose("forgot")
    c.say("alice")
    c.solve_captcha()
    c.answer_questions(demo_answers("alice"))
    c.say(c.last_code())
    assert c.asks("password.ask_new"), c.text()
    typed = trips(lambda: c.send_event(Event.typed("Granite-Orchard-Violin-58",
                                                   message_ref="m90", event_id="SM90")))
    assert c.asks("password.ask_confirm"), c.text()
    assert sum(typed.values()) <= 2, typed


def test_a_retried_delivery_is_one_round_trip_and_changes_nothing(
        conversation: Conversation) -> None:
    c = conversation
    c.start()
    c.send_event(Event.typed("forgot", event_id="SM1"))
    assert c.asks("proof.ask_username"), c.text()
    retried = trips(lambda: c.send_event(Event.typed("forgot", event_id="SM1")))
    assert c.actions == []
    assert sum(retried.values()) == 1, retried
    c.say("alice")
    assert c.captcha() is not None, c.text()

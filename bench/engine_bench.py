"""Benchmark the dialog engine: turn times of whole forgot-password conversations.

Run from the repository root:

    .venv/bin/python bench/engine_bench.py [--conversations 30] [--throttle-samples 10]

It starts its own throwaway slapd and redis-server (``bot.local_stack``) in a temporary folder,
builds the application as production does (``bot.services.build_application``) and plays N whole
forgot-password conversations for alice on the console channel: start -> menu choice ->
username -> captcha -> 2 answers -> one-time code -> new password -> confirm. Each conversation
has its own sender (no rate limit triggers) and sets a fresh password (slapd's history refuses
the last 5).

Measured, all in the same run:

(a) turn times with Argon2 EXCLUDED: the application built with ``FastAnswerHasher``;
(b) turn times with Argon2 INCLUDED: the real ``Argon2AnswerHasher`` (OWASP: 19 MiB, t=2, p=1);
(c) the baseline: the raw floors a turn stands on, measured on the same servers: one Redis
    GET+SET pair (R), one LDAP search by uid on a bound ldap3 connection (L), one Argon2id
    verify (A). Each turn kind is compared with the floor it needs at the least (see NEEDS);
(d) the operations a turn really makes (Redis commands, LDAP operations), counted on one extra
    conversation, to explain the ratios;
(e) "a throttled guess costs no KDF work": the last answer turn (the one that verifies) while
    the account's failure counter is blocked against an unblocked one, paired, Argon2 included.

One warm-up conversation per application is played first and not counted.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import redis
import redis.client
from ldap3 import Connection, Server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.local_stack import LocalRedis, LocalSlapd, RedisInfo, SlapdInfo
from bot.local_stack.enrolments import demo_answers, seed_enrolments
from bot.local_stack.seed import PEOPLE_DN
from bot.services import Application, build_application
from dialogs.answers import AnswerHasher, Argon2AnswerHasher, FastAnswerHasher
from dialogs.engine import Engine
from dialogs.events import ConversationKey, Event
from dialogs.steps.identify import account_counter
from tests.engine.conftest import make_settings
from tests.engine.conversation import Conversation, RecordingRenderer

USER = "alice"
DOMAIN = "DEFAULT"
TURN_KINDS = ("start", "menu choice", "username", "captcha", "answer", "last answer", "code",
              "new password", "confirm")
# What each turn kind needs at the least, as (R, L, A) counts: every turn loads and saves its
# session (R); the username turn looks the account up, the code turn writes the enrolment's
# new epoch, the confirm turn applies the reset (L each). The enrolment rides sealed in the
# session, and one Argon2id verify (with Argon2) checks all the answers at the last one.
NEEDS: dict[str, tuple[int, int, int]] = {
    "start": (1, 0, 0), "menu choice": (1, 0, 0), "username": (1, 1, 0), "captcha": (1, 0, 0),
    "answer": (1, 0, 0), "last answer": (1, 0, 1), "code": (1, 1, 0), "new password": (1, 0, 0),
    "confirm": (1, 1, 0)}


# -- figures -----------------------------------------------------------------------------------

def ms(seconds: float) -> float:
    return seconds * 1000.0


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p95: float
    mean: float

    @staticmethod
    def of(seconds: list[float]) -> Summary:
        values = [ms(s) for s in seconds]
        return Summary(len(values), statistics.median(values), p95(values),
                       statistics.fmean(values))


def timed(call: Callable[[], object], samples: int) -> list[float]:
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


# -- the servers and the application -------------------------------------------------------------

@contextmanager
def local_stack() -> Iterator[tuple[SlapdInfo, RedisInfo]]:
    """A throwaway slapd and redis-server in a temporary folder, stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="sspm-bench-") as folder:
        slapd = LocalSlapd(Path(folder) / "slapd")
        redis_server = LocalRedis(Path(folder) / "redis")
        try:
            slapd_info = slapd.start()
            redis_info = redis_server.start()
            yield slapd_info, redis_info
        finally:
            redis_server.stop()
            slapd.stop()


@contextmanager
def application(slapd: SlapdInfo, redis_info: RedisInfo, hasher: AnswerHasher,
                renderer: RecordingRenderer) -> Iterator[Application]:
    """The application as production composes it, enrolments seeded with ``hasher``."""
    app = build_application(make_settings(slapd, redis_info.url), audit_stream=io.StringIO(),
                            hasher=hasher, renderer=renderer)
    try:
        seed_enrolments(app.directories[DOMAIN], hasher)
        yield app
    finally:
        app.close()


# -- driving conversations -----------------------------------------------------------------------

@dataclass
class TimedEngine:
    """Stands in for the engine in ``Conversation``: the same ``handle``, timed."""

    engine: Engine
    last: float = 0.0

    def handle(self, key: ConversationKey, event: Event) -> list[Any]:
        start = time.perf_counter()
        actions = self.engine.handle(key, event)
        self.last = time.perf_counter() - start
        return actions


@dataclass
class Driver:
    """Plays conversations on one application and files each turn's time under its kind."""

    app: Application
    renderer: RecordingRenderer
    tag: str
    times: dict[str, list[float]] = field(default_factory=dict)
    timer: TimedEngine = field(init=False)

    def __post_init__(self) -> None:
        self.timer = TimedEngine(self.app.engine)

    def conversation(self, sender: str) -> Conversation:
        return Conversation(cast(Engine, self.timer), self.app.catalogue, self.renderer,
                            sender=f"bench-{self.tag}-{sender}")

    def step(self, kind: str, act: Callable[[], object]) -> None:
        act()
        self.times.setdefault(kind, []).append(self.timer.last)

    def to_first_question(self, c: Conversation) -> None:
        self.step("start", c.start)
        self.step("menu choice", lambda: c.choose("forgot"))
        self.step("username", lambda: c.say(USER))
        self.step("captcha", c.solve_captcha)
        if not c.asks("proof.ask_question"):
            raise RuntimeError("no question asked:\n" + c.text())

    def answer_all(self, c: Conversation) -> None:
        answers = demo_answers(USER)
        asked = self.app.settings.dialog.questions_asked
        for index in range(asked):
            if not c.asks("proof.ask_question"):
                return
            question = c.asked_question()
            kind = "last answer" if index == asked - 1 else "answer"
            self.step(kind, partial(c.say, answers[question]))

    def whole(self, sender: str, password: str) -> None:
        c = self.conversation(sender)
        self.to_first_question(c)
        self.answer_all(c)
        if not c.asks("proof.ask_code"):
            raise RuntimeError("no code asked:\n" + c.text())
        self.step("code", lambda: c.say(c.last_code()))
        self.step("new password", lambda: c.say(password))
        self.step("confirm", lambda: c.say(password))
        if not (c.said("forgot.done") and c.ended()):
            raise RuntimeError("the reset did not complete:\n" + c.text())


@dataclass
class TimedHasher:
    """The given hasher, with the time of every ``verify`` kept (Argon2 inside real turns)."""

    inner: AnswerHasher
    verify_times: list[float] = field(default_factory=list)

    def hash(self, normalised: str) -> str:
        return self.inner.hash(normalised)

    def verify(self, stored_hash: str, normalised: str) -> bool:
        start = time.perf_counter()
        result = self.inner.verify(stored_hash, normalised)
        self.verify_times.append(time.perf_counter() - start)
        return result

    def burn(self, normalised: str) -> None:
        self.inner.burn(normalised)


class Passwords:
    """A fresh strong password per conversation: slapd's history refuses the last 5."""

    def __init__(self) -> None:
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"Bench-Lantern-{self.count:04d}-Quartz"


def run_conversations(driver: Driver, n: int, passwords: Passwords) -> dict[str, list[float]]:
    driver.whole("warmup", passwords.next())
    driver.times.clear()
    for i in range(n):
        driver.whole(f"{i:04d}", passwords.next())
    return driver.times


# -- (c) floors ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Floors:
    redis_pair: Summary
    ldap_search: Summary
    argon2_verify: Summary

    def needed(self, kind: str, argon2: bool) -> float:
        r, ldap, a = NEEDS[kind]
        return (r * self.redis_pair.mean + ldap * self.ldap_search.mean
                + (a * self.argon2_verify.mean if argon2 else 0.0))


def redis_floor(app: Application, samples: int) -> Summary:
    client, key = app.redis, "bench:floor"
    client.set(key, "x" * 600)

    def pair() -> None:
        value = cast(bytes | None, client.get(key))
        client.set(key, value or b"", ex=300)

    times = timed(pair, samples)
    client.delete(key)
    return Summary.of(times)


def ldap_floor(slapd: SlapdInfo, samples: int) -> Summary:
    connection = Connection(Server(slapd.url, get_info="NO_INFO"), user=slapd.service_dn,
                            password=slapd.service_password, auto_bind=True)
    try:
        def search() -> None:
            connection.search(PEOPLE_DN, f"(uid={USER})", attributes=["*"])

        search()
        return Summary.of(timed(search, samples))
    finally:
        connection.unbind()


def argon2_floor(samples: int) -> Summary:
    hasher = Argon2AnswerHasher()
    stored = hasher.hash("biscuit")
    return Summary.of(timed(lambda: hasher.verify(stored, "biscuit"), samples))


def measure_floors(app: Application, slapd: SlapdInfo, argon2_samples: int) -> Floors:
    return Floors(redis_floor(app, 500), ldap_floor(slapd, 300), argon2_floor(argon2_samples))


# -- (d) what a turn really does -----------------------------------------------------------------

REDIS_CALLS = ((redis.Redis, "execute_command"), (redis.client.Pipeline, "execute"))
LDAP_CALLS = tuple((Connection, name) for name in ("search", "modify", "bind", "extended"))


@contextmanager
def counting(counts: Counter[str], targets: tuple[tuple[type, str], ...]) -> Iterator[None]:
    """Count calls of class methods (wrapped at class level, restored on the way out)."""
    originals = [(cls, name, getattr(cls, name)) for cls, name in targets]

    def wrap(label: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def counted(self: object, *args: Any, **kwargs: Any) -> Any:
            counts[label] += 1
            return original(self, *args, **kwargs)
        return counted

    try:
        for cls, name, original in originals:
            setattr(cls, name, wrap(f"{cls.__name__}.{name}", original))
        yield
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)


def total(counts: Counter[str], targets: tuple[tuple[type, str], ...]) -> int:
    return sum(counts[f"{cls.__name__}.{name}"] for cls, name in targets)


@dataclass
class OpCounts:
    """Per turn kind: Redis round trips (a pipeline is one) and LDAP operations."""

    redis: dict[str, list[int]] = field(default_factory=dict)
    ldap: dict[str, list[int]] = field(default_factory=dict)


def count_operations(app: Application, renderer: RecordingRenderer,
                     passwords: Passwords) -> OpCounts:
    """One more conversation, with Redis round trips and LDAP operations counted per turn."""
    result, counts = OpCounts(), Counter[str]()
    driver = Driver(app, renderer, "ops")
    original_step = driver.step

    def counted_step(kind: str, act: Callable[[], object]) -> None:
        redis_before, ldap_before = total(counts, REDIS_CALLS), total(counts, LDAP_CALLS)
        original_step(kind, act)
        result.redis.setdefault(kind, []).append(total(counts, REDIS_CALLS) - redis_before)
        result.ldap.setdefault(kind, []).append(total(counts, LDAP_CALLS) - ldap_before)

    driver.step = counted_step  # type: ignore[method-assign]
    with counting(counts, REDIS_CALLS + LDAP_CALLS):
        driver.whole("ops", passwords.next())
    return result


# -- (e) a throttled guess -----------------------------------------------------------------------

def counter_key(app: Application) -> str:
    account = app.directories[DOMAIN].find_account(USER)
    return account_counter(app.engine.sealer, DOMAIN, USER, account)


def throttled_pair(driver: Driver, key: str, i: int) -> tuple[float, float]:
    """(blocked last answer turn, unblocked last answer turn) for two fresh conversations: the
    last answer is the one whose turn runs the KDF."""
    blocked, free = driver.conversation(f"blocked-{i:03d}"), driver.conversation(f"free-{i:03d}")
    for c in (blocked, free):
        driver.to_first_question(c)
        for _ in range(driver.app.settings.dialog.questions_asked - 1):
            c.say(demo_answers(USER)[c.asked_question()])
    counters = driver.app.services.counters
    counters.block(key, 3600)
    try:
        blocked.say(demo_answers(USER)[blocked.asked_question()])
        blocked_time = driver.timer.last
        if not blocked.said("proof.throttled"):
            raise RuntimeError("the blocked answer was not throttled:\n" + blocked.text())
    finally:
        counters.clear(key)
    free.say(demo_answers(USER)[free.asked_question()])
    free_time = driver.timer.last
    free.say("cancel")
    return blocked_time, free_time


def measure_throttled(driver: Driver, samples: int) -> tuple[Summary, Summary]:
    key = counter_key(driver.app)
    pairs = [throttled_pair(driver, key, i) for i in range(samples)]
    return Summary.of([p[0] for p in pairs]), Summary.of([p[1] for p in pairs])


# -- report --------------------------------------------------------------------------------------

def row(label: str, s: Summary, *extra: str) -> str:
    cells = [label, str(s.n), f"{s.p50:.2f}", f"{s.p95:.2f}", f"{s.mean:.2f}", *extra]
    return "| " + " | ".join(cells) + " |"


def print_turns(title: str, times: dict[str, list[float]], floors: Floors, argon2: bool,
                ops: OpCounts) -> None:
    print(f"\n### {title}\n")
    print("| turn | n | p50 ms | p95 ms | mean ms | Redis round trips | LDAP ops | floor "
          "| floor ms | mean / floor |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |")
    for kind in TURN_KINDS:
        s = Summary.of(times[kind])
        floor = floors.needed(kind, argon2)
        _, ldap, a = NEEDS[kind]
        needs = "R" + (f"+{ldap}L" if ldap else "") + ("+A" if a and argon2 else "")
        print(row(kind, s, _per_turn(ops.redis[kind]), _per_turn(ops.ldap[kind]), needs,
                  f"{floor:.2f}", f"{s.mean / floor:.1f}x"))
    every = [t for kind in TURN_KINDS for t in times[kind]]
    print(row("**every turn**", Summary.of(every), "", "", "", "", ""))
    per_conversation = sum(sum(times[k]) for k in TURN_KINDS) / len(times["start"])
    floor_total = sum(floors.needed(k, argon2) * len(times[k]) for k in TURN_KINDS) \
        / len(times["start"])
    print(f"\nWhole conversation: {ms(per_conversation):.1f} ms of engine time; the floors it "
          f"needs sum to {floor_total:.1f} ms; ratio {ms(per_conversation) / floor_total:.1f}x.")


def _per_turn(values: list[int]) -> str:
    return "/".join(str(v) for v in values)


def print_floors(floors: Floors, in_turn: Summary) -> None:
    print("\n### Baseline: the floors, measured in this run\n")
    print("| floor | n | p50 ms | p95 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(row("R: Redis GET + SET (redis-py, 600 B value)", floors.redis_pair))
    print(row("L: LDAP search by uid, bound ldap3 connection", floors.ldap_search))
    print(row("A: Argon2id verify (19 MiB, t=2, p=1)", floors.argon2_verify))
    print(row("(not a floor) the same verify inside the answer turns of (b)", in_turn))


def print_throttled(blocked: Summary, free: Summary, argon2: Summary) -> None:
    print("\n### A throttled guess costs no KDF work (Argon2 included, paired samples)\n")
    print("| last answer turn | n | p50 ms | p95 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(row("account blocked (refused)", blocked))
    print(row("not blocked (verified)", free))
    saved = free.mean - blocked.mean
    print(f"\nBlocked / unblocked mean: {blocked.mean / free.mean:.2f}; the blocked turn is "
          f"{saved:.1f} ms cheaper, against {argon2.mean:.1f} ms for one Argon2id verify.")


def print_machine() -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"Machine: {os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()}")
    print_load("at start")


def print_load(when: str) -> None:
    one, five, _ = os.getloadavg()
    print(f"Load average {when}: {one:.2f} (1 min), {five:.2f} (5 min)")


# -- main ----------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> None:
    print_machine()
    passwords = Passwords()
    with local_stack() as (slapd, redis_info):
        renderer = RecordingRenderer()
        with application(slapd, redis_info, FastAnswerHasher(), renderer) as app:
            fast_times = run_conversations(Driver(app, renderer, "fast"), args.conversations,
                                           passwords)
            ops = count_operations(app, renderer, passwords)
            floors = measure_floors(app, slapd, args.argon2_samples)
        hasher = TimedHasher(Argon2AnswerHasher())
        with application(slapd, redis_info, hasher, renderer) as app:
            hasher.verify_times.clear()  # seeding made none, but be sure
            argon2_times = run_conversations(Driver(app, renderer, "argon2"),
                                             args.conversations, passwords)
            in_turn = Summary.of(hasher.verify_times[-args.conversations:])
            blocked, free = measure_throttled(Driver(app, renderer, "throttle"),
                                              args.throttle_samples)
    print(f"\n{args.conversations} conversations per table (+1 warm-up, not counted). "
          "Floor: R = one Redis GET+SET pair, L = one LDAP search, A = one Argon2id verify "
          "(the least each turn needs). Redis round trips (a pipeline or a Lua script is one) "
          "and LDAP operations: counted per turn on one more conversation.")
    print_floors(floors, in_turn)
    print_turns("(a) Argon2 excluded (FastAnswerHasher)", fast_times, floors, False, ops)
    print_turns("(b) Argon2 included (Argon2AnswerHasher, OWASP parameters)", argon2_times,
                floors, True, ops)
    print_throttled(blocked, free, floors.argon2_verify)
    print()
    print_load("at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=30)
    parser.add_argument("--throttle-samples", type=int, default=10)
    parser.add_argument("--argon2-samples", type=int, default=30)
    args = parser.parse_args()
    if args.conversations < 2 or args.throttle_samples < 2 or args.argon2_samples < 2:
        parser.error("every sample count must be at least 2")
    run(args)


if __name__ == "__main__":
    main()

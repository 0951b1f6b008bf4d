"""CPU per turn of the web process on the SMS webhook path and the password page (issue 13).

Run from the repository root:

    .venv/bin/python bench/turn_cpu_profile.py [--resets 20] [--profile]

It starts its own throwaway slapd and redis-server (``bot.local_stack``), builds the web app as
the tests do (production composition; the answer KDF left out with ``FastAnswerHasher``;
outbound SMS recorded in memory; the captcha answer read from the renderer) and
plays whole forgot-password resets through the Flask test client: signed SMS webhooks (menu,
forgot, username, captcha, two answers, code), then the password page (GET, the strength meter
at two pauses, the submit). Each request's CPU time of *this* process (``time.process_time``;
slapd and Redis not included) is recorded by turn kind; the Twilio signature is computed before
the clock starts (it is the client's work). ``--profile`` adds a cProfile of the whole run.

It also prints the CPU of a bare Flask "hello" request through the same test client in the same
run, as the baseline ratio. One warm-up reset is played first and not counted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import Flask

from bot.local_stack import LocalRedis, LocalSlapd, demo_user
from bot.local_stack.enrolments import demo_answers, seed_enrolments
from bot.services import build_application
from bot.web import create_app
from config import Settings
from dialogs.answers import FastAnswerHasher
from tests.channels.twilio.support import (
    PUBLIC_URL,
    FakeSms,
    WebStack,
    question_id,
    signature,
    twiml,
    web_settings,
)
from tests.engine.conftest import recording_audio
from tests.engine.conversation import RecordingRenderer

TIMES: dict[str, list[float]] = defaultdict(list)


def timed(kind: str, call: object) -> object:
    started = time.process_time()
    result = call()  # type: ignore[operator]
    TIMES[kind].append(time.process_time() - started)
    return result


def sms(stack: WebStack, sender: str, body: str, sid: int, kind: str) -> str:
    params = {"From": sender, "To": "+15550009999", "Body": body, "MessageSid": f"SM{sid:032d}",
              "NumMedia": "0"}
    headers = {"X-Twilio-Signature": signature(PUBLIC_URL + "/twilio/sms", params)}
    client = stack.client()
    response = timed(kind, lambda: client.post("/twilio/sms", data=params, headers=headers))
    root = twiml(response)  # type: ignore[arg-type]
    return "\n".join("".join(m.itertext()) for m in root.findall("Message"))


def one_reset(stack: WebStack, number: int, counted: bool) -> None:
    alice = demo_user("alice")
    sid = number * 100
    prefix = "" if counted else "warm "
    assert "Forgot" in sms(stack, alice.mobile, "Hello", sid + 1, prefix + "sms menu")
    sms(stack, alice.mobile, "1", sid + 2, prefix + "sms choose flow")
    sms(stack, alice.mobile, "alice", sid + 3, prefix + "sms username -> captcha")
    reply = sms(stack, alice.mobile, stack.renderer.last_text, sid + 4, prefix + "sms captcha")
    answers = demo_answers("alice")
    for step in range(2):
        reply = sms(stack, alice.mobile, answers[question_id(stack.catalogue, reply)],
                    sid + 5 + step, prefix + "sms answer")
    reply = sms(stack, alice.mobile, stack.sms.last_code(alice.mobile), sid + 7,
                prefix + "sms code -> link")
    token = re.search(r"/password/([A-Za-z0-9_-]{20,})", reply)
    assert token, reply
    page = f"/password/{token.group(1)}"
    client = stack.client()
    shown = timed(prefix + "page GET", lambda: client.get(page))
    csrf = re.search(r'name="csrf" value="([0-9a-f]{64})"',
                     shown.get_data(as_text=True))  # type: ignore[attr-defined]
    assert csrf
    password = f"Lantern-Meadow-Quartz-{number:04d}"
    for typed in (password[:12], password):
        timed(prefix + "page rate", lambda typed=typed: client.post(
            page + "/rate", json={"password": typed}, headers={"X-CSRF-Token": csrf.group(1)}))
    done = timed(prefix + "page submit", lambda: client.post(page, data={
        "csrf": csrf.group(1), "password": password, "confirm": password}))
    assert done.status_code == 200, done.get_data(as_text=True)  # type: ignore[attr-defined]


@contextmanager
def fast_stack(settings: Settings) -> Iterator[WebStack]:
    """The production composition with the answer KDF left out (``FastAnswerHasher``)."""
    hasher, sms, renderer = FastAnswerHasher(), FakeSms(), RecordingRenderer()
    application = build_application(settings, audit_stream=io.StringIO(), hasher=hasher,
                                    sms_sender=sms, renderer=renderer,
                                    audio_renderer=recording_audio())
    try:
        seed_enrolments(application.directories["DEFAULT"], hasher)
        yield WebStack(settings, application, create_app(settings, application), sms, renderer)
    finally:
        application.close()


def hello_cpu(rounds: int) -> float:
    app = Flask("hello")
    app.add_url_rule("/", "hello", lambda: "hello")
    client = app.test_client()
    for _ in range(50):
        client.get("/")
    started = time.process_time()
    for _ in range(rounds):
        client.get("/")
    return (time.process_time() - started) / rounds


def report(resets: int, hello: float) -> None:
    print(f"\nCPU of the web process per request (ms), {resets} resets, "
          f"python {platform.python_version()}, nproc {os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'turn':28} {'n':>4} {'mean':>8} {'median':>8} {'x hello':>8}")
    total_sms = total_page = 0.0
    for kind, times in TIMES.items():
        if kind.startswith("warm "):
            continue
        mean = statistics.fmean(times) * 1000
        print(f"{kind:28} {len(times):4d} {mean:8.2f} {statistics.median(times) * 1000:8.2f} "
              f"{mean / (hello * 1000):8.1f}")
        if kind.startswith("sms"):
            total_sms += sum(times)
        else:
            total_page += sum(times)
    print(f"{'per reset: SMS turns':28} {'':4} {total_sms / resets * 1000:8.2f}")
    print(f"{'per reset: password page':28} {'':4} {total_page / resets * 1000:8.2f}")
    print(f"{'per reset: all':28} {'':4} {(total_sms + total_page) / resets * 1000:8.2f}")
    print(f"{'bare Flask hello (baseline)':28} {'':4} {hello * 1000:8.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resets", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sspm-turn-cpu-") as folder:
        slapd, redis_server = LocalSlapd(Path(folder) / "slapd"), LocalRedis(Path(folder))
        slapd.start()
        redis_server.start()
        try:
            settings = web_settings(slapd.info, redis_server.info.url)
            with fast_stack(settings) as stack:
                one_reset(stack, 0, counted=False)
                profiler = cProfile.Profile() if args.profile else None
                for number in range(1, args.resets + 1):
                    stack.application.redis.delete(*stack.application.redis.keys("*") or ["-"])
                    if profiler:
                        profiler.enable()
                    one_reset(stack, number, counted=True)
                    if profiler:
                        profiler.disable()
            report(args.resets, hello_cpu(2000))
            if profiler:
                pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        finally:
            redis_server.stop()
            slapd.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark issue 10, property 9: does an SMS step's response time tell who exists or enrolled?

Run from the repository root:

    .venv/bin/python bench/enumeration_timing_bench.py [--conversations 60] [--seed 1]
        [--permutations 10000] [--fast-hasher] [--sms-latency-ms 200]

It starts its own throwaway slapd and redis-server (``bot.local_stack``) in a temporary folder,
builds the application as production does (``bot.services.build_application``, the real
``Argon2AnswerHasher`` unless ``--fast-hasher``) and the web app (``bot.web.create_app``), and
plays what the red team played: signed Twilio webhooks to ``POST /twilio/sms`` through the
Flask test client, one phone number per conversation, each conversation

    "forgot" -> username -> captcha text -> answer 1 -> answer 2 (both wrong) -> a wrong code

for N conversations of each class of login, all interleaved in one seeded random order:

- ``unknown``: ``nobody-<n>``, a login nobody has (the baseline);
- ``not enrolled``: ``bob``, an existing account with no enrolment;
- ``enrolled``: ``alice``, an enrolled account (its code goes to her mobile);
- ``unknown (control)``: more ``nobody-<n>`` logins, compared with the baseline like the
  others. Nothing separates the two unknown classes, so this row shows what noise alone
  gives on this machine at this load (an A/A test).

Each webhook is timed with ``time.perf_counter_ns`` around the test client's POST (signature
check, engine turn, TwiML rendering; the signature itself is computed outside the timer).
Outbound SMS go to a null sender behind ``BackgroundSms``, as production wraps Twilio's REST
client (the provider's latency, ``--sms-latency-ms``, is slept on a worker thread).

Per step it prints the median and p95 of each class, the difference of medians and their
ratio against the unknown class measured in the same run, a percentile-bootstrap 95 %
interval of that difference, and two two-sided p-values against the unknown class: a
permutation test on the difference of medians (primary; scipy is not a dependency) and
Mann-Whitney U (normal approximation with tie correction). Two warm-up conversations per
class are played first and not counted.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.local_stack import LocalRedis, LocalSlapd, RedisInfo, SlapdInfo
from bot.local_stack.enrolments import seed_enrolments
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from bot.outbound import BackgroundSms
from bot.services import Application, build_application
from bot.web import create_app
from captcha.image import ImageCaptchaRenderer
from channels.catalogue import Catalogue
from config import Settings, settings_from_dict
from dialogs.answers import AnswerHasher, Argon2AnswerHasher, FastAnswerHasher

PUBLIC_URL = "https://sspm.example.test"
AUTH_TOKEN = "bench-twilio-auth-token-0123456789"
TWILIO_NUMBER = "+15550009999"
SMS_PATH = "/twilio/sms"
DOMAIN = "DEFAULT"

BASELINE = "unknown"
CONTROL = "unknown (control)"
# Class -> the login typed (None: a fresh unknown login per conversation).
CLASSES: dict[str, str | None] = {
    BASELINE: None, "not enrolled": "bob", "enrolled": "alice", CONTROL: None}
STEPS = ("forgot", "username", "captcha", "answer 1", "answer 2", "code")
WARMUP_PER_CLASS = 2


# -- the person's side ---------------------------------------------------------------------------

class RecordingRenderer(ImageCaptchaRenderer):
    """The real renderer; remembers the last text so the bench can 'read' the picture."""

    last_text: str = ""

    def random_text(self, length: int | None = None) -> str:
        self.last_text = super().random_text(length)
        return self.last_text


@dataclass
class NullSms:
    """Stands in for Twilio's REST client: sleeps like a provider, sends nothing."""

    latency_seconds: float
    sent: int = 0

    def send_sms(self, to: str, text: str) -> None:
        del to, text  # never kept: a code is a secret
        self.sent += 1
        time.sleep(self.latency_seconds)


@dataclass
class Phone:
    """One phone texting the bot through signed webhooks; each reply's time and text."""

    client: FlaskClient
    number: str
    validator: RequestValidator
    sids: Iterator[int]

    def send(self, body: str) -> tuple[int, ET.Element]:
        params = {"From": self.number, "To": TWILIO_NUMBER, "Body": body,
                  "MessageSid": f"SM{next(self.sids):032d}", "NumMedia": "0"}
        headers = {"X-Twilio-Signature": str(
            self.validator.compute_signature(PUBLIC_URL + SMS_PATH, params))}
        start = time.perf_counter_ns()
        response = self.client.post(SMS_PATH, data=params, headers=headers)
        elapsed = time.perf_counter_ns() - start
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}")
        return elapsed, ET.fromstring(response.get_data())  # noqa: S314 - our own TwiML


def reply_text(reply: ET.Element) -> str:
    parts = []
    for message in reply.findall("Message"):
        body = message.find("Body")
        parts.append((body.text if body is not None else message.text) or "")
    return "\n".join(parts)


@dataclass(frozen=True)
class Expected:
    """What each step's reply must say (literal parts of the SMS templates), so a bench that
    silently went off the path (throttled, refused, menu again) fails instead of timing it."""

    username: str
    captcha: str
    question_1: str
    question_2: str
    code_sent: str
    code_wrong: str

    @staticmethod
    def of(catalogue: Catalogue) -> Expected:
        def literal(message_id: str) -> str:
            return (catalogue.text(message_id, "en") or message_id).split("{")[0]

        question = catalogue.text("sms.proof.ask_question", "en") or ""
        head = question.split("{question_msg}")[0]
        return Expected(
            literal("sms.proof.ask_username"), literal("sms.captcha.ask_image"),
            head.format(number=1, total=2), head.format(number=2, total=2),
            literal("sms.proof.code_sent"), literal("sms.proof.code_wrong"))


def check(step: str, reply: ET.Element, wanted: str, media: bool = False) -> None:
    text = reply_text(reply)
    if wanted not in text or (media and reply.find("Message/Media") is None):
        raise RuntimeError(f"step {step!r}: expected {wanted!r}, got {text!r}")


@dataclass
class Bench:
    flask: Flask
    renderer: RecordingRenderer
    expected: Expected
    validator: RequestValidator = field(default_factory=lambda: RequestValidator(AUTH_TOKEN))
    sids: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**9)))
    phones: Iterator[int] = field(default_factory=lambda: iter(range(1, 10**6)))

    def conversation(self, login: str) -> list[int]:
        """One whole conversation from a fresh number; the nanoseconds of each step."""
        phone = Phone(self.flask.test_client(), f"+1555300{next(self.phones):04d}",
                      self.validator, self.sids)
        e, times = self.expected, []
        for step, body, wanted, media in (
                ("forgot", "forgot", e.username, False),
                ("username", login, e.captcha, True),
                ("captcha", None, e.question_1, False),
                ("answer 1", "wrong answer one", e.question_2, False),
                ("answer 2", "wrong answer two", e.code_sent, False),
                ("code", "000000", e.code_wrong, False)):
            # The captcha is read from the renderer, as a person reads the picture.
            elapsed, reply = phone.send(self.renderer.last_text if body is None else body)
            check(step, reply, wanted, media)
            times.append(elapsed)
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


def bench_settings(slapd: SlapdInfo, redis_url: str, conversations: int) -> Settings:
    """The tests' Twilio settings, with every budget above what the run spends: the bench
    times the steps, not the flood controls (a throttled step would do less work)."""
    plenty = 100 * (conversations + WARMUP_PER_CLASS) * len(CLASSES)
    return settings_from_dict({
        "secret_key": "bench-secret-key-0123456789abcdef",
        "public_url": PUBLIC_URL,
        "redis": {"url": redis_url, "key_prefix": "bench:"},
        "helpdesk": {"phone": "+1 555 0100", "email": "helpdesk@example.test",
                     "registration_authority": "the IT desk"},
        "twilio": {"auth_token": AUTH_TOKEN, "account_sid": "AC" + "0" * 32,
                   "from_number": TWILIO_NUMBER},
        "dialog": {"failure_limit": plenty, "sender_rate_limit": plenty,
                   "channel_rate_limit": plenty},
        # Every enrolled conversation really sends its code (an attacker probing a few
        # logins never reaches the per-destination cap either).
        "outbound": {"sms_per_destination": plenty},
        "domains": {DOMAIN: {
            "url": slapd.url, "base_dn": slapd.base_dn, "bind_dn": slapd.service_dn,
            "bind_password": slapd.service_password, "users_dn": PEOPLE_DN,
            "protected_groups": [PROTECTED_GROUP_DN], "connect_timeout": 2.0,
            "operation_timeout": 2.0}},
    })


@contextmanager
def web_app(settings: Settings, hasher: AnswerHasher, renderer: RecordingRenderer,
            sms: NullSms) -> Iterator[tuple[Application, Flask]]:
    app = build_application(settings, audit_stream=io.StringIO(), hasher=hasher,
                            renderer=renderer, sms_sender=BackgroundSms(sms))
    try:
        seed_enrolments(app.directories[DOMAIN], hasher)
        yield app, create_app(settings, app)
    finally:
        app.close()


# -- statistics ----------------------------------------------------------------------------------

def ms(nanoseconds: float) -> float:
    return nanoseconds / 1e6


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def permutation_p(a: list[float], b: list[float], rounds: int, rng: random.Random) -> float:
    """Two-sided permutation test on the difference of medians; (hits + 1) / (rounds + 1)."""
    observed = abs(statistics.median(b) - statistics.median(a))
    pooled, n = a + b, len(a)
    hits = 0
    for _ in range(rounds):
        rng.shuffle(pooled)
        if abs(statistics.median(pooled[n:]) - statistics.median(pooled[:n])) >= observed:
            hits += 1
    return (hits + 1) / (rounds + 1)


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided Mann-Whitney U, normal approximation with tie and continuity corrections."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks, ties, i = [0.0] * len(pooled), 0.0, 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    n1, n2 = len(a), len(b)
    u1 = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0) \
        - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    z = max(abs(u1 - n1 * n2 / 2) - 0.5, 0.0) / sigma
    return math.erfc(z / math.sqrt(2))


def bootstrap_interval(a: list[float], b: list[float], rounds: int,
                       rng: random.Random) -> tuple[float, float]:
    """Percentile bootstrap 95 % interval of median(b) - median(a)."""
    diffs = sorted(statistics.median(rng.choices(b, k=len(b)))
                   - statistics.median(rng.choices(a, k=len(a))) for _ in range(rounds))
    return diffs[int(0.025 * rounds)], diffs[int(0.975 * rounds) - 1]


# -- report --------------------------------------------------------------------------------------

def p_text(p: float) -> str:
    return f"{p:.4f}" if p >= 0.0001 else f"{p:.1e}"


def print_table(times: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> None:
    rng = random.Random(args.seed + 1)
    print(f"\n| step | class | n | median ms | p95 ms | Δ median vs {BASELINE} ms "
          "| 95 % CI of Δ ms | ratio | perm. p | MWU p |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for step in STEPS:
        base = times[BASELINE][step]
        for name in CLASSES:
            values = times[name][step]
            median = statistics.median(values)
            cells = [step, name, str(len(values)), f"{median:.2f}", f"{p95(values):.2f}"]
            if name == BASELINE:
                cells += ["(baseline)", "", "1.000", "", ""]
            else:
                low, high = bootstrap_interval(base, values, args.bootstrap, rng)
                cells += [f"{median - statistics.median(base):+.2f}",
                          f"[{low:+.2f}, {high:+.2f}]",
                          f"{median / statistics.median(base):.3f}",
                          p_text(permutation_p(base, values, args.permutations, rng)),
                          p_text(mann_whitney_p(base, values))]
            print("| " + " | ".join(cells) + " |")


def print_machine() -> None:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"Machine: {os.cpu_count()} CPUs, {cpu}, Python {platform.python_version()}")
    print_load("at start")


def print_load(when: str) -> None:
    one, five, fifteen = os.getloadavg()
    print(f"Load average {when}: {one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)")


# -- main ----------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> None:
    print_machine()
    hasher: AnswerHasher = FastAnswerHasher() if args.fast_hasher else Argon2AnswerHasher()
    renderer, sms = RecordingRenderer(), NullSms(args.sms_latency_ms / 1000)
    order = [name for name in CLASSES for _ in range(args.conversations)]
    random.Random(args.seed).shuffle(order)
    times: dict[str, dict[str, list[float]]] = {
        name: {step: [] for step in STEPS} for name in CLASSES}
    unknown = iter(range(1, 10**6))
    started = time.perf_counter()
    with local_stack() as (slapd, redis_info), \
            web_app(bench_settings(slapd, redis_info.url, args.conversations), hasher,
                    renderer, sms) as (app, flask):
        bench = Bench(flask, renderer, Expected.of(app.catalogue))
        for name in [name for _ in range(WARMUP_PER_CLASS) for name in CLASSES]:
            bench.conversation(CLASSES[name] or f"nobody-{next(unknown)}")
        for name in order:
            login = CLASSES[name] or f"nobody-{next(unknown)}"
            for step, elapsed in zip(STEPS, bench.conversation(login), strict=True):
                times[name][step].append(ms(elapsed))
    played = time.perf_counter() - started
    print(f"\n{args.conversations} conversations per class over SMS (signed webhooks, Flask "
          f"test client), {len(order)} in one random order (seed {args.seed}), "
          f"+{WARMUP_PER_CLASS} warm-up per class not counted; hasher: "
          f"{type(hasher).__name__}; {sms.sent} codes sent to the enrolled mobile "
          f"(provider latency {args.sms_latency_ms:g} ms, on a worker thread); "
          f"{played:.0f} s in all.")
    print(f"Permutation test: {args.permutations} rounds on |Δ median| (smallest possible p "
          f"{1 / (args.permutations + 1):.1e}); bootstrap: {args.bootstrap} rounds. "
          f"{len(STEPS) * (len(CLASSES) - 1)} comparisons: at p < 0.01, about "
          f"{0.01 * len(STEPS) * (len(CLASSES) - 1):.2f} would come out by chance alone.")
    print_table(times, args)
    print()
    print_load("at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=60,
                        help="conversations per class (default 60, as the red team)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--permutations", type=int, default=10_000)
    parser.add_argument("--bootstrap", type=int, default=2_000)
    parser.add_argument("--fast-hasher", action="store_true",
                        help="FastAnswerHasher instead of Argon2id (excludes the KDF's noise)")
    parser.add_argument("--sms-latency-ms", type=float, default=200.0,
                        help="the SMS provider's latency, slept on BackgroundSms's thread")
    args = parser.parse_args()
    if not 5 <= args.conversations <= 10_000:
        parser.error("--conversations must be between 5 and 10000")
    if not 100 <= args.permutations <= 1_000_000 or not 100 <= args.bootstrap <= 100_000:
        parser.error("--permutations and --bootstrap: at least 100 (and bounded)")
    if args.sms_latency_ms < 0:
        parser.error("--sms-latency-ms must not be negative")
    run(args)


if __name__ == "__main__":
    main()

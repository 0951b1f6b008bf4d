"""Issue 13: the cost of a whole SMS reset through the real HTTP path, against a bare Flask hello.

Run from the repository root:

    .venv/bin/python bench/http_path_bench.py [--workers 2] [--resets 30] [--breakdown 10]
        [--throughput-seconds 8] [--concurrency 2]
        [--load 200 --duration 60 --think-time 5]

What runs (all on 127.0.0.1, in one temporary folder, stopped by PID on the way out):

- slapd seeded like the demo (``bot.local_stack``) plus enrolled bench users, with the monitor
  backend on, so LDAP operations are slapd's own ``cn=Operations,cn=Monitor`` counters;
- redis-server; commands from ``INFO commandstats``, round trips from ``total_reads_processed``
  (socket read events, one per request burst a client sends; calibrated and printed);
- a Twilio REST stand-in (the app's outbound SMS land there; the bench reads the code);
- gunicorn with the production app as an operator runs it (a config file and the environment,
  ``-w N``), through ``bench/http_path/wsgi.py`` = ``bot.web.wsgi()`` with the captcha text
  recorded and Twilio's REST base pointed at the stand-in;
- a second gunicorn (same binary and worker settings) serving ``bench/http_path/hello.py``.

Phases: warm-up resets; **cost**: R serial resets, CPU (``/proc/<pid>/stat`` user + system of
the gunicorn master + workers, slapd, redis-server), LDAP operations and Redis commands per
completed reset, per-request latency (client, and server from gunicorn's access log ``%(D)s``);
**breakdown**: B more serial resets with a snapshot between requests, per request kind;
**load** (``--load N``): N live conversations (distinct senders) with think time for S seconds,
latency, errors, Redis bytes per live conversation; **throughput**: both gunicorns cut to one
worker (TTOU), closed-loop clients at the same concurrency, app requests/s over hello requests/s.

The product has no answer-hasher setting: the KDF (Argon2id, OWASP parameters) stays on, and the
KDF-excluded figure is an estimate: CPU per reset minus the verifies a proof makes (one when the
bench accounts' enrolments hold a joint hash for the questions asked, as enrolments through the
bot do; else one per question), each measured in this process in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twilio.request_validator import RequestValidator

from bench.http_path.person import (
    KINDS,
    PERSON_ACTS,
    Person,
    ResetFailed,
    Site,
    http,
)
from bench.http_path.servers import (
    BENCH_ANSWERS_OF,
    BenchSlapd,
    Gunicorn,
    LdapMonitor,
    RedisSnapshot,
    RedisStats,
    TwilioStandIn,
    bench_users,
    process_seconds,
    start_redis,
    wait_idle,
)
from bot.local_stack.enrolments import demo_answers
from bot.local_stack.seed import BASE_DN, PEOPLE_DN, PROTECTED_GROUP_DN, SERVICE_DN
from bot.local_stack.seed import SERVICE_PASSWORD as LDAP_PASSWORD
from channels.catalogue import Catalogue
from config import load_settings
from dialogs.answers import Argon2AnswerHasher
from dialogs.enrolment_record import EnrolmentRecord

PUBLIC_URL = "https://sspm.example.test"
AUTH_TOKEN = "bench-twilio-auth-token-0123456789"
SECRET_KEY = "bench-secret-key-0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
TWILIO_NUMBER = "+15550009999"
KEY_PREFIX = "sspm:"
SERIAL_USERS = 4
PLENTY = 10**6  # flood controls above anything a run spends: the bench times resets, not refusals


class Stop(Exception):
    """A phase's time is up (raised in a person's pause)."""


# -- configuration, as an operator writes it ---------------------------------------------------

def write_config(folder: Path, slapd_url: str) -> Path:
    path = folder / "sspm.toml"
    path.write_text(f"""\
public_url = "{PUBLIC_URL}"

[redis]
key_prefix = "{KEY_PREFIX}"

[dialog]
failure_limit = {PLENTY}
sender_rate_limit = {PLENTY}
channel_rate_limit = {PLENTY}

[outbound]
sms_per_destination = {PLENTY}

[helpdesk]
phone = "+1 555 0100"
email = "helpdesk@example.test"
registration_authority = "the IT desk"

[twilio]
account_sid = "{ACCOUNT_SID}"
from_number = "{TWILIO_NUMBER}"

[audit]
path = "-"

[domains.DEFAULT]
url = "{slapd_url}"
base_dn = "{BASE_DN}"
bind_dn = "{SERVICE_DN}"
users_dn = "{PEOPLE_DN}"
protected_groups = ["{PROTECTED_GROUP_DN}"]
""")
    return path


def operator_env(config: Path, redis_url: str, stand_in: TwilioStandIn,
                 captcha_dir: Path) -> dict[str, str]:
    env = {key: os.environ[key] for key in ("PATH", "LANG", "HOME", "TMPDIR")
           if key in os.environ}
    env.update({
        "SSPM_CONFIG": str(config), "SSPM_SECRET_KEY": SECRET_KEY, "SSPM_REDIS_URL": redis_url,
        "SSPM_LDAP_BIND_PASSWORD": LDAP_PASSWORD, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SSPM_BENCH_TWILIO_BASE": stand_in.base, "SSPM_BENCH_CAPTCHA_DIR": str(captcha_dir),
        # Belt and braces: any HTTPS a worker would send anywhere dies on a closed local port.
        "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost"})
    return env


# -- figures -------------------------------------------------------------------------------------

def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def p3(values: list[float]) -> str:
    return " | ".join(f"{pct(values, p):.1f}" for p in (50, 95, 99))


@dataclass
class Requests:
    """Client-side times per kind and statuses, thread-safe enough (list.append under GIL)."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[int] = field(default_factory=Counter)
    done_at: list[float] = field(default_factory=list)

    def record(self, kind: str, seconds: float, status: int) -> None:
        self.times[kind].append(seconds * 1000)
        self.statuses[status] += 1
        self.done_at.append(time.monotonic())

    @property
    def all(self) -> list[float]:
        return [t for values in self.times.values() for t in values]


def server_times(log: Path, phase: str) -> dict[str, list[float]]:
    """Kind -> server milliseconds (gunicorn ``%(D)s``) of the phase's requests."""
    times: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        tag, _, rest = line.partition(" ")
        if tag.startswith(phase + ":"):
            times[tag.split(":", 1)[1]].append(int(rest.split()[1]) / 1000)
    return times


@dataclass(frozen=True)
class Cpu:
    app: float
    slapd: float
    redis: float
    bench: float

    @staticmethod
    def read(app: Gunicorn, slapd_pid: int, redis_pid: int) -> Cpu:
        return Cpu(app.cpu(), process_seconds(slapd_pid), process_seconds(redis_pid),
                   time.process_time())

    def minus(self, other: Cpu) -> Cpu:
        return Cpu(self.app - other.app, self.slapd - other.slapd, self.redis - other.redis,
                   self.bench - other.bench)


# -- the run -------------------------------------------------------------------------------------

@dataclass
class Bench:
    args: argparse.Namespace
    folder: Path
    app: Gunicorn
    hello: Gunicorn
    slapd: BenchSlapd
    redis_pid: int
    redis: RedisStats
    ldap: LdapMonitor
    site: Site
    users: list[tuple[str, str]]
    verify_ms: float
    kdf_per_reset: int
    next_user: Iterator[int] = field(default_factory=lambda: iter(range(10**9)))
    errors: Counter[str] = field(default_factory=Counter)
    fresh: Iterator[int] = field(default_factory=lambda: iter(range(SERIAL_USERS, 10**9)))

    def cpu(self) -> Cpu:
        assert self.slapd.process is not None
        return Cpu.read(self.app, self.slapd.process.pid, self.redis_pid)

    def user(self) -> tuple[str, str]:
        """Serial resets cycle over the first SERIAL_USERS accounts; every live or
        closed-loop conversation takes an account of its own (a conversation cut short at the
        end of a phase leaves its session and link behind: no later phase reuses its account)."""
        return self.users[next(self.next_user) % SERIAL_USERS]

    def fresh_user(self) -> tuple[str, str]:
        return self.users[next(self.fresh)]

    def person(self, phase: str, requests: Requests, pause: Callable[[str], None],
               user: tuple[str, str] | None = None) -> Person:
        uid, mobile = user or self.user()
        return Person(self.site, uid, mobile, phase, requests.record, pause)

    # -- serial resets: cost per reset -------------------------------------------------------

    def warm(self) -> None:
        requests = Requests()
        for _ in range(self.args.warmup):
            self.person("warm", requests, lambda kind: None).reset()

    def cost(self) -> None:
        requests = Requests()
        resets = self.args.resets
        ldap_before, redis_before = self.ldap.read(), self.redis.snapshot()
        cpu_before, started = self.cpu(), time.monotonic()
        for _ in range(resets):
            self.person("cost", requests, lambda kind: None).reset()
        wall = time.monotonic() - started
        cpu = self.cpu().minus(cpu_before)
        redis_after, ldap_after = self.redis.snapshot(), self.ldap.read()
        ldap = self.ldap.delta(ldap_before, ldap_after)
        commands, reads = self.redis.delta(redis_before, redis_after)
        per_reset = len(requests.all) / resets
        servers = cpu.app + cpu.slapd + cpu.redis
        kdf = self.kdf_per_reset * self.verify_ms
        print(f"\n## Cost per completed reset ({resets} serial resets, one client, "
              f"{per_reset:.0f} requests each, {wall:.1f} s)\n")
        print("| per completed reset | value |")
        print("| --- | ---: |")
        print(f"| CPU gunicorn (master + {self.args.workers} workers) | "
              f"{1000 * cpu.app / resets:.1f} ms |")
        print(f"| CPU slapd | {1000 * cpu.slapd / resets:.1f} ms |")
        print(f"| CPU redis-server | {1000 * cpu.redis / resets:.1f} ms |")
        print(f"| **CPU server + slapd + Redis, KDF included** | "
              f"**{1000 * servers / resets:.1f} ms** |")
        print(f"| KDF: {self.kdf_per_reset} Argon2id verify × {self.verify_ms:.1f} ms "
              f"(measured in this run) | {kdf:.1f} ms |")
        print(f"| **CPU server + slapd + Redis, KDF excluded (estimate)** | "
              f"**{1000 * servers / resets - kdf:.1f} ms** |")
        print(f"| (bench client + Twilio stand-in, context) | {1000 * cpu.bench / resets:.1f} ms |")
        print(f"| LDAP operations (cn=Monitor) | {sum(ldap.values()) / resets:.1f}: " + ", ".join(
            f"{n / resets:.1f} {kind}" for kind, n in sorted(ldap.items(), key=lambda i: -i[1])
            if n) + " |")
        total = sum(commands.values())
        print(f"| Redis commands | {total / resets:.1f}: " + ", ".join(
            f"{n / resets:.1f} {name}" for name, n in sorted(commands.items(),
                                                               key=lambda i: -i[1])) + " |")
        print(f"| Redis round trips | {reads / resets:.1f} ({reads / resets / per_reset:.2f} "
              f"per request, {total / max(reads, 1):.2f} commands each) |")
        statuses = dict(sorted(requests.statuses.items()))
        print(f"| HTTP statuses | {statuses} |")
        self.latency_table("cost", requests)

    def latency_table(self, phase: str, requests: Requests) -> None:
        server = server_times(self.app.access_log, phase)
        print(f"\n### Latency per request, ms ({phase})\n")
        print("| request | n | client p50 | p95 | p99 | server p50 | p95 | p99 |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for kind in KINDS:
            if requests.times.get(kind):
                print(f"| {kind} | {len(requests.times[kind])} | {p3(requests.times[kind])} | "
                      f"{p3(server.get(kind, []))} |")
        everything = [t for values in server.values() for t in values]
        print(f"| **every request** | {len(requests.all)} | {p3(requests.all)} | "
              f"{p3(everything)} |")

    def breakdown(self) -> None:
        """Serial resets with a snapshot between requests: what each kind of request costs.
        (The snapshots' own slapd and Redis CPU would blur those columns: gunicorn's only.)"""
        count = self.args.breakdown
        if count <= 0:
            return
        app_cpu: dict[str, float] = defaultdict(float)
        ldap_ops: dict[str, Counter[str]] = defaultdict(Counter)
        redis_cmds: dict[str, Counter[str]] = defaultdict(Counter)
        trips: Counter[str] = Counter()
        state: dict[str, object] = {}

        def snapshot(kind: str | None) -> None:
            ldap_now, redis_now = self.ldap.read(), self.redis.snapshot()
            cpu_now = self.app.cpu_fine()
            previous = state.get("kind")
            if isinstance(previous, str):
                before_ldap = state["ldap"]
                before_redis = state["redis"]
                assert isinstance(before_ldap, dict) and isinstance(before_redis, RedisSnapshot)
                ldap_ops[previous].update(self.ldap.delta(before_ldap, ldap_now))
                commands, reads = self.redis.delta(before_redis, redis_now)
                redis_cmds[previous].update(commands)
                trips[previous] += reads
                app_cpu[previous] += cpu_now - float(str(state["cpu"]))
            state.update(kind=kind, ldap=ldap_now, redis=redis_now, cpu=cpu_now)

        requests = Requests()
        for _ in range(count):
            self.person("breakdown", requests, snapshot).reset()
            time.sleep(0.05)  # the last request's after-work (access log, SMS thread)
            snapshot(None)
        print(f"\n## Per request kind ({count} serial resets, a snapshot between requests)\n")
        print("| request | gunicorn CPU ms (schedstat) | LDAP ops | Redis commands "
              "| Redis round trips |")
        print("| --- | ---: | --- | --- | ---: |")

        def spread(counter: Counter[str]) -> str:
            total = sum(counter.values()) / count
            parts = ", ".join(f"{n / count:.1f} {name}" for name, n in counter.most_common()
                              if n)
            return f"{total:.1f}" + (f" ({parts})" if parts else "")

        for kind in KINDS:
            print(f"| {kind} | {1000 * app_cpu[kind] / count:.1f} | {spread(ldap_ops[kind])} | "
                  f"{spread(redis_cmds[kind])} | {trips[kind] / count:.1f} |")
        every_ldap = sum((c for c in ldap_ops.values()), Counter())
        every_redis = sum((c for c in redis_cmds.values()), Counter())
        print(f"| **whole reset** | {1000 * sum(app_cpu.values()) / count:.1f} | "
              f"{sum(every_ldap.values()) / count:.1f} | {sum(every_redis.values()) / count:.1f} "
              f"| {sum(trips.values()) / count:.1f} |")

    # -- load: N live conversations ----------------------------------------------------------

    def load(self) -> None:
        n, duration, think = self.args.load, self.args.duration, self.args.think_time
        if n <= 0:
            return
        stop = threading.Event()
        requests = Requests()
        errors: Counter[str] = Counter()
        completed = [0]
        key_bytes_before = self.redis.key_bytes(KEY_PREFIX)
        memory_before = self.redis.snapshot()
        ldap_before = self.ldap.read()
        cpu_before = self.cpu()

        def pause(kind: str) -> None:
            if kind in PERSON_ACTS and stop.wait(random.uniform(0.5 * think, 1.5 * think)):
                raise Stop
            if stop.is_set():
                raise Stop

        def live(user: tuple[str, str]) -> None:
            person = self.person("load", requests, pause, user)
            if stop.wait(random.uniform(0, think)):
                return
            for _ in range(10**6):
                try:
                    person.reset()
                    completed[0] += 1
                except Stop:
                    return
                except (ResetFailed, OSError, TimeoutError) as exc:
                    errors[getattr(exc, "kind", type(exc).__name__)] += 1
                    self.errors[f"load: {exc}"[:160]] += 1
                    if stop.wait(think):
                        return

        threads = [threading.Thread(target=live, args=(self.fresh_user(),), daemon=True)
                   for _ in range(n)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        stop.wait(duration)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        wall = time.monotonic() - started
        cpu = self.cpu().minus(cpu_before)
        memory_after = self.redis.snapshot()
        ldap = sum(self.ldap.delta(ldap_before, self.ldap.read()).values())
        commands, reads = self.redis.delta(memory_before, memory_after)
        key_bytes = self.redis.key_bytes(KEY_PREFIX)
        count = len(requests.all)
        servers = cpu.app + cpu.slapd + cpu.redis
        print(f"\n## Load: {n} live conversations (distinct senders and accounts), think time "
              f"{think:g} s (uniform ×0.5–1.5), {duration:g} s, {self.args.workers} workers\n")
        print(f"- requests: {count} ({count / wall:.1f}/s), completed resets: {completed[0]}, "
              f"errors: {sum(errors.values())} {dict(errors) if errors else ''}, statuses: "
              f"{dict(sorted(requests.statuses.items()))}")
        server = server_times(self.app.access_log, "load")
        everything = [t for values in server.values() for t in values]
        print(f"- server time per request: p50 {pct(everything, 50):.1f} ms, p99 "
              f"{pct(everything, 99):.1f} ms (gunicorn %(D)s, {len(everything)} requests)")
        print(f"- client time per request: p50 {pct(requests.all, 50):.1f} ms, p99 "
              f"{pct(requests.all, 99):.1f} ms")
        print(f"- CPU over the phase: {servers / wall * 100:.0f} % of one core (gunicorn "
              f"{cpu.app / wall * 100:.0f} %, slapd {cpu.slapd / wall * 100:.0f} %, redis "
              f"{cpu.redis / wall * 100:.0f} %), bench client {cpu.bench / wall * 100:.0f} %")
        if completed[0]:
            print(f"- per completed reset under load: CPU {1000 * servers / completed[0]:.1f} ms, "
                  f"LDAP ops {ldap / completed[0]:.1f}, Redis commands "
                  f"{sum(commands.values()) / completed[0]:.1f}, round trips "
                  f"{reads / completed[0]:.1f} (unfinished resets' requests included)")
        grown = memory_after.used_memory - memory_before.used_memory
        print(f"- Redis `INFO memory` used_memory grew {grown / n:.0f} bytes per live "
              f"conversation ({grown} in all)")
        kinds = sorted(set(key_bytes) | set(key_bytes_before))
        added = {kind: (key_bytes.get(kind, (0, 0))[0] - key_bytes_before.get(kind, (0, 0))[0],
                        key_bytes.get(kind, (0, 0))[1] - key_bytes_before.get(kind, (0, 0))[1])
                 for kind in kinds}
        total = sum(size for _, size in added.values())
        print(f"- Redis `MEMORY USAGE` of the app's keys grew {total / n:.0f} bytes per live "
              f"conversation; by key kind (`{KEY_PREFIX}<kind>:...`, keys added, bytes per "
              "conversation):")
        for kind, (keys, size) in sorted(added.items(), key=lambda item: -item[1][1]):
            if keys or size:
                print(f"  - {kind}: {keys:+d} keys, {size / n:.0f} B")

    # -- throughput: one worker, app against hello -------------------------------------------

    def throughput(self) -> None:
        seconds, clients = self.args.throughput_seconds, self.args.concurrency
        if seconds <= 0:
            return
        for server in (self.app, self.hello):
            server.set_workers(1)
        wait_idle([], [self.app, self.hello], min(self.args.idle_timeout, 30))
        rates: dict[str, list[float]] = defaultdict(list)
        busy: dict[str, list[float]] = defaultdict(list)
        cpu_each: dict[str, list[float]] = defaultdict(list)
        for _ in range(2):
            for name in ("app", "hello"):
                rate, utilisation, cpu_ms = self.closed_loop(name, seconds, clients)
                rates[name].append(rate)
                busy[name].append(utilisation)
                cpu_each[name].append(cpu_ms)
        app, hello = statistics.mean(rates["app"]), statistics.mean(rates["hello"])
        print(f"\n## Throughput of one worker ({clients} closed-loop clients each, "
              f"2 × {seconds:g} s windows interleaved)\n")
        print("| server | requests/s (each window) | worker CPU busy | gunicorn CPU per "
              "request |")
        print("| --- | --- | ---: | ---: |")
        for name in ("app", "hello"):
            print(f"| {name} | {statistics.mean(rates[name]):.1f} ("
                  + ", ".join(f"{r:.1f}" for r in rates[name])
                  + f") | {statistics.mean(busy[name]) * 100:.0f} % | "
                  f"{statistics.mean(cpu_each[name]):.2f} ms |")
        by_cpu = statistics.mean(cpu_each["hello"]) / statistics.mean(cpu_each["app"])
        print(f"\n**Per-request throughput ratio app / hello: {app / hello:.3f}** (a reset = "
              f"{len(KINDS)} requests: {app / len(KINDS):.2f} resets/s per worker); the same "
              f"ratio from CPU per request (less sensitive to a busy machine): {by_cpu:.3f}")
        if statistics.mean(busy["hello"]) < 0.85:
            print("(the hello worker was busy less than 85 % of its windows: the client or a "
                  "busy machine held it back, so the closed-loop ratio flatters the app; the "
                  "CPU-per-request ratio is the steadier figure)")

    def closed_loop(self, name: str, seconds: float,
                    clients: int) -> tuple[float, float, float]:
        """Requests/s, the worker's CPU share, its CPU ms per request."""
        server = self.app if name == "app" else self.hello
        stop = threading.Event()
        requests = Requests()

        def pause(kind: str) -> None:
            del kind
            if stop.is_set():
                raise Stop

        def app_client(user: tuple[str, str]) -> None:
            person = self.person("throughput", requests, pause, user)
            for _ in range(10**6):
                try:
                    person.reset()
                except Stop:
                    return
                except (ResetFailed, OSError, TimeoutError) as exc:
                    self.errors[f"throughput {getattr(exc, 'kind', '')}: {exc}"[:160]] += 1

        def hello_client() -> None:
            for _ in range(10**8):
                if stop.is_set():
                    return
                start = time.perf_counter()
                reply = http(self.hello.port, "GET", "/", headers={"X-Bench": "throughput:hello"})
                requests.record("hello", time.perf_counter() - start, reply.status)

        threads = [threading.Thread(
            target=app_client if name == "app" else hello_client,
            args=(self.fresh_user(),) if name == "app" else (), daemon=True)
            for _ in range(clients)]
        cpu_before, started = server.cpu(), time.monotonic()
        for thread in threads:
            thread.start()
        stop.wait(seconds)
        ended = time.monotonic()
        stop.set()
        cpu = server.cpu() - cpu_before
        for thread in threads:
            thread.join(timeout=60)
        done = sum(1 for t in requests.done_at if t <= ended)
        return done / (ended - started), cpu / (ended - started), 1000 * cpu / max(done, 1)


# -- set-up and report -------------------------------------------------------------------------

def kdf_per_reset(slapd: BenchSlapd, uid: str, asked: int) -> int:
    """Argon2id verifies in one proof of ``uid``: one over a joint hash, else one per answer."""
    record = EnrolmentRecord.from_json(slapd.enrolments.get(uid))
    joint = getattr(record, "joint", ())  # absent in a tree from before joint hashes
    if any(len(ids) == asked for ids, _ in joint):
        return 1
    return asked


def argon2_verify_ms(samples: int) -> float:
    hasher = Argon2AnswerHasher()
    stored = hasher.hash("SAINTMARY")
    start = time.process_time()
    for _ in range(samples):
        hasher.verify(stored, "SAINTMARY")
    return (time.process_time() - start) * 1000 / samples


def versions(gunicorn: Gunicorn) -> str:
    def run(*command: str) -> str:
        try:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        except OSError:
            return "?"
        return (done.stdout or done.stderr).strip().splitlines()[0]

    packages = ", ".join(f"{name} {metadata.version(name)}" for name in (
        "flask", "werkzeug", "ldap3", "redis", "twilio", "argon2-cffi", "zxcvbn"))
    slapd = run("slapd", "-VV").split("slapd ")[-1].split(" ")[0]
    redis_version = run("redis-server", "--version").split("v=")[-1].split(" ")[0]
    return (f"Python {platform.python_version()}, {gunicorn.version()}, {packages}; "
            f"slapd {slapd}, redis-server {redis_version}")


def tree_state() -> str:
    root = Path(__file__).resolve().parent.parent
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if not head:
        return f"the tree at {root} (not a git checkout)"
    dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                           capture_output=True, text=True, check=False).stdout.splitlines()
    return f"commit {head}" + (f" + {len(dirty)} uncommitted files" if dirty else "")


def show_logs_on_error(folder: Path) -> None:
    """On the way out of a failed run, the servers' last log lines (the folder is deleted)."""
    if sys.exc_info()[0] is None or sys.exc_info()[0] is KeyboardInterrupt:
        return
    for log in sorted(folder.glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()[-15:]
        print(f"--- {log.name} (last lines)\n" + "\n".join(lines), file=sys.stderr)


def print_load(when: str) -> None:
    one, five, fifteen = os.getloadavg()
    print(f"Load average {when}: {one:.2f} (1 min), {five:.2f} (5 min), {fifteen:.2f} (15 min)")


@contextlib.contextmanager
def stopped_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP unwind like Ctrl-C, so every server is stopped on the way out."""
    def interrupt(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run(args: argparse.Namespace) -> None:
    cpu_name = next((line.split(":", 1)[1].strip() for line in
                     Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name")), platform.processor())
    print(f"# HTTP-path bench (issue 13): {tree_state()}\n")
    print(f"Machine: nproc {os.cpu_count()}, {cpu_name}")
    print_load("at start")
    verify_ms = argon2_verify_ms(args.argon2_samples)
    hasher = Argon2AnswerHasher()
    users_needed = SERIAL_USERS + max(args.load, 0) + 4 * args.concurrency
    with contextlib.ExitStack() as stack, stopped_on_signals():
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sspm-h1-")))
        slapd = BenchSlapd(folder / "slapd", users_needed, hasher)
        stack.callback(slapd.stop)
        slapd.start()
        redis_server, redis_info = start_redis(folder / "redis")
        stack.callback(redis_server.stop)
        stand_in = TwilioStandIn()
        stack.callback(stand_in.stop)
        stand_in.start()
        captcha_dir = folder / "captcha"
        captcha_dir.mkdir()
        config = write_config(folder, slapd.url)
        env = operator_env(config, redis_info.url, stand_in, captcha_dir)
        settings = load_settings(config, env)  # fails here, clearly, on a config the app refuses
        app = Gunicorn("app", "bench.http_path.wsgi:app()", args.workers, folder, env)
        hello = Gunicorn("hello", "bench.http_path.hello:app()", args.workers, folder, env)
        for server in (app, hello):
            stack.callback(server.stop)
            server.start()
        stack.callback(show_logs_on_error, folder)
        print(f"Versions: {versions(app)}")
        health = http(app.port, "GET", "/healthz")
        if health.status != 200:
            raise RuntimeError(f"/healthz answered {health.status}: {health.body[:200]!r}")
        redis_pid = redis_server._process.pid if redis_server._process else 0
        assert slapd.process is not None
        waited = wait_idle([slapd.process.pid, redis_pid], [app, hello], args.idle_timeout)
        code = captcha_dir / "app-code"
        print(f"App code imported by the workers from: "
              f"{code.read_text() if code.exists() else '?'}")
        redis = RedisStats(redis_info.url)
        stack.callback(redis.close)
        ldap = LdapMonitor(slapd.url)
        stack.callback(ldap.close)
        users = [(u.uid, u.mobile) for u in bench_users(users_needed)]
        site = Site(app.port, PUBLIC_URL, TWILIO_NUMBER, RequestValidator(AUTH_TOKEN), stand_in,
                    captcha_dir, Site.question_texts(Catalogue.load(),
                                                     demo_answers(BENCH_ANSWERS_OF)))
        bench = Bench(args, folder, app, hello, slapd, redis_pid, redis, ldap, site, users,
                      verify_ms, kdf_per_reset(slapd, users[0][0], settings.dialog.questions_asked))
        print(f"Servers up on 127.0.0.1: gunicorn app -w {args.workers} (sync workers), "
              f"gunicorn hello -w {args.workers}, slapd, redis-server; idle after {waited:.1f} s. "
              f"Redis round-trip calibration: a 10-command pipeline + 1 DEL = "
              f"{redis.calibration} reads (expected 2). LDAP monitor read overhead: "
              f"{ {k: v for k, v in ldap.overhead.items() if v} }.")
        print(f"Argon2id verify (OWASP parameters, this process): {verify_ms:.1f} ms CPU "
              f"({args.argon2_samples} samples); answer hasher setting: none in the product, "
              "KDF on.")
        bench.warm()
        wait_idle([slapd.process.pid, redis_pid], [app], min(args.idle_timeout, 20))
        bench.cost()
        bench.breakdown()
        bench.load()
        bench.throughput()
        print(f"\nTwilio stand-in received {stand_in.sent} SMS.")
        if bench.errors:
            print("Failed resets (load, throughput):")
            for text, count in bench.errors.most_common(10):
                print(f"- {count} × {text}")
        print_load("at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--warmup", type=int, default=4, help="warm-up resets, not counted")
    parser.add_argument("--resets", type=int, default=30, help="serial resets for the cost")
    parser.add_argument("--breakdown", type=int, default=10,
                        help="serial resets with per-request snapshots (0: skip)")
    parser.add_argument("--throughput-seconds", type=float, default=8.0,
                        help="each closed-loop window, app and hello, twice (0: skip)")
    parser.add_argument("--concurrency", type=int, default=2,
                        help="closed-loop clients in the throughput windows")
    parser.add_argument("--load", type=int, default=0, help="live conversations (0: no load)")
    parser.add_argument("--duration", type=float, default=60.0, help="load phase seconds")
    parser.add_argument("--think-time", type=float, default=5.0,
                        help="mean seconds a person takes before each message or page action")
    parser.add_argument("--argon2-samples", type=int, default=20)
    parser.add_argument("--idle-timeout", type=float, default=60.0,
                        help="longest wait for quiet servers before a phase (workers warm the "
                        "audio captcha at start)")
    try:
        run(parser.parse_args())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()

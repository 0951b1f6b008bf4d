"""The bench's servers: slapd with cn=Monitor, redis-server, two gunicorns, a Twilio stand-in.

Everything listens on 127.0.0.1 (free ports), lives in one temporary folder and is stopped by
its own process handle. CPU is read from ``/proc/<pid>/stat`` (user + system, clock ticks).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs

import redis
from ldap3 import BASE, LEVEL, NONE, Connection, Server

from bot.local_stack import LocalRedis, RedisInfo
from bot.local_stack.enrolments import DEMO_ENROLMENTS, DemoEnrolment, demo_answers

try:
    from bot.local_stack.enrolments import demo_record
except ImportError:  # a tree from before joint answer hashes (this bench copied into it)
    from dialogs.answers import normalise_answer
    from dialogs.enrolment_record import EnrolmentRecord

    def demo_record(enrolment: DemoEnrolment, hasher: AnswerHasher) -> EnrolmentRecord:
        return EnrolmentRecord(
            questions=tuple((q, hasher.hash(normalise_answer(a))) for q, a in enrolment.answers),
            mobile=enrolment.mobile, telegram_id=enrolment.telegram_id,
            voice_pin=hasher.hash(enrolment.voice_pin) if enrolment.voice_pin else "",
            language=enrolment.language)
from bot.local_stack.ports import free_port, stop_process, wait_for_port
from bot.local_stack.seed import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    DEMO_USERS,
    SERVICE_DN,
    SERVICE_PASSWORD,
    DemoUser,
    seed_ldif,
)
from bot.local_stack.slapd import LocalStackError, slapd_config
from dialogs.answers import AnswerHasher

REPO = Path(__file__).resolve().parents[2]
CLOCK_TICK = os.sysconf("SC_CLK_TCK")
BENCH_UID = "bench{:04d}"
BENCH_ANSWERS_OF = "alice"  # every bench user enrolled alice's answers (one hash each, reused)


# -- CPU from /proc ------------------------------------------------------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 onwards


def process_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """User + system CPU of ``pid`` (and of its reaped children if asked), in seconds."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / CLOCK_TICK


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def run_seconds(pid: int) -> float:
    """Nanosecond-precise CPU of ``pid``'s live threads (``/proc/<pid>/task/*/schedstat``):
    finer than clock ticks for one request, blind to threads and children that exited."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(task.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1e9


def tree_seconds(pid: int) -> float:
    """A gunicorn master and its workers, workers that exited (reaped) included."""
    return process_seconds(pid, reaped_children=True) + sum(
        process_seconds(child) for child in children(pid))


# -- slapd with the monitor backend ------------------------------------------------------------

def bench_users(count: int) -> tuple[DemoUser, ...]:
    return tuple(DemoUser(BENCH_UID.format(n), f"Bench-Start-Pass-{n:04d}", "Bench", f"User{n}",
                          f"9{n:05d}", f"+1555{7000000 + n:07d}", "bench: enrolled")
                 for n in range(1, count + 1))


def enrolment_lines(hasher: AnswerHasher, users: Iterable[DemoUser]) -> dict[str, str]:
    """uid -> the sspmEnrolment value, as ``seed_enrolments`` would write it (but in the seed
    LDIF: 3 Argon2 hashes in all instead of 3 per bench user)."""
    records: dict[str, str] = {}
    for enrolment in DEMO_ENROLMENTS:
        records[enrolment.uid] = demo_record(enrolment, hasher).to_json()
    shared = demo_record(DemoEnrolment("bench", tuple(demo_answers(BENCH_ANSWERS_OF).items()),
                                       ""), hasher)
    for user in users:
        if user.uid.startswith("bench"):
            records[user.uid] = replace(shared, mobile=user.mobile).to_json()
    return records


class BenchSlapd:
    """The demo directory plus ``count`` enrolled bench users; ``cn=Monitor`` readable by the
    rootdn, so the bench counts LDAP operations from slapd's own counters."""

    def __init__(self, workdir: Path, users: int, hasher: AnswerHasher) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.users = DEMO_USERS + bench_users(users)
        self.hasher = hasher
        self.process: subprocess.Popen[bytes] | None = None
        self.enrolments: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.workdir.mkdir(parents=True)
        (self.workdir / "data").mkdir()
        config = slapd_config(self.workdir) + (
            f'\ndatabase monitor\naccess to * by dn.exact="{ADMIN_DN}" read by * none\n')
        (self.workdir / "slapd.conf").write_text(config)
        enrolments = self.enrolments = enrolment_lines(self.hasher, self.users)
        # The enrolment goes into the seed (an extra attribute), as write_enrolment stores it.
        ldif = seed_ldif(tuple(
            replace(user, extra=(*user.extra, ("sspmEnrolment", enrolments[user.uid])))
            if user.uid in enrolments else user for user in self.users))
        (self.workdir / "seed.ldif").write_text(ldif)
        slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
        done = subprocess.run([slapadd, "-q", "-f", str(self.workdir / "slapd.conf"), "-l",
                               str(self.workdir / "seed.ldif")],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise LocalStackError(f"slapadd failed: {done.stderr.strip()[-500:]}")
        slapd = shutil.which("slapd") or "/usr/sbin/slapd"
        self.process = subprocess.Popen(
            [slapd, "-f", str(self.workdir / "slapd.conf"), "-h", f"{self.url}/", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "slapd.log").open("ab"))
        if not wait_for_port(self.port, 10.0, self.process):
            raise LocalStackError(f"slapd did not start; see {self.workdir / 'slapd.log'}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)


class LdapMonitor:
    """slapd's ``cn=Operations,cn=Monitor`` counters (operations initiated, by type), read on
    one bound connection: each read costs exactly one Search, subtracted by calibration."""

    def __init__(self, url: str) -> None:
        # No schema read: the monitor's attributes are not in the schema ldap3 would check.
        self._connection = Connection(Server(url, get_info=NONE), ADMIN_DN, ADMIN_PASSWORD,
                                      auto_bind=True, read_only=True)
        first, second = self.read(), self.read()
        self.overhead = {kind: second[kind] - first[kind] for kind in first}

    def read(self) -> dict[str, int]:
        self._connection.search("cn=Operations,cn=Monitor", "(objectClass=*)",
                                search_scope=LEVEL, attributes=["monitorOpInitiated"])
        counts = {}
        for entry in self._connection.response or []:
            if entry.get("type") == "searchResEntry":
                kind = entry["dn"].split(",", 1)[0].removeprefix("cn=")
                value = entry["attributes"]["monitorOpInitiated"]
                counts[kind] = int(value[0] if isinstance(value, list) else value)
        return counts

    def delta(self, before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
        """The operations between two reads, the second read's own search removed."""
        return {kind: after[kind] - before[kind] - self.overhead.get(kind, 0) for kind in after}

    def check(self) -> None:
        self._connection.search(BASE_DN, "(objectClass=*)", search_scope=BASE, attributes=["1.1"])

    def close(self) -> None:
        self._connection.unbind()


# -- redis -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RedisSnapshot:
    commands: dict[str, int]
    reads: int
    used_memory: int


class RedisStats:
    """``INFO all`` on one connection: commandstats, ``total_reads_processed`` (socket read
    events: one per request burst a client sends, a pipeline arriving together counts once),
    ``used_memory``. The bench's own INFO is left out of the commands and, by calibration, out
    of the reads."""

    OWN = ("info",)

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        first, second = self.snapshot(), self.snapshot()
        self.overhead = second.reads - first.reads
        before = self.snapshot()
        pipe = self.client.pipeline(transaction=False)
        for n in range(10):
            pipe.set(f"bench-calibration:{n}", n)
        pipe.execute()
        self.client.delete(*[f"bench-calibration:{n}" for n in range(10)])
        after = self.snapshot()
        # A pipeline of 10 SETs then one DEL: 2 round trips if reads count request bursts.
        self.calibration = after.reads - before.reads - self.overhead

    def snapshot(self) -> RedisSnapshot:
        info = cast(dict[str, Any], self.client.info("all"))
        commands = {key.removeprefix("cmdstat_"): int(value["calls"])
                    for key, value in info.items() if key.startswith("cmdstat_")}
        return RedisSnapshot(commands, int(info["total_reads_processed"]),
                             int(info["used_memory"]))

    def delta(self, before: RedisSnapshot, after: RedisSnapshot) -> tuple[dict[str, int], int]:
        commands = {name: calls - before.commands.get(name, 0)
                    for name, calls in after.commands.items() if name not in self.OWN}
        return ({k: v for k, v in commands.items() if v}, after.reads - before.reads
                - self.overhead)

    def key_bytes(self, prefix: str) -> dict[str, tuple[int, int]]:
        """Kind -> (keys, MEMORY USAGE bytes). A tagged key ``{prefix}{<tag>}:<kind>``
        (``bot.redis_keys``) is of its last segment, any other of its first after the prefix."""
        kinds: dict[str, tuple[int, int]] = {}
        for key in self.client.scan_iter(match=prefix + "*", count=1000):
            name = key.decode() if isinstance(key, bytes) else str(key)
            rest = name[len(prefix):]
            kind = ("{tag}:" + rest.rsplit(":", 1)[-1] if rest.startswith("{")
                    else rest.split(":", 1)[0])
            size = int(cast(int | None, self.client.memory_usage(key, samples=0)) or 0)
            count, total = kinds.get(kind, (0, 0))
            kinds[kind] = (count + 1, total + size)
        return kinds

    def close(self) -> None:
        self.client.close()


def start_redis(folder: Path) -> tuple[LocalRedis, RedisInfo]:
    server = LocalRedis(folder)
    return server, server.start()


# -- Twilio's REST API, standing in ----------------------------------------------------------

CODE = re.compile(r"\b(\d{6,})\b")


@dataclass
class TwilioStandIn:
    """Accepts ``POST /2010-04-01/Accounts/<sid>/Messages.json`` as Twilio does; keeps, per
    destination, only the one-time codes the texts carry (the phone the person reads)."""

    port: int = field(default_factory=free_port)
    sent: int = 0
    codes: dict[str, list[str]] = field(default_factory=dict)
    condition: threading.Condition = field(default_factory=threading.Condition)
    server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            # Twilio's API keeps connections alive; an HTTP/1.0 stand-in made the product open
            # a new connection per SMS, a cost the real service does not impose.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                to, body = form.get("To", [""])[0], form.get("Body", [""])[0]
                match = CODE.search(body)
                with stand_in.condition:
                    stand_in.sent += 1
                    if match:
                        stand_in.codes.setdefault(to, []).append(match.group(1))
                    stand_in.condition.notify_all()
                reply = json.dumps({"sid": f"SM{stand_in.sent:032d}", "status": "queued",
                                    "to": to, "num_segments": "1"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, name="twilio-stand-in",
                         daemon=True).start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def code_count(self, to: str) -> int:
        with self.condition:
            return len(self.codes.get(to, []))

    def wait_code(self, to: str, after: int, timeout: float = 15.0) -> str:
        """The first code sent to ``to`` after the ``after``-th; raises after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.condition:
            while len(self.codes.get(to, [])) <= after:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no code reached {to}")
                self.condition.wait(left)
            return self.codes[to][after]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# -- gunicorn ------------------------------------------------------------------------------------

ACCESS_FORMAT = '%({x-bench}i)s %(s)s %(D)s'


@dataclass
class Gunicorn:
    """``gunicorn -w N -b 127.0.0.1:PORT APP`` from the project's virtualenv, access log with
    the bench's request tag, status and server time (microseconds)."""

    name: str
    app: str
    workers: int
    folder: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def access_log(self) -> Path:
        return self.folder / f"{self.name}-access.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        binary = Path(sys.executable).with_name("gunicorn")
        command = [str(binary), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
                   "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_FORMAT,
                   "--error-logfile", str(self.folder / f"{self.name}-error.log"),
                   "--timeout", "60", "--no-control-socket", self.app]
        self.process = subprocess.Popen(
            command, cwd=REPO, env=self.env, stdout=subprocess.DEVNULL,
            stderr=(self.folder / f"{self.name}-stderr.log").open("ab"))
        if not wait_for_port(self.port, 30.0, self.process):
            raise LocalStackError(f"gunicorn {self.name} did not start; see {self.folder}")

    def version(self) -> str:
        binary = Path(sys.executable).with_name("gunicorn")
        return subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                              check=False).stdout.strip()

    def cpu(self) -> float:
        return tree_seconds(self.pid)

    def cpu_fine(self) -> float:
        """Master and live workers, nanosecond precision (a worker that exited is lost)."""
        return run_seconds(self.pid) + sum(run_seconds(child) for child in children(self.pid))

    def live_workers(self) -> int:
        return len(children(self.pid))

    def set_workers(self, wanted: int, timeout: float = 20.0) -> None:
        """TTIN / TTOU to the master until ``wanted`` workers run (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.live_workers()
            if now == wanted:
                time.sleep(0.3)
                if self.live_workers() == wanted:
                    return
                continue
            os.kill(self.pid, signal.SIGTTOU if now > wanted else signal.SIGTTIN)
            time.sleep(0.5)
        raise RuntimeError(f"gunicorn {self.name}: {self.live_workers()} workers, not {wanted}")

    def stop(self) -> None:
        process, self.process = self.process, None
        stop_process(process)


def wait_idle(pids: list[int], gunicorns: list[Gunicorn], timeout: float = 60.0) -> float:
    """Wait until the servers are quiet (workers' audio captcha warming, first loads): two
    half-second windows with at most 2 ticks of CPU in all. Returns the seconds waited."""
    start = time.monotonic()
    quiet = 0

    def total() -> float:
        return sum(g.cpu() for g in gunicorns) + sum(process_seconds(p) for p in pids)

    before = total()
    while time.monotonic() - start < timeout and quiet < 2:
        time.sleep(0.5)
        now = total()
        quiet = quiet + 1 if now - before <= 2 / CLOCK_TICK else 0
        before = now
    return time.monotonic() - start


def service_credentials() -> tuple[str, str]:
    return SERVICE_DN, SERVICE_PASSWORD

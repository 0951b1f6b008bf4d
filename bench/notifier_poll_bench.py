"""Benchmark one ``sspm notifier`` pass over 10,000 accounts on slapd (issue 15).

Run from the repository root:

    .venv/bin/python bench/notifier_poll_bench.py [--accounts 10000] [--index]

It starts its own throwaway slapd (the demo directory plus N accounts under the 90-day
``cn=expiring`` policy, their passwords changed evenly over the last 89 days, 50 of them locked
seconds ago and 200 locked weeks ago) and redis-server, then measures, each the median of a few
runs, with the LDAP search requests each makes (every page of a paged search counts):

- baseline 1: one search by uid (the product's usual read);
- baseline 2: one plain paged search of the DNs of every account under the base;
- the lock search (``directory.lock_events.locked_since``, the last two minutes);
- the expiry search (``directory.expiry.expiring_within``, the next 14 days);
- a whole first pass (``Notifier.run_pass``: every candidate read and claimed) and a steady
  pass an hour later (everything already claimed).

``--index`` adds ``index modifyTimestamp,pwdChangedTime eq`` to slapd's configuration, to see
what an index on the change times buys. Nobody in the bench is enrolled, so nothing is sent:
this is the directory's and Redis's share of a pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap3
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import print_load, print_machine

from bot.local_stack import LocalRedis, LocalSlapd
from bot.local_stack.seed import BASE_DN, PEOPLE_DN, SERVICE_DN, seed_ldif, ssha
from bot.local_stack.slapd import slapd_config
from bot.notifier import Notifier
from bot.outbound import Outbound
from bot.redis_alerts import RedisAlerts
from channels.catalogue import Catalogue
from config.settings import DomainSettings, NotifierSettings, OutboundSettings
from dialogs.memory import ManualClock, MemoryAudit
from dialogs.sealing import Sealer
from directory import LdapDirectory
from directory.expiry import expiring_within
from directory.lock_events import locked_since
from tests.conftest import domain_settings

RECENT_LOCKS = 50
OLD_LOCKS = 200
DAY = 86_400


def stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y%m%d%H%M%SZ")


def bench_users(count: int, now: float) -> str:
    password = ssha("Bench-Password-0000")
    entries = []
    for i in range(count):
        uid = f"u{i:05d}"
        changed = now - 89 * DAY * (i / count)
        modified = now - 30 * DAY
        extra = []
        if i < RECENT_LOCKS:
            modified = now - 10
            extra.append(f"pwdAccountLockedTime: {stamp(modified)}")
        elif i < RECENT_LOCKS + OLD_LOCKS:
            modified = now - 20 * DAY
            extra.append(f"pwdAccountLockedTime: {stamp(modified)}")
        entries.append("\n".join([
            f"dn: uid={uid},{PEOPLE_DN}", "objectClass: inetOrgPerson", f"uid: {uid}",
            f"cn: Bench {uid}", f"sn: {uid}", f"employeeNumber: 9{i:05d}",
            f"userPassword: {password}",
            f"pwdPolicySubentry: cn=expiring,ou=policies,{BASE_DN}",
            f"pwdChangedTime: {stamp(changed)}", f"modifyTimestamp: {stamp(modified)}",
            *extra]) + "\n")
    return "\n".join(entries)


class BenchSlapd(LocalSlapd):
    def __init__(self, workdir: Path, count: int, now: float, index: bool) -> None:
        super().__init__(workdir)
        self.count, self.now, self.index = count, now, index

    def _initialise(self, slapadd: str) -> None:
        import subprocess

        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir()
        config = slapd_config(self.workdir).replace("maxsize 67108864", "maxsize 1073741824")
        # What README.md asks of a directory the notifier polls: no size limit for the service
        # account (slapd's default cuts every search at 500 entries, paged ones included).
        config = config.replace("overlay ppolicy", f'limits dn.exact="{SERVICE_DN}" '
                                "size=unlimited size.pr=unlimited\n\noverlay ppolicy")
        if self.index:
            config = config.replace("index uid,employeeNumber,mobile eq",
                                    "index uid,employeeNumber,mobile eq\n"
                                    "index modifyTimestamp,pwdChangedTime eq")
        (self.workdir / "slapd.conf").write_text(config)
        (self.workdir / "seed.ldif").write_text(
            seed_ldif() + "\n" + bench_users(self.count, self.now))
        subprocess.run([slapadd, "-q", "-f", str(self.workdir / "slapd.conf"), "-l",
                        str(self.workdir / "seed.ldif")], check=True, capture_output=True)


class SearchCounter:
    """Counts LDAP search requests (ldap3 sends one per page of a paged search)."""

    def __init__(self) -> None:
        self.count = 0
        self._original = ldap3.Connection.search

    @contextmanager
    def installed(self) -> Iterator[None]:
        counter, original = self, self._original

        def search(connection: ldap3.Connection, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return original(connection, *args, **kwargs)

        ldap3.Connection.search = search  # type: ignore[method-assign]
        try:
            yield
        finally:
            ldap3.Connection.search = original  # type: ignore[method-assign]


def measure(counter: SearchCounter, work: Callable[[], Any],
            runs: int) -> tuple[float, int, Any]:
    """Median milliseconds, searches per run, and the last result."""
    times, result = [], None
    for _ in range(runs):
        before = counter.count
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
        searches = counter.count - before
    return statistics.median(times), searches, result


def run(args: argparse.Namespace) -> None:
    print_machine()
    now = time.time()
    with tempfile.TemporaryDirectory(prefix="sspm-notifier-bench-") as folder:
        slapd = BenchSlapd(Path(folder) / "slapd", args.accounts, now, args.index)
        redis_server = LocalRedis(Path(folder) / "redis")
        try:
            started = time.perf_counter()
            info = slapd.start(timeout=120)
            print(f"slapd with {args.accounts} bench accounts ready in "
                  f"{time.perf_counter() - started:.1f} s (index on change times: {args.index})")
            redis_info = redis_server.start()
            report(info, redis_info.url, args, now)
        finally:
            redis_server.stop()
            slapd.stop()
    print_load("at end")


def report(info: Any, redis_url: str, args: argparse.Namespace, now: float) -> None:
    settings: DomainSettings = domain_settings(info, pool_size=2, operation_timeout=60.0)
    directory = LdapDirectory(settings)
    client = redis.Redis.from_url(redis_url)
    counter = SearchCounter()
    clock = ManualClock(now)
    notifier = Notifier(
        NotifierSettings(quiet_start="00:00", quiet_end="00:00"), {"DEFAULT": directory},
        RedisAlerts(client, Sealer(b"bench-secret-key-0123456789"), "bench:"),
        Outbound(Catalogue.load(), _NoCounters(), OutboundSettings()), MemoryAudit(), clock)
    rows = []
    with counter.installed():
        directory.ping()
        rows.append(("baseline 1: search by uid", *measure(
            counter, lambda: directory.find_account("u00042"), args.runs)))
        rows.append(("baseline 2: DNs of all accounts", *measure(
            counter, lambda: _all_dns(directory), args.runs)))
        rows.append(("lock search (last 2 min)", *measure(
            counter, lambda: locked_since(directory, now - 120), args.runs)))
        rows.append(("expiry search (next 14 days)", *measure(
            counter, lambda: expiring_within(directory, now, 14 * DAY), args.runs)))
        rows.append(("whole first pass", *measure(counter, notifier.run_pass, 1)))
        clock.advance(3601)
        rows.append(("steady pass, 1 h later", *measure(counter, notifier.run_pass, 1)))
    base = rows[1][1]
    print(f"\n{'what':34} {'ms':>9} {'searches':>9} {'found':>7} {'x baseline 2':>13}")
    for name, ms, searches, result in rows:
        found = len(result) if isinstance(result, list) else getattr(result, "found", 1)
        print(f"{name:34} {ms:9.1f} {searches:9d} {found:7d} {ms / base:13.2f}")
    directory.close()
    client.close()


def _all_dns(directory: LdapDirectory) -> list[dict[str, Any]]:
    from directory.lock_events import paged

    return paged(directory, "bench", "(objectClass=inetOrgPerson)", ["1.1"])


class _NoCounters:
    """Nothing is sent in the bench (nobody is enrolled); caps are never asked."""

    def count(self, key: str) -> int:
        return 0

    def increment(self, key: str, window_seconds: int) -> int:
        return 1

    def block(self, key: str, seconds: int) -> None: ...

    def blocked(self, key: str) -> bool:
        return False

    def clear(self, key: str) -> None: ...


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--index", action="store_true")
    run(parser.parse_args())


if __name__ == "__main__":
    main()

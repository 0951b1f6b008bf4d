"""Enrolment coverage over a large directory (issue 16): how long the reports page's coverage
takes for N people, against the floor of one paged search returning only DNs.

Starts a throwaway slapd (``bot.local_stack``), adds N people under ``ou=people`` (every
second one with an enrolment record), then times ``directory.coverage.coverage`` (two paged
searches: everyone's login and name, then the enrolled DNs) against one paged search of the
same people asking no attribute (``1.1``), the least any coverage needs, in the same run.

Run: ``.venv/bin/python bench/report_coverage_bench.py [--people 10000] [--samples 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from ldap3 import Connection, Server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import local_stack, print_load, print_machine, timed

from bot.local_stack.seed import PEOPLE_DN
from config import settings_from_dict
from directory import LdapDirectory
from directory.coverage import PAGE_SIZE, coverage


def add_people(url: str, admin_dn: str, password: str, count: int) -> None:
    connection = Connection(Server(url), admin_dn, password, auto_bind=True)
    try:
        for n in range(count):
            attributes = {"objectClass": ["inetOrgPerson"], "uid": f"bench{n:06d}",
                          "cn": f"Bench Person {n}", "sn": "Person",
                          "employeeNumber": str(900000 + n)}
            if n % 2 == 0:
                attributes["objectClass"] = ["inetOrgPerson", "sspmEnrolled"]
                attributes["sspmEnrolment"] = '{"v":1}'
            connection.add(f"uid=bench{n:06d},{PEOPLE_DN}", attributes=attributes)
            if connection.result["result"] != 0:
                raise SystemExit(f"add failed: {connection.result}")
    finally:
        connection.unbind()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    print_machine()
    with local_stack() as (slapd, _redis):
        start = time.perf_counter()
        add_people(slapd.url, slapd.admin_dn, slapd.admin_password, args.people)
        print(f"Added {args.people} people in {time.perf_counter() - start:.1f} s")
        settings = settings_from_dict({
            "secret_key": "bench-secret-key-0123456789", "domains": {"DEFAULT": {
                "url": slapd.url, "base_dn": slapd.base_dn, "bind_dn": slapd.service_dn,
                "bind_password": slapd.service_password, "users_dn": PEOPLE_DN}}})
        directory = LdapDirectory(settings.domains[0])
        try:
            found = coverage(directory)
            print(f"Coverage: {found.enrolled} enrolled of {found.people} people "
                  f"({len(found.not_enrolled)} listed as not enrolled)")

            def floor() -> None:
                def read(connection: Connection) -> int:
                    entries = connection.extend.standard.paged_search(
                        settings.domains[0].search_base, "(objectClass=inetOrgPerson)",
                        attributes=["1.1"], paged_size=PAGE_SIZE, generator=True)
                    return sum(1 for _ in entries)
                directory.pool.run("floor", read)

            floor_ms = [t * 1000 for t in timed(floor, args.samples)]
            coverage_ms = [t * 1000 for t in timed(lambda: coverage(directory), args.samples)]
        finally:
            directory.close()
    pages = 2 * -(-found.people // PAGE_SIZE)
    f, c = statistics.median(floor_ms), statistics.median(coverage_ms)
    print(f"\n| measure ({args.samples} samples) | median ms | min ms |")
    print("| --- | ---: | ---: |")
    print(f"| floor: one paged search, DNs only | {f:.0f} | {min(floor_ms):.0f} |")
    print(f"| coverage (login + name, then enrolled DNs) | {c:.0f} | {min(coverage_ms):.0f} |")
    print(f"\nLDAP: 2 searches, {pages} pages of {PAGE_SIZE}; coverage / floor = {c / f:.1f}x")
    print_load("at end")


if __name__ == "__main__":
    main()

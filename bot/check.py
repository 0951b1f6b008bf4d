"""``sspm check``: can this configuration reach everything it needs?

One line per check, ``ok``, ``WARN`` or ``FAILED`` with what to fix; exit code 0 only when
none failed (a warning is advice: it names a risk the check cannot settle or that is allowed).
Beyond reaching each server, a directory's check tries every right the service account needs
(``bot.check_openldap``, ``bot.check_ad``) and compares the product's own password guesses
with the directory's lockout threshold (issue 12).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import redis

from bot.check_ad import STALE_CREDENTIAL_ADVICE, ad_rights
from bot.check_openldap import RightsReport, openldap_rights
from bot.redis_connection import (
    SentinelRedis,
    SentinelView,
    redis_client,
    sentinel_report,
    sentinel_views,
)
from config.settings import DialogSettings, DomainSettings, Settings
from dialogs.directory_port import DirectoryError
from directory import LdapDirectory
from directory.coverage import paged_limit
from directory.protected_groups import ProtectedGroups


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # ok, with advice: does not change the exit code


def check_domain(domain: DomainSettings) -> CheckResult:
    name = f"directory {domain.name} ({domain.shown_urls}, {domain.dialect})"
    directory = LdapDirectory(domain)
    try:
        directory.ping()
        unreadable = protected_group_problem(directory)
    except DirectoryError as exc:
        return CheckResult(name, False, f"{exc}; check the URL, that the server runs, and "
                           f"the service account ({domain.bind_dn}) and its password")
    finally:
        directory.close()
    if unreadable:
        return CheckResult(name, False, unreadable)
    return CheckResult(name, True, f"service account {domain.bind_dn} binds and searches")


def check_directory(domain: DomainSettings,
                    dialog: DialogSettings | None = None) -> list[CheckResult]:
    """Reaching the directory; then every right, the lockout budget and (AD) advice."""
    servers = check_servers(domain)
    reached = check_domain(domain)
    if not reached.ok:
        return [*servers, reached]
    results = [*servers, reached]
    directory = LdapDirectory(domain)
    try:
        report = (ad_rights if domain.dialect == "ad" else openldap_rights)(directory)
        results.append(rights_result(domain, report))
        results += lockout_budget(domain, report, dialog or DialogSettings())
        results.append(paged_search_result(domain, paged_limit(directory)))
    except DirectoryError as exc:
        results.append(CheckResult(f"rights {domain.name}", False, f"{exc}"))
    finally:
        directory.close()
    if domain.dialect == "ad":
        results.append(CheckResult(f"old passwords {domain.name}", True, STALE_CREDENTIAL_ADVICE,
                                   warning=True))
    return results


def paged_search_result(domain: DomainSettings, cut_at: int | None) -> CheckResult:
    """The reports' coverage pages through every person (issue 16): a size limit that stops
    a paged search would make it count too few people, silently."""
    name = f"paged search {domain.name}"
    if cut_at is None:
        return CheckResult(name, True, "the service account pages through every person")
    return CheckResult(name, False, (
        f"the directory stops the service account's paged searches after {cut_at} entries: "
        "the reports would count too few people; give it an unlimited total for paged "
        f'searches (slapd: limits dn.exact="{domain.bind_dn}" size.prtotal=unlimited; '
        "see README, OpenLDAP)"))


def check_servers(domain: DomainSettings) -> list[CheckResult]:
    """With several servers, each one: does it answer, and does it take reads, writes or both
    (issue 14)? A silent one is a warning while another of its role answers."""
    directory = LdapDirectory(domain)
    try:
        if len(directory.pool.urls) < 2:
            return []
        servers = directory.pool.probe(timeout=domain.connect_timeout)
    finally:
        directory.close()
    serving = {role for s in servers if s.answered for role in ("reads", "writes")
               if getattr(s, role)}
    results = []
    for server in servers:
        name = f"directory {domain.name} server {server.url} ({server.role})"
        if server.answered:
            results.append(CheckResult(name, True, "the service account binds and searches"))
            continue
        unserved = [role for role in ("reads", "writes")
                    if getattr(server, role) and role not in serving]
        detail = f"does not answer ({server.problem})"
        if unserved:
            results.append(CheckResult(name, False, f"{detail}, and no other server takes "
                                       f"{' or '.join(unserved)}; check that it runs"))
        else:
            results.append(CheckResult(name, True, f"{detail}; the other servers serve, each "
                                       f"turn skips it for {domain.dead_server_seconds:g} s "
                                       "after a failure", warning=True))
    return results


def rights_result(domain: DomainSettings, report: RightsReport) -> CheckResult:
    name = f"rights {domain.name}"
    where = f" (tried on {report.sample.dn})" if report.sample else ""
    if report.missing:
        return CheckResult(name, False, f"the service account {domain.bind_dn} lacks: "
                           + "; ".join(report.missing) + where)
    if report.unsure:
        return CheckResult(name, True, "could not tell: " + "; ".join(report.unsure),
                           warning=True)
    return CheckResult(name, True, "the service account reads and writes everything the "
                       f"product uses{where}")


def lockout_budget(domain: DomainSettings, report: RightsReport,
                   dialog: DialogSettings) -> list[CheckResult]:
    """The product's own password guesses stay below the directory's lockout threshold
    (``dialogs.password_guesses``): at a threshold of 1 nobody may try a password at all."""
    if report.sample is None:
        return []
    threshold = report.sample.lockout_threshold
    if threshold <= 0:
        return []
    budget = min(dialog.bind_failure_limit, threshold - 1)
    if budget <= 0:
        return [CheckResult(f"lockout budget {domain.name}", True,
                            f"the directory locks an account at its first wrong password "
                            f"(threshold {threshold}): the product allows no password guess, "
                            "so change password and enrolment refuse everyone", warning=True)]
    return []


def protected_group_problem(directory: LdapDirectory) -> str:
    """Why the protected groups cannot be trusted (then every account counts as protected)."""
    groups = ProtectedGroups(directory.settings.protected_groups, directory.pool,
                             directory.dialect.group_member_filter,
                             nested=directory.dialect.name != "ad")
    expansion = groups.expand()
    if expansion.missing:
        return (f"protected group(s) {', '.join(expansion.missing)} cannot be read by the "
                "service account: every account is treated as protected until fixed")
    if expansion.cut:
        return (f"protected groups cannot be expanded ({expansion.cut}): every account is "
                "treated as protected until fixed")
    return ""


def check_redis(settings: Settings) -> list[CheckResult]:
    """Redis answers and takes a write; under Sentinel, each sentinel answers first and they
    agree on a master (issue 14). Nothing printed carries a password."""
    target = settings.redis.target
    client = redis_client(settings.redis)
    try:
        results = _sentinel_results(client) if isinstance(client, SentinelRedis) else []
        return [*results, _writable(client, target.shown(), settings.redis.key_prefix)]
    finally:
        client.close()


def _sentinel_results(client: SentinelRedis) -> list[CheckResult]:
    views = sentinel_views(client)
    results = [_sentinel_result(view, client.service_name) for view in views]
    report = sentinel_report(views)
    if report.degraded:
        results.append(CheckResult(f"sentinels of {client.service_name!r}", True,
                                   "; ".join(report.degraded), warning=True))
    return results


def _sentinel_result(view: SentinelView, service: str) -> CheckResult:
    if view.answered:
        return CheckResult(f"sentinel {view.address}", True,
                           f"names {view.master} as master of {service!r}")
    return CheckResult(f"sentinel {view.address}", False,
                       f"{view.problem}; check the sentinel addresses, the service name "
                       f"({service!r}), the sentinel password, and that it runs")


def _writable(client: redis.Redis, shown: str, prefix: str) -> CheckResult:
    name = f"redis ({shown})"
    try:
        client.ping()
        client.set(prefix + "check", "1", ex=10)  # a replica (or a read-only user) refuses
    except redis.RedisError as exc:
        return CheckResult(name, False, f"{type(exc).__name__}; check SSPM_REDIS_URL (or "
                           "[redis.sentinel]), the password, and that Redis runs")
    return CheckResult(name, True, "answers PING and takes a write")


def run_checks(settings: Settings) -> list[CheckResult]:
    checks: list[Callable[[], list[CheckResult]]] = [
        *(lambda d=d: check_directory(d, settings.dialog) for d in settings.domains),
        lambda: check_redis(settings),
    ]
    return [result for check in checks for result in check()]


def print_results(results: list[CheckResult], out: TextIO) -> int:
    for result in results:
        status = "FAILED" if not result.ok else "WARN  " if result.warning else "ok    "
        out.write(f"{status} {result.name}: {result.detail}\n")
    return 0 if all(r.ok for r in results) else 1

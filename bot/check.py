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
from config.settings import DialogSettings, DomainSettings, Settings
from dialogs.directory_port import DirectoryError
from directory import LdapDirectory
from directory.protected_groups import ProtectedGroups


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # ok, with advice: does not change the exit code


def check_domain(domain: DomainSettings) -> CheckResult:
    name = f"directory {domain.name} ({domain.url}, {domain.dialect})"
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
    reached = check_domain(domain)
    if not reached.ok:
        return [reached]
    results = [reached]
    directory = LdapDirectory(domain)
    try:
        report = (ad_rights if domain.dialect == "ad" else openldap_rights)(directory)
        results.append(rights_result(domain, report))
        results += lockout_budget(domain, report, dialog or DialogSettings())
    except DirectoryError as exc:
        results.append(CheckResult(f"rights {domain.name}", False, f"{exc}"))
    finally:
        directory.close()
    if domain.dialect == "ad":
        results.append(CheckResult(f"old passwords {domain.name}", True, STALE_CREDENTIAL_ADVICE,
                                   warning=True))
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


def check_redis(settings: Settings) -> CheckResult:
    url = settings.redis.url.reveal()
    shown = url.split("@")[-1]  # never print a password embedded in the URL
    client = redis.Redis.from_url(url, socket_timeout=settings.redis.socket_timeout,
                                  socket_connect_timeout=settings.redis.socket_timeout)
    try:
        client.ping()
    except redis.RedisError as exc:
        return CheckResult(f"redis ({shown})", False,
                           f"{type(exc).__name__}; check SSPM_REDIS_URL and that Redis runs")
    finally:
        client.close()
    return CheckResult(f"redis ({shown})", True, "answers PING")


def run_checks(settings: Settings) -> list[CheckResult]:
    checks: list[Callable[[], list[CheckResult]]] = [
        *(lambda d=d: check_directory(d, settings.dialog) for d in settings.domains),
        lambda: [check_redis(settings)],
    ]
    return [result for check in checks for result in check()]


def print_results(results: list[CheckResult], out: TextIO) -> int:
    for result in results:
        status = "FAILED" if not result.ok else "WARN  " if result.warning else "ok    "
        out.write(f"{status} {result.name}: {result.detail}\n")
    return 0 if all(r.ok for r in results) else 1

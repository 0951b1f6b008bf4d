"""``sspm check``: can this configuration reach everything it needs?

One line per check, ``ok`` or ``FAILED`` with what to fix; exit code 0 only when all pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

import redis

from config.settings import DomainSettings, Settings
from dialogs.directory_port import DirectoryError
from directory import LdapDirectory
from directory.protected_groups import ProtectedGroups


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


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
    checks: list[Callable[[], CheckResult]] = [
        *(lambda d=d: check_domain(d) for d in settings.domains),
        lambda: check_redis(settings),
    ]
    return [check() for check in checks]


def print_results(results: list[CheckResult], out: TextIO) -> int:
    for result in results:
        status = "ok    " if result.ok else "FAILED"
        out.write(f"{status} {result.name}: {result.detail}\n")
    return 0 if all(r.ok for r in results) else 1

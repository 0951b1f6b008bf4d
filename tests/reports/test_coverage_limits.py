"""Coverage on a directory whose size limit cuts paged searches short: never a silently wrong
ratio (issue 16). ``sspm check`` names the limit; the page and ``sspm report`` say the
figures are too low; with the README's limit line the count is whole."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from ldap3 import Connection, Server

from bot.check import check_directory
from bot.local_stack import LocalSlapd, SlapdInfo
from bot.local_stack.seed import DEMO_USERS, PEOPLE_DN
from bot.report_command import run_report
from config import settings_from_dict
from directory import LdapDirectory
from directory.coverage import coverage
from tests.engine.conftest import settings_data

EXTRA = 520  # with the demo people, more than slapd's default size limit of 500


def add_people(info: SlapdInfo, count: int) -> None:
    connection = Connection(Server(info.url), info.admin_dn, info.admin_password, auto_bind=True)
    try:
        for n in range(count):
            connection.add(f"uid=many{n:04d},{PEOPLE_DN}", attributes={
                "objectClass": ["inetOrgPerson"], "uid": f"many{n:04d}", "cn": f"Many {n}",
                "sn": "Many"})
            assert connection.result["result"] == 0, connection.result
    finally:
        connection.unbind()


@pytest.fixture(scope="module")
def limited() -> Iterator[tuple[LocalSlapd, SlapdInfo]]:
    with tempfile.TemporaryDirectory(prefix="sspm-limits-") as folder:
        server = LocalSlapd(Path(folder) / "slapd")
        info = server.start()
        try:
            add_people(info, EXTRA)
            server.stop()
            config = server.workdir / "slapd.conf"
            lines = config.read_text().splitlines(keepends=True)
            config.write_text("".join(line for line in lines
                                      if not line.startswith("limits ")))
            server.start()
            yield server, info
        finally:
            server.stop()


def domain_settings(info: SlapdInfo) -> object:
    return settings_from_dict(settings_data(info, "redis://127.0.0.1:1/0"))


def test_a_cut_short_search_is_named_by_check_and_shown_as_incomplete(
        limited: tuple[LocalSlapd, SlapdInfo]) -> None:
    _, info = limited
    settings = settings_from_dict(settings_data(info, "redis://127.0.0.1:1/0"))
    domain = settings.domains[0]
    results = {r.name: r for r in check_directory(domain)}
    paged = results["paged search DEFAULT"]
    assert not paged.ok and "500 entries" in paged.detail and "size.prtotal" in paged.detail
    directory = LdapDirectory(domain)
    try:
        found = coverage(directory)
    finally:
        directory.close()
    assert not found.complete and found.people == 500


def test_with_the_readme_limit_the_count_is_whole(slapd: SlapdInfo) -> None:
    add_people(slapd, EXTRA)
    settings = settings_from_dict(settings_data(slapd, "redis://127.0.0.1:1/0"))
    domain = settings.domains[0]
    results = {r.name: r for r in check_directory(domain)}
    assert results["paged search DEFAULT"].ok
    directory = LdapDirectory(domain)
    try:
        found = coverage(directory)
    finally:
        directory.close()
    assert found.complete and found.people == len(DEMO_USERS) + EXTRA
    assert len(found.not_enrolled) == found.people - found.enrolled


def test_sspm_report_says_when_coverage_is_too_low(
        limited: tuple[LocalSlapd, SlapdInfo], redis_server: object) -> None:
    _, info = limited
    from bot.local_stack import LocalRedis

    assert isinstance(redis_server, LocalRedis)
    settings = settings_from_dict(settings_data(info, redis_server.info.url))
    out = io.StringIO()
    assert run_report(settings, days=7, as_csv=False, not_enrolled=False, out=out) == 0
    assert "stopped the search after 500 people" in out.getvalue()

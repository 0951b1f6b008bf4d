"""Enrolment coverage (issue 16) on a real Samba AD DC: the seeded people and the enrolled ones
counted through paged searches as the delegated service account, past AD's MaxPageSize of
1,000, and shown on the reports page beside an OpenLDAP domain.

The one Samba is shared by the session: each test adds fresh people and removes them.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator

import pytest

import directory.coverage as coverage_module
from bot.local_stack import LocalRedis, SlapdInfo
from bot.local_stack.ad_seed import AD_DEMO_USERS, STAFF_DN
from bot.local_stack.samba import SambaInfo, admin_connection
from bot.local_stack.seed import AGENTS_GROUP_DN, REPORTERS_GROUP_DN
from config import settings_from_dict
from directory import LdapDirectory
from directory.coverage import coverage, paged_limit
from tests.channels.twilio.support import AUTH_TOKEN, PUBLIC_URL, web_stack
from tests.directory.backends import SambaBackend, ad_settings
from tests.directory.conftest import samba  # noqa: F401 - the shared session fixture
from tests.engine.conftest import settings_data
from tests.helpdesk.test_console import sign_in
from tests.reports.test_reports import REPORTER

pytestmark = pytest.mark.skipif(
    shutil.which("samba-tool") is None,
    reason="needs Samba (apt-get install samba samba-ad-dc samba-dsdb-modules "
           "samba-vfs-modules winbind); CI installs it")

PASSWORD = "Copper-Lantern-Drift-31"
BULK = 1_001  # with the seeded people, past AD's MaxPageSize (1,000 entries per page)
RECORD = '{"v": 1, "questions": []}'


@pytest.fixture
def ad(samba: SambaInfo) -> Iterator[SambaBackend]:  # noqa: F811
    backend = SambaBackend(samba, LdapDirectory(ad_settings(samba)))
    try:
        yield backend
    finally:
        backend.directory.close()
        backend.remove_users()


def enrol(backend: SambaBackend, login: str) -> None:
    account = backend.directory.find_account(login)
    assert account is not None, login
    backend.directory.write_enrolment(account, RECORD)


def test_coverage_on_ad_counts_the_seeded_people_and_the_enrolled_ones(
        ad: SambaBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    enrolled = [ad.new_user(PASSWORD), ad.new_user(PASSWORD)]
    for login in enrolled:
        enrol(ad, login)
    waiting = ad.new_user(PASSWORD)
    found = coverage(ad.directory, (STAFF_DN,))
    assert found.complete and found.domain == "PARTNERS"
    assert found.people == len(AD_DEMO_USERS) + 3 and found.enrolled == 2
    missing = {p.login for p in found.not_enrolled}
    assert missing == {u.name for u in AD_DEMO_USERS} | {waiting}
    assert next(p for p in found.not_enrolled if p.login == "alice").name == "Alice Martin"
    assert found.by_ou == ((STAFF_DN, len(AD_DEMO_USERS) + 3, 2),)
    # Out of the people's OU: the Administrator, the service account, the DC's own account.
    assert not missing & {"Administrator", "svc-sspm", "DC1$"}
    # Pages of two people: the cookie is followed to the end, the same figures come back.
    monkeypatch.setattr(coverage_module, "PAGE_SIZE", 2)
    assert coverage(ad.directory, (STAFF_DN,)) == found
    assert paged_limit(ad.directory) is None


@pytest.fixture
def many_people(samba: SambaInfo) -> Iterator[str]:  # noqa: F811
    """``BULK`` disabled people in their own OU (no password: about 5 s in all on Samba)."""
    ou = f"OU=Bulk,{STAFF_DN}"
    with admin_connection(samba.url, samba.admin_dn, samba.admin_password) as admin:
        assert admin.add(ou, "organizationalUnit"), admin.result
        try:
            for n in range(BULK):
                assert admin.add(f"CN=bulk{n:04d},{ou}", ["top", "person",
                                                          "organizationalPerson", "user"],
                                 {"sAMAccountName": f"bulk{n:04d}",
                                  "userAccountControl": "514"}), admin.result
            yield ou
        finally:
            admin.delete(ou, controls=[("1.2.840.113556.1.4.805", True, None)])  # tree delete


@pytest.mark.slow
def test_coverage_on_ad_is_whole_past_max_page_size(ad: SambaBackend, many_people: str) -> None:
    enrol(ad, ad.new_user(PASSWORD))
    found = coverage(ad.directory, (many_people,))
    assert found.complete
    assert found.people == len(AD_DEMO_USERS) + BULK + 1 and found.enrolled == 1
    assert len(found.not_enrolled) == found.people - 1
    assert found.by_ou == ((many_people, BULK, 0),)
    assert paged_limit(ad.directory) is None  # sspm check: no limit cut the paged search


def test_the_reports_page_shows_ad_coverage_beside_openldap(
        ad: SambaBackend, slapd: SlapdInfo, redis_server: LocalRedis,
        redis_client: object, samba: SambaInfo) -> None:  # noqa: F811
    enrol(ad, ad.new_user(PASSWORD))
    waiting = ad.new_user(PASSWORD)
    raw = settings_data(slapd, redis_server.info.url)
    raw["helpdesk"].update(agents_group=AGENTS_GROUP_DN, reporters_group=REPORTERS_GROUP_DN,
                           agents_domain="DEFAULT")
    raw.update(public_url=PUBLIC_URL, twilio={"auth_token": AUTH_TOKEN,
                                              "account_sid": "AC" + "0" * 32,
                                              "from_number": "+15550009999"})
    raw["domains"]["PARTNERS"] = {
        "url": samba.url, "dialect": "ad", "base_dn": samba.base_dn,
        "bind_dn": samba.service_dn, "bind_password": samba.service_password,
        "users_dn": samba.users_dn, "user_object_class": "user",
        "protected_groups": [samba.protected_group], "tls_validate": False,
        "connect_timeout": 3.0, "operation_timeout": 5.0,
        "attributes": {"username": "sAMAccountName", "display_name": "displayName",
                       "enrolment": "sspmEnrolment"}}
    with web_stack(settings_from_dict(raw)) as stack:
        client = stack.client()
        assert sign_in(client, *REPORTER).startswith("/helpdesk/")  # a reporter, on slapd
        page = client.get("/helpdesk/reports")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        rows = {domain: (int(people), int(enrolled)) for domain, people, enrolled in re.findall(
            r'<tr class="coverage-row"><td>([^<]+)</td><td class="people">(\d+)</td>'
            r'<td class="enrolled">(\d+)</td>', html)}
        assert rows["PARTNERS"] == (len(AD_DEMO_USERS) + 2, 1), rows
        assert "DEFAULT" in rows and "coverage-incomplete" not in html
        assert f'<td>PARTNERS</td><td class="login">{waiting}</td>' in html
        csv_text = client.get("/helpdesk/reports/not-enrolled.csv").get_data(as_text=True)
        assert f"PARTNERS,{waiting}," in csv_text and "PARTNERS,bob,Bob Tremblay," in csv_text

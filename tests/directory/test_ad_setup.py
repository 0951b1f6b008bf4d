"""``sspm ad-setup`` gives commands that work, and ``sspm check`` verifies them (issue 12).

On the shared throwaway Samba AD DC: a new OU, a new service account with no rights, one
person. ``sspm check`` names every missing right; the Samba script that ``sspm ad-setup``
prints is run as an administrator would run it; ``sspm check`` then passes, and warns that the
old password's grace period cannot be read over LDAP.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bot.check import check_directory
from bot.local_stack.ad_seed import SERVICES_DN, AdDemoUser, add_user, unicode_pwd
from bot.local_stack.samba import SambaInfo, admin_connection
from config.secret import Secret
from config.settings import DomainSettings
from tests.directory.backends import ad_settings, unique_name

PASSWORD = "Setup-Service-Secret-2024"


@dataclass(frozen=True)
class FreshOu:
    settings: DomainSettings
    service_name: str
    ou: str


@pytest.fixture
def fresh_ou(samba: SambaInfo) -> Iterator[FreshOu]:
    name = unique_name("setup")
    ou, service = f"OU={name},{samba.base_dn}", f"svc-{name}"
    service_dn = f"CN={service},{SERVICES_DN}"
    admin = admin_connection(samba.url, samba.admin_dn, samba.admin_password)
    try:
        assert admin.add(ou, "organizationalUnit"), admin.result
        assert admin.add(service_dn, ["top", "person", "organizationalPerson", "user"], {
            "sAMAccountName": service, "unicodePwd": unicode_pwd(PASSWORD),
            "userAccountControl": "512"}), admin.result
        person = add_user(admin, AdDemoUser(f"p{name}"[:20], "Person-Secret-2024-x", "Pat",
                                            "Setup", "77001", "+15550007001", "test"), ou)
        yield FreshOu(ad_settings(samba, bind_dn=service_dn, bind_password=Secret(PASSWORD),
                                  users_dn=ou), service, ou)
    finally:
        for dn in (locals().get("person"), service_dn, ou):
            if dn:
                admin.delete(dn)
        admin.unbind()


def lines(settings: DomainSettings) -> dict[str, str]:
    return {r.name.split()[0]: ("FAILED " if not r.ok else "WARN " if r.warning else "ok ")
            + r.detail for r in check_directory(settings)}


def test_check_names_each_right_a_fresh_service_account_lacks(fresh_ou: FreshOu) -> None:
    found = lines(fresh_ou.settings)
    assert found["directory"].startswith("ok ")
    rights = found["rights"]
    assert rights.startswith("FAILED ")
    for named in ("write on lockoutTime", "write on pwdLastSet", "write on sspmEnrolment",
                  "Reset Password", "control access on sspmEnrolment"):
        assert named in rights, rights
    assert "schema" not in rights  # the attribute is there


def test_the_printed_samba_script_grants_what_check_verifies(fresh_ou: FreshOu,
                                                             samba: SambaInfo) -> None:
    options = (f"-s {samba.workdir / 'etc' / 'smb.conf'} "
               f"-H {samba.workdir / 'private' / 'sam.ldb'}")
    script = subprocess.run(
        [sys.executable, "-m", "bot.cli", "ad-setup", "--samba-script",
         "--people-ou", fresh_ou.ou, "--forest-root", samba.base_dn,
         "--service-account", fresh_ou.service_name, "--samba-options", options],
        capture_output=True, text=True, check=True, timeout=60).stdout
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found = lines(fresh_ou.settings)
    assert found["rights"].startswith("ok "), found["rights"]
    assert found["old"].startswith("WARN ") and "old password allowed period" in found["old"]


def test_check_names_a_missing_schema_attribute(samba: SambaInfo) -> None:
    from config.settings import AttributeNames

    settings = ad_settings(samba, attributes=AttributeNames(
        username="sAMAccountName", display_name="displayName", enrolment="sspmNeverImported"))
    rights = lines(settings)["rights"]
    assert rights.startswith("FAILED ") and "schema: no attribute sspmNeverImported" in rights

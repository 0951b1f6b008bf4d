"""``sspm check`` names every right the service account lacks, before a person meets the gap.

Issue 12: the README's OpenLDAP rights lacked ``write`` on ``objectClass``, and every first
enrolment ended with "The service is not available right now". Each test starts a throwaway
slapd whose access rules take one right away and runs the check against it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ldap3 import BASE, Connection, Server

from bot.check import check_directory, lockout_budget, print_results
from bot.check_openldap import RightsReport
from bot.local_stack import LocalSlapd, SlapdInfo
from bot.local_stack.seed import DEMO_USERS, PROTECTED_GROUP_DN, SERVICE_DN
from config.settings import DialogSettings
from dialogs.directory_port import Account
from tests.conftest import domain_settings

SERVICE = f'dn.exact="{SERVICE_DN}"'
POLICY = "cn=default,ou=policies,dc=example,dc=test"
StartSlapd = Callable[[str], SlapdInfo]


def readme_acl(*, written: str = "pwdReset,pwdAccountLockedTime,objectClass",
               hidden: str = "") -> str:
    """The ACL README.md tells an administrator to add (read from README.md itself), then a
    site's own last rule; ``written`` replaces the third rule's attributes, and ``hidden``
    (an ``access to`` target) is made unreadable by the service account."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### OpenLDAP"):]
    block = section[section.index("```\n") + 4:]
    acl = block[:block.index("```")].replace(
        "attrs=pwdReset,pwdAccountLockedTime,objectClass", f"attrs={written}")
    hide = f"access to {hidden}\n  by self read\n  by * none\n" if hidden else ""
    return f"{hide}{acl}access to *\n  by self read\n  by * none"


@pytest.fixture
def start_slapd(tmp_path: Path) -> Iterator[StartSlapd]:
    servers: list[LocalSlapd] = []

    def start(acl: str) -> SlapdInfo:
        server = LocalSlapd(tmp_path / f"slapd{len(servers)}", acl=acl)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


def rights_line(info: SlapdInfo) -> str:
    results = check_directory(domain_settings(info, protected_groups=(PROTECTED_GROUP_DN,)))
    assert results[0].ok, results[0].detail  # the bind and the search still work
    (rights,) = [r for r in results if r.name.startswith("rights")]
    return ("ok " if rights.ok else "FAILED ") + rights.detail


def test_check_passes_with_the_rights_the_readme_gives(start_slapd: StartSlapd) -> None:
    line = rights_line(start_slapd(readme_acl()))
    assert line.startswith("ok "), line


def test_check_names_the_missing_write_on_object_class(start_slapd: StartSlapd) -> None:
    # Exactly the ACL the README gave before issue 12.
    line = rights_line(start_slapd(readme_acl(written="pwdReset,pwdAccountLockedTime")))
    assert line.startswith("FAILED ") and "write on objectClass" in line, line
    assert "sspmEnrolled" in line  # says what it is for
    for fine in ("userPassword", "pwdReset", "sspmEnrolment", "entryUUID"):
        assert fine not in line


@pytest.mark.parametrize("lost", ["userPassword", "pwdReset", "pwdAccountLockedTime",
                                  "sspmEnrolment"])
def test_check_names_each_missing_write(start_slapd: StartSlapd, lost: str) -> None:
    if lost == "userPassword":
        acl = readme_acl().replace(f"{SERVICE} write\n  by self write", f"{SERVICE} read\n"
                                   "  by self write", 1)
    else:
        kept = [a for a in ("pwdReset", "pwdAccountLockedTime", "objectClass") if a != lost]
        acl = readme_acl(written=",".join(kept))
        if lost == "sspmEnrolment":
            acl = acl.replace("attrs=sspmEnrolment\n  by " + SERVICE + " write",
                              "attrs=sspmEnrolment\n  by " + SERVICE + " read")
    line = rights_line(start_slapd(acl))
    assert line.startswith("FAILED ") and f"write on {lost}" in line, line


@pytest.mark.parametrize(("hidden", "named"), [
    ("attrs=entryUUID", "read on entryUUID"),
    ("attrs=pwdFailureTime", "read on pwdFailureTime"),
    ("attrs=pwdPolicySubentry", "read on pwdPolicySubentry"),
    ("attrs=pwdMaxFailure", "read on pwdMaxFailure"),
    (f'dn.base="{POLICY}"', f"password policy entry {POLICY}"),
    (f'dn.base="{PROTECTED_GROUP_DN}" attrs=member', "read on member"),
])
def test_check_names_each_missing_read(start_slapd: StartSlapd, hidden: str,
                                       named: str) -> None:
    line = rights_line(start_slapd(readme_acl(hidden=hidden)))
    assert line.startswith("FAILED ") and named in line, line


def entry_state(info: SlapdInfo, dn: str) -> dict[str, object]:
    connection = Connection(Server(info.url), info.admin_dn, info.admin_password,
                            auto_bind=True)
    connection.search(dn, "(objectClass=*)", search_scope=BASE, attributes=["*", "+"])
    state = dict(connection.response[0]["raw_attributes"])
    connection.unbind()
    return state


def test_the_check_changes_nothing(start_slapd: StartSlapd) -> None:
    info = start_slapd(readme_acl())
    dns = [u.dn for u in DEMO_USERS] + [POLICY, PROTECTED_GROUP_DN]
    before = {dn: entry_state(info, dn) for dn in dns}
    rights_line(info)
    assert {dn: entry_state(info, dn) for dn in dns} == before  # entryCSN included


def account(threshold: int) -> Account:
    return Account(dn="uid=x", username="x", domain="DEFAULT", uid="u",
                   lockout_threshold=threshold)


@pytest.mark.parametrize(("threshold", "warned"), [(1, True), (2, False), (3, False),
                                                   (0, False)])
def test_check_warns_when_no_password_guess_is_left(slapd: SlapdInfo, threshold: int,
                                                    warned: bool) -> None:
    report = RightsReport(account(threshold), POLICY, ())
    results = lockout_budget(domain_settings(slapd), report, DialogSettings())
    assert bool(results) == warned
    assert all(r.ok and r.warning and "threshold 1" in r.detail for r in results)


def test_warnings_do_not_fail_the_check(slapd: SlapdInfo) -> None:
    import io

    report = RightsReport(account(1), POLICY, ())
    out = io.StringIO()
    assert print_results(lockout_budget(domain_settings(slapd), report,
                                        DialogSettings()), out) == 0
    assert out.getvalue().startswith("WARN ")

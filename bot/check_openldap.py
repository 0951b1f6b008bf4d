"""``sspm check`` on OpenLDAP: does the service account hold every right the product uses?

Issue 12: an administrator who followed the README gave ``write`` on four attributes but not on
``objectClass``, and every first enrolment then failed at its last step. So the check tries
each right the product uses, on a real account and on the password policy entry, and names
the one that is missing before any person meets the gap.

How a right is tried without changing anything (verified on slapd 2.5, see
``tests/bot/test_check_rights.py``):

- **read**: the attribute is asked for in a search; where no value comes back (absent, or
  not readable), a *compare* tells the two apart: slapd checks the ``compare`` right before it
  looks for the attribute, so it answers insufficientAccess (50) for an unreadable one and
  noSuchAttribute (16), compareTrue or compareFalse for a readable one.
- **write** (slapd's ``write`` is ``add`` plus ``delete``): a modify that *deletes a value the
  entry does not have* (probes ``delete``), and one that *adds a value the entry already has*
  (probes ``add``). slapd checks the access rules of the whole modify before it applies any of
  it: 50 when a right is missing, else 16 or 20 (attributeOrValueExists). Neither modify can
  succeed whatever the rights, and a modify is atomic (RFC 4511 4.6), so nothing is written.
  slapd 2.5 has no no-op control (``1.3.6.1.4.1.4203.1.10.2`` is refused as unrecognised), and
  the assertion control does not help (slapd tests the assertion *before* the access rules).
  ``userPassword`` is only probed with a delete: the ppolicy overlay reads an add beside a
  delete as a password change and answers 53 before the access rules are consulted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ldap3 import BASE, MODIFY_ADD, MODIFY_DELETE, SUBTREE, Connection
from ldap3.core import exceptions as ldap_exc
from ldap3.utils.conv import escape_filter_chars

from dialogs.directory_port import Account, DirectoryError
from directory import LdapDirectory
from directory.openldap import first, text

INSUFFICIENT_ACCESS = 50
NO_SUCH_OBJECT = 32
UNDEFINED_TYPE = 17
REFERRAL = 10  # a syncrepl consumer's answer to a write (its updateref)
READABLE_CODES = {5, 6, 16}  # compareFalse, compareTrue, noSuchAttribute
WRITABLE_CODES = {16, 20}  # noSuchAttribute, attributeOrValueExists
SAMPLE_SIZE = 20  # accounts looked at to find one that is not protected

# Why each written attribute is needed: the check names it beside the missing right.
WRITE_USES = {
    "userPassword": "reset a password",
    "pwdReset": "make a temporary password expire at first use",
    "pwdAccountLockedTime": "unlock an account",
    "objectClass": "add the sspmEnrolled class at a person's first enrolment",
}
POLICY_ATTRIBUTES = ("pwdLockout", "pwdMaxFailure", "pwdLockoutDuration", "pwdMaxAge")
# Assertion values with the right syntax for a compare (their truth does not matter).
_PROBE_VALUES = {
    "entryUUID": "00000000-0000-0000-0000-000000000000",
    "pwdFailureTime": "20000101000000Z", "pwdChangedTime": "20000101000000Z",
    "pwdAccountLockedTime": "20000101000000Z", "pwdReset": "FALSE", "pwdLockout": "FALSE",
    "objectClass": "top",
    "pwdMaxFailure": "0", "pwdLockoutDuration": "0", "pwdMaxAge": "0",
}
_DN_VALUED = {"pwdPolicySubentry", "member", "uniqueMember"}
_ABSENT_CANDIDATES = {
    "pwdReset": ("FALSE", "TRUE"),
    "pwdAccountLockedTime": ("20000101000000Z", "20000101000001Z"),
    "objectClass": ("device", "applicationProcess"),
}


@dataclass(frozen=True)
class RightsReport:
    """What the service account lacks, and the account and policy it was tried on."""

    sample: Account | None
    policy_dn: str
    missing: tuple[str, ...]
    unsure: tuple[str, ...] = ()


def openldap_rights(directory: LdapDirectory) -> RightsReport:
    """Try every read and write the product makes; raise ``DirectoryError`` if unreachable."""
    sample = sample_account(directory)
    if sample is None:
        return RightsReport(None, "", (f"no account (objectClass="
                                       f"{directory.settings.user_object_class}) can be read "
                                       f"under {directory.settings.search_base}",))
    # On a writable server: a replica would answer every write with a referral (issue 14).
    return directory.pool.run("check rights", lambda c: _rights(directory, c, sample),
                              writer=True)


def sample_account(directory: LdapDirectory) -> Account | None:
    """The first account under ``users_dn`` that self-service may touch (an ACL may rightly
    keep the service account away from protected ones), else the first account at all."""
    settings = directory.settings
    object_class = escape_filter_chars(settings.user_object_class)

    def logins(connection: Connection) -> list[str]:
        connection.search(settings.search_base, f"(objectClass={object_class})",
                          search_scope=SUBTREE, attributes=[settings.attributes.username],
                          paged_size=SAMPLE_SIZE)
        return [text(first(e.get("attributes", {}), settings.attributes.username))
                for e in connection.response or [] if e.get("type") == "searchResEntry"]

    fallback: Account | None = None
    for login in filter(None, directory.pool.run("sample accounts", logins)):
        account = directory.find_account(login)
        if account is not None and not account.protected:
            return account
        fallback = fallback or account
    return fallback


def _rights(directory: LdapDirectory, connection: Connection, sample: Account) -> RightsReport:
    probe = _Probe(connection)
    values = probe.values(sample.dn, ["*", "+"])
    a = directory.settings.attributes
    reads = [a.username, a.employee_number, a.mobile, a.mail, a.display_name, a.given_name,
             a.surname, a.enrolment, *directory.dialect.state_attributes, "objectClass"]
    for name in dict.fromkeys(reads):
        probe.read(sample.dn, name, values)
    uses = {**WRITE_USES, a.enrolment: "store a person's enrolment"}
    for name, use in uses.items():
        probe.write(sample.dn, name, values, use)
    settings = directory.settings
    policy_dn = (text(first(values or {}, "pwdpolicysubentry")) or settings.password_policy_dn
                 or f"cn=default,ou=policies,{settings.base_dn}")
    policy = probe.values(policy_dn, list(POLICY_ATTRIBUTES))
    if policy is None:
        probe.missing.append(f"read on the password policy entry {policy_dn} (absent or "
                             "hidden: the product would take the account for one that never "
                             "locks; set password_policy_dn if it lives elsewhere)")
    else:
        for name in POLICY_ATTRIBUTES:
            probe.read(policy_dn, name, policy)
    for group in directory.settings.protected_groups:
        # An unreadable member list looks like an empty group: nobody would be protected.
        members = probe.values(group, ["member", "uniqueMember"])
        if members is not None and not (members.get("member") or members.get("uniquemember")):
            probe.read(group, "member", members)
    return RightsReport(sample, policy_dn, tuple(probe.missing), tuple(probe.unsure))


class _Probe:
    """One connection's tries; collects what is missing (and what could not be told)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.missing: list[str] = []
        self.unsure: list[str] = []

    def values(self, dn: str, attributes: list[str]) -> dict[str, Any] | None:
        try:
            self.connection.search(dn, "(objectClass=*)", search_scope=BASE,
                                   attributes=attributes)
        except ldap_exc.LDAPNoSuchObjectResult:
            return None
        for entry in self.connection.response or []:
            if entry.get("type") == "searchResEntry":
                return {k.lower(): v for k, v in dict(entry.get("raw_attributes", {})).items()}
        return None

    def read(self, dn: str, name: str, values: dict[str, Any] | None) -> None:
        if values and values.get(name.lower()):
            return  # a value came back: readable
        # A DN-valued attribute (pwdPolicySubentry, member) is compared with the entry's own DN.
        value = dn if name in _DN_VALUED else _PROBE_VALUES.get(name, "sspm-check")
        code = self._code(lambda: self.connection.compare(dn, name, value))
        if code in READABLE_CODES:
            if code != 16:  # present, comparable, yet not returned: compare but no read
                self.missing.append(f"read on {name} of {dn}")
            return
        self._record(code, f"read on {name}", dn)

    def write(self, dn: str, name: str, values: dict[str, Any] | None, use: str) -> None:
        present = [bytes(v) for v in (values or {}).get(name.lower(), [])]
        codes = [self._code(lambda: self.connection.modify(
            dn, {name: [(MODIFY_DELETE, [_absent_value(name, present)])]}))]
        if present and name != "userPassword":  # see the module docstring
            codes.append(self._code(lambda: self.connection.modify(
                dn, {name: [(MODIFY_ADD, [_present_value(name, present)])]})))
        for code in codes:
            if code not in WRITABLE_CODES:
                self._record(code, f"write on {name} (to {use})", dn)
                return

    def _record(self, code: int, right: str, dn: str) -> None:
        if code in (INSUFFICIENT_ACCESS, NO_SUCH_OBJECT):
            self.missing.append(right)
        elif code == REFERRAL:
            self.missing.append(f"{right.split(' (')[0]}: {dn} is on a replica that refers "
                                "writes to its provider; list the provider in write_urls")
        elif code == UNDEFINED_TYPE:
            self.missing.append(f"{right.split(' (')[0]}: no such attribute in the "
                                "directory's schema (check [domains.*.attributes])")
        else:
            self.unsure.append(f"{right} on {dn} (answer {code})")

    def _code(self, operation: Any) -> int:
        try:
            operation()
        except ldap_exc.LDAPOperationResult as exc:
            return int(exc.result)
        except DirectoryError:
            raise
        return int((self.connection.result or {}).get("result", 0))


def _absent_value(name: str, present: list[bytes]) -> str:
    for candidate in _ABSENT_CANDIDATES.get(name, ()):
        if candidate.encode().lower() not in (p.lower() for p in present):
            return candidate
    return f"sspm-check-absent-{len(present)}-value"  # an enrolment is JSON, a hash has {SCHEME}


def _present_value(name: str, present: list[bytes]) -> str:
    if name == "objectClass":
        # The class the product adds, when the entry has it: a value-specific rule counts too.
        for value in present:
            if value.lower() == b"sspmenrolled":
                return "sspmEnrolled"
    return present[0].decode("utf-8", "replace")

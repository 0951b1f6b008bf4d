"""The demo Active Directory (Samba AD DC): schema, delegation, one user per interesting state.

What a real AD needs for the product is the same, done by its administrators:

1. ``ENROLMENT_SCHEMA``: one new attribute, ``sspmEnrolment``: single-valued Unicode string,
   up to 8192 characters, **confidential** (``searchFlags`` 0x80: reading it needs the
   control-access right on it, which ordinary users and even the account itself lack), added
   to the ``user`` class's ``mayContain``. No default attribute fits: the confidential ones are
   multi-valued, too small, or mean something else (BitLocker, DPAPI, KDS keys), and base
   schema attributes cannot be made confidential.
2. ``delegation_aces``: on the OU that holds the people, the service account gets the
   Reset-Password right, read/write ``lockoutTime`` and ``pwdLastSet``, and read/write plus
   control access on ``sspmEnrolment`` (``samba-tool dsacl set`` here, ``dsacls`` on Windows).
   It is not a Domain Admin.

Passwords are demo values; they exist only in throwaway servers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from ldap3 import BASE, MODIFY_ADD, MODIFY_REPLACE, Connection

REALM = "PARTNERS.TEST"
DOMAIN = "PARTNERS"
BASE_DN = "DC=partners,DC=test"
ADMIN_DN = f"CN=Administrator,CN=Users,{BASE_DN}"
ADMIN_PASSWORD = "Local-Admin-Secret-2024"  # noqa: S105 - throwaway server only
STAFF_DN = f"OU=Staff,{BASE_DN}"
SERVICES_DN = f"OU=Services,{BASE_DN}"
SERVICE_NAME = "svc-sspm"
SERVICE_DN = f"CN={SERVICE_NAME},{SERVICES_DN}"
SERVICE_PASSWORD = "Local-Service-Secret-2024"  # noqa: S105 - throwaway server only
GROUPS_DN = f"OU=Groups,{BASE_DN}"
PROTECTED_GROUP_DN = f"CN=Tier0 Admins,{GROUPS_DN}"
NESTED_GROUP_DN = f"CN=Helpdesk Leads,{GROUPS_DN}"  # a member of Tier0 Admins
SCHEMA_DN = f"CN=Schema,CN=Configuration,{BASE_DN}"
ENROLMENT_ATTRIBUTE = "sspmEnrolment"
LOCKOUT_THRESHOLD = 3

# Under Microsoft's prefix for self-generated schema OIDs (1.2.840.113556.1.8000.2554), as
# its "generate an OID" script does; the suffix is fixed so the schema is always the same.
ENROLMENT_ATTRIBUTE_OID = "1.2.840.113556.1.8000.2554.47406.19571.1.1"
CONFIDENTIAL = 0x80

USER_CLASS_GUID = "bf967aba-0de6-11d0-a285-00aa003049e2"
RESET_PASSWORD_RIGHT = "00299570-246d-11d0-a768-00aa006e0529"  # noqa: S105 - a GUID
LOCKOUT_TIME_GUID = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
PWD_LAST_SET_GUID = "bf967a0a-0de6-11d0-a285-00aa003049e2"  # noqa: S105 - a GUID

ENROLMENT_SCHEMA = f"""\
dn: CN=sspm-Enrolment,{SCHEMA_DN}
changetype: add
objectClass: attributeSchema
lDAPDisplayName: {ENROLMENT_ATTRIBUTE}
attributeID: {ENROLMENT_ATTRIBUTE_OID}
attributeSyntax: 2.5.5.12
oMSyntax: 64
isSingleValued: TRUE
rangeUpper: 8192
searchFlags: {CONFIDENTIAL}
adminDescription: SSPM assistant enrolment record (JSON, Argon2id hashes; confidential)

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-

dn: CN=User,{SCHEMA_DN}
changetype: modify
add: mayContain
mayContain: {ENROLMENT_ATTRIBUTE}
-

dn:
changetype: modify
add: schemaUpdateNow
schemaUpdateNow: 1
-
"""


@dataclass(frozen=True)
class AdDemoUser:
    name: str
    password: str
    given_name: str
    surname: str
    employee_number: str
    mobile: str
    state: str
    must_change: bool = False
    disabled: bool = False
    admin_count: bool = False
    groups: tuple[str, ...] = ()
    locked: bool = False

    @property
    def dn(self) -> str:
        return f"CN={self.name},{STAFF_DN}"

    @property
    def upn(self) -> str:
        return f"{self.name}@{REALM.lower()}"


AD_DEMO_USERS: tuple[AdDemoUser, ...] = (
    AdDemoUser("alice", "Correct-Horse-42", "Alice", "Martin", "1001", "+15550001001",
               "enrolled (questions and mobile bound)"),
    AdDemoUser("bob", "Battery-Staple-77", "Bob", "Tremblay", "1002", "+15550001002",
               "not enrolled"),
    AdDemoUser("carol", "Lantern-Meadow-19", "Carol", "Roy", "1003", "+15550001003",
               "enrolled (French); locked after failed logins", locked=True),
    AdDemoUser("dave", "Temporary-Pass-55", "Dave", "Gagnon", "1004", "+15550001004",
               "temporary password: must change at next login (pwdLastSet=0)",
               must_change=True),
    AdDemoUser("erin", "Protected-Admin-88", "Erin", "Cote", "1005", "+15550001005",
               "enrolled; privileged: in Helpdesk Leads, nested in Tier0 Admins (protected)",
               groups=(NESTED_GROUP_DN,)),
    AdDemoUser("frank", "Frozen-Account-31", "Frank", "Leblanc", "1006", "+15550001006",
               "disabled (userAccountControl 514)", disabled=True),
    AdDemoUser("heidi", "Guarded-Admin-47", "Heidi", "Fortin", "1008", "+15550001008",
               "privileged: adminCount=1 (protected)", admin_count=True),
)


def ad_demo_user(name: str) -> AdDemoUser:
    for user in AD_DEMO_USERS:
        if user.name == name:
            return user
    raise KeyError(name)


def unicode_pwd(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def add_user(admin: Connection, user: AdDemoUser, parent: str = STAFF_DN) -> str:
    """Create ``user`` (enabled, or disabled) as the administrator, and put it in its state."""
    dn = f"CN={user.name},{parent}"
    _check(admin, admin.add(dn, ["top", "person", "organizationalPerson", "user"], {
        "sAMAccountName": user.name, "userPrincipalName": user.upn,
        "cn": user.name, "displayName": f"{user.given_name} {user.surname}",
        "givenName": user.given_name, "sn": user.surname, "mail": user.upn,
        "employeeNumber": user.employee_number, "mobile": user.mobile,
        "unicodePwd": unicode_pwd(user.password),
        "userAccountControl": "514" if user.disabled else "512"}))
    changes: dict[str, list[tuple[str, list[str]]]] = {}
    if user.must_change:
        changes["pwdLastSet"] = [(MODIFY_REPLACE, ["0"])]
    if user.admin_count:
        changes["adminCount"] = [(MODIFY_REPLACE, ["1"])]
    if changes:
        _check(admin, admin.modify(dn, changes))
    for group in user.groups:
        _check(admin, admin.modify(group, {"member": [(MODIFY_ADD, [dn])]}))
    return dn


def apply_schema(admin: Connection) -> None:
    """``ENROLMENT_SCHEMA``, as ``ldifde -i`` would apply it (the server must allow schema
    updates: Samba's ``dsdb:schema update allowed``, Windows' Schema Admins)."""
    _check(admin, admin.add(f"CN=sspm-Enrolment,{SCHEMA_DN}", "attributeSchema", {
        "lDAPDisplayName": ENROLMENT_ATTRIBUTE, "attributeID": ENROLMENT_ATTRIBUTE_OID,
        "attributeSyntax": "2.5.5.12", "oMSyntax": "64", "isSingleValued": "TRUE",
        "rangeUpper": "8192", "searchFlags": str(CONFIDENTIAL),
        "adminDescription": "SSPM assistant enrolment record (JSON, Argon2id hashes)"}))
    _check(admin, admin.modify("", {"schemaUpdateNow": [(MODIFY_ADD, ["1"])]}))
    _check(admin, admin.modify(f"CN=User,{SCHEMA_DN}",
                               {"mayContain": [(MODIFY_ADD, [ENROLMENT_ATTRIBUTE])]}))
    _check(admin, admin.modify("", {"schemaUpdateNow": [(MODIFY_ADD, ["1"])]}))


def seed_directory(admin: Connection, users: tuple[AdDemoUser, ...] = AD_DEMO_USERS) -> None:
    """Everything but the ACLs (``delegation_aces``): OUs, service account, groups, users."""
    apply_schema(admin)
    for ou in (STAFF_DN, SERVICES_DN, GROUPS_DN):
        _check(admin, admin.add(ou, "organizationalUnit"))
    _check(admin, admin.add(SERVICE_DN, ["top", "person", "organizationalPerson", "user"], {
        "sAMAccountName": SERVICE_NAME, "unicodePwd": unicode_pwd(SERVICE_PASSWORD),
        "userAccountControl": str(512 | 0x10000)}))  # password never expires
    for group in (PROTECTED_GROUP_DN, NESTED_GROUP_DN):
        name = group.split(",")[0][3:]
        _check(admin, admin.add(group, "group", {"sAMAccountName": name.replace(" ", "")}))
    _check(admin, admin.modify(PROTECTED_GROUP_DN, {"member": [(MODIFY_ADD, [NESTED_GROUP_DN])]}))
    for user in users:
        add_user(admin, user)


def delegation_aces(admin: Connection) -> str:
    """The SDDL ACEs that delegate self-service on ``STAFF_DN`` to the service account."""
    sid = _sid(admin, SERVICE_DN)
    enrolment = _schema_guid(admin, f"CN=sspm-Enrolment,{SCHEMA_DN}")
    return (f"(OA;CI;CR;{RESET_PASSWORD_RIGHT};{USER_CLASS_GUID};{sid})"
            f"(OA;CI;RPWP;{LOCKOUT_TIME_GUID};{USER_CLASS_GUID};{sid})"
            f"(OA;CI;RPWP;{PWD_LAST_SET_GUID};{USER_CLASS_GUID};{sid})"
            f"(OA;CI;RPWPCR;{enrolment};{USER_CLASS_GUID};{sid})")


def _sid(admin: Connection, dn: str) -> str:
    from ldap3.protocol.formatters.formatters import format_sid

    admin.search(dn, "(objectClass=*)", search_scope=BASE, attributes=["objectSid"])
    return str(format_sid(admin.response[0]["raw_attributes"]["objectSid"][0]))


def _schema_guid(admin: Connection, dn: str) -> str:
    admin.search(dn, "(objectClass=*)", search_scope=BASE, attributes=["schemaIDGUID"])
    return str(uuid.UUID(bytes_le=admin.response[0]["raw_attributes"]["schemaIDGUID"][0]))


def _check(connection: Connection, ok: bool) -> None:
    if not ok:
        raise RuntimeError(f"seeding the AD failed: {connection.result}")

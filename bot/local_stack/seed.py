"""The demo directory: a ppolicy, a service account and one user per interesting state.

Passwords are demo values printed by ``sspm demo``; they exist only in throwaway servers.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

BASE_DN = "dc=example,dc=test"
ADMIN_DN = f"cn=admin,{BASE_DN}"
ADMIN_PASSWORD = "local-admin-secret"  # noqa: S105 - throwaway server only
SERVICE_DN = f"cn=sspm,ou=services,{BASE_DN}"
SERVICE_PASSWORD = "local-service-secret"  # noqa: S105 - throwaway server only
PEOPLE_DN = f"ou=people,{BASE_DN}"
PROTECTED_GROUP_DN = f"cn=admins,ou=groups,{BASE_DN}"
# A group inside the protected group: its members are protected through nesting (issue 10).
NESTED_PROTECTED_GROUP_DN = f"cn=site-admins,ou=groups,{BASE_DN}"
AGENTS_GROUP_DN = f"cn=helpdesk,ou=groups,{BASE_DN}"
# Who may read the reports without working tickets (issue 16): bob, the IT manager.
REPORTERS_GROUP_DN = f"cn=reporters,ou=groups,{BASE_DN}"
ADMIN_LOCK = "000001010000Z"


@dataclass(frozen=True)
class DemoUser:
    uid: str
    password: str
    given_name: str
    surname: str
    employee_number: str
    mobile: str
    state: str  # what the demo shows with this account
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def dn(self) -> str:
        return f"uid={self.uid},{PEOPLE_DN}"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("alice", "Correct-Horse-42", "Alice", "Martin", "1001", "+15550001001",
             "enrolled (questions and mobile bound)"),
    DemoUser("bob", "Battery-Staple-77", "Bob", "Tremblay", "1002", "+15550001002",
             "not enrolled"),
    DemoUser("carol", "Lantern-Meadow-19", "Carol", "Roy", "1003", "+15550001003",
             "enrolled (French); locked after failed logins",
             (("pwdAccountLockedTime", "20260101000000Z"),)),
    DemoUser("dave", "Temporary-Pass-55", "Dave", "Gagnon", "1004", "+15550001004",
             "temporary password: must change at next login", (("pwdReset", "TRUE"),)),
    DemoUser("erin", "Protected-Admin-88", "Erin", "Cote", "1005", "+15550001005",
             "enrolled; privileged: member of cn=admins (protected)"),
    DemoUser("frank", "Frozen-Account-31", "Frank", "Leblanc", "1006", "+15550001006",
             "locked by an administrator (000001010000Z)",
             (("pwdAccountLockedTime", ADMIN_LOCK),)),
    DemoUser("grace", "Expired-Secret-64", "Grace", "Pelletier", "1007", "+15550001007",
             "password expired",
             (("pwdPolicySubentry", f"cn=expiring,ou=policies,{BASE_DN}"),
              ("pwdChangedTime", "20200101000000Z"))),
    DemoUser("hana", "Helpdesk-Agent-Pass-73", "Hana", "Bouchard", "2001", "+15550002001",
             "help desk agent: signs in to /helpdesk"),
    DemoUser("ivan", "Nested-Admin-Pass-46", "Ivan", "Morin", "1008", "+15550001008",
             "privileged through nesting: cn=site-admins inside cn=admins (protected)"),
)


def ssha(password: str) -> str:
    """An OpenLDAP {SSHA} value: slapadd bypasses the ppolicy overlay, so no cleartext hashing."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - slapd's own scheme
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _policy(name: str, max_age: int) -> str:
    return f"""dn: cn={name},ou=policies,{BASE_DN}
objectClass: top
objectClass: device
objectClass: pwdPolicy
cn: {name}
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 3
pwdLockoutDuration: 0
pwdInHistory: 5
pwdMustChange: TRUE
pwdCheckQuality: 2
pwdMinLength: 8
pwdMaxAge: {max_age}
pwdGraceAuthNLimit: 0
pwdAllowUserChange: TRUE
pwdFailureCountInterval: 0
"""


def _user(user: DemoUser) -> str:
    lines = [
        f"dn: {user.dn}", "objectClass: inetOrgPerson", "objectClass: sspmEnrolled",
        f"uid: {user.uid}", f"cn: {user.given_name} {user.surname}",
        f"givenName: {user.given_name}", f"sn: {user.surname}",
        f"mail: {user.uid}@example.test", f"employeeNumber: {user.employee_number}",
        f"mobile: {user.mobile}", f"userPassword: {ssha(user.password)}",
    ]
    lines += [f"{name}: {value}" for name, value in user.extra]
    return "\n".join(lines) + "\n"


def seed_ldif(users: tuple[DemoUser, ...] = DEMO_USERS) -> str:
    head = f"""dn: {BASE_DN}
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{BASE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE_DN}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{BASE_DN}
objectClass: organizationalUnit
ou: services

dn: ou=policies,{BASE_DN}
objectClass: organizationalUnit
ou: policies

dn: {SERVICE_DN}
objectClass: applicationProcess
objectClass: simpleSecurityObject
cn: sspm
userPassword: {ssha(SERVICE_PASSWORD)}

dn: {PROTECTED_GROUP_DN}
objectClass: groupOfNames
cn: admins
member: uid=erin,{PEOPLE_DN}
member: {NESTED_PROTECTED_GROUP_DN}

dn: {NESTED_PROTECTED_GROUP_DN}
objectClass: groupOfNames
cn: site-admins
member: uid=ivan,{PEOPLE_DN}

dn: {AGENTS_GROUP_DN}
objectClass: groupOfNames
cn: helpdesk
member: uid=hana,{PEOPLE_DN}

dn: {REPORTERS_GROUP_DN}
objectClass: groupOfNames
cn: reporters
member: uid=bob,{PEOPLE_DN}

"""
    body = _policy("default", 0) + "\n" + _policy("expiring", 90 * 86400) + "\n"
    return head + body + "\n".join(_user(u) for u in users)


def demo_user(uid: str) -> DemoUser:
    for user in DEMO_USERS:
        if user.uid == uid:
            return user
    raise KeyError(uid)

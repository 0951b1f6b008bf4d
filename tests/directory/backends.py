"""The directory contract's backends: a real slapd and a real Samba AD DC, same helpers.

Each backend gives an ``LdapDirectory`` and what a test needs around it: fresh users in a
given state (unique names, so tests on the one shared Samba stay independent), and binds
from outside the product to prove what a reset did.
"""

from __future__ import annotations

import itertools
import os
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from ldap3 import MODIFY_ADD, Connection, Server, Tls

from bot.local_stack import LocalSlapd, SlapdInfo
from bot.local_stack.ad_seed import NESTED_GROUP_DN, AdDemoUser, add_user
from bot.local_stack.samba import LocalSamba, SambaInfo, admin_connection, fail_logins
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from config import Secret
from config.settings import AttributeNames, DomainSettings
from directory import LdapDirectory
from tests.conftest import domain_settings

BindResult = Literal["ok", "must_change", "refused"]
_names = itertools.count(1)


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{os.getpid() % 10000}x{next(_names)}"


class Backend(Protocol):
    name: str
    directory: LdapDirectory
    lockout_threshold: int

    def new_user(self, password: str, *, must_change: bool = False, disabled: bool = False,
                 admin_count: bool = False, protected_group: bool = False) -> str:
        """A fresh account in that state; returns its login name."""
        ...

    def bind(self, dn: str, password: str) -> BindResult: ...

    def fail_logins(self, dn: str, times: int) -> None: ...


# -- OpenLDAP --------------------------------------------------------------------------------


@dataclass
class SlapdBackend:
    info: SlapdInfo
    directory: LdapDirectory
    name: str = "openldap"
    lockout_threshold: int = 3  # the seeded policy's pwdMaxFailure

    def new_user(self, password: str, *, must_change: bool = False, disabled: bool = False,
                 admin_count: bool = False, protected_group: bool = False) -> str:
        assert not disabled and not admin_count, "OpenLDAP has no such state"
        uid = unique_name()
        dn = f"uid={uid},{PEOPLE_DN}"
        admin = Connection(Server(self.info.url), self.info.admin_dn, self.info.admin_password,
                           auto_bind=True)
        attributes = {"uid": uid, "cn": uid, "sn": uid, "userPassword": password,
                      "employeeNumber": str(90000 + next(_names))}
        if must_change:
            attributes["pwdReset"] = "TRUE"
        assert admin.add(dn, ["inetOrgPerson", "sspmEnrolled"], attributes), admin.result
        if protected_group:
            assert admin.modify(PROTECTED_GROUP_DN, {"member": [(MODIFY_ADD, [dn])]})
        admin.unbind()
        return uid

    def bind(self, dn: str, password: str) -> BindResult:
        whoami = subprocess.run(
            ["ldapwhoami", "-x", "-e", "ppolicy", "-H", self.info.url, "-D", dn, "-w", password],
            capture_output=True, text=True, timeout=10, check=False)
        if whoami.returncode != 0:
            return "refused"
        return "must_change" if "Password must be changed" in whoami.stderr else "ok"

    def fail_logins(self, dn: str, times: int) -> None:
        for _ in range(times):
            assert not Connection(Server(self.info.url), dn, "definitely-wrong").bind()


# -- Active Directory (Samba) ----------------------------------------------------------------


def ad_settings(info: SambaInfo, **overrides: object) -> DomainSettings:
    values: dict[str, object] = {
        "name": "PARTNERS", "url": info.url, "dialect": "ad", "base_dn": info.base_dn,
        "bind_dn": info.service_dn, "bind_password": Secret(info.service_password),
        "users_dn": info.users_dn, "user_object_class": "user",
        "protected_groups": (info.protected_group,), "tls_validate": False,
        "connect_timeout": 3.0, "operation_timeout": 5.0,
        "attributes": AttributeNames(username="sAMAccountName", display_name="displayName",
                                     enrolment="sspmEnrolment"),
    }
    values.update(overrides)
    return DomainSettings(**values)  # type: ignore[arg-type]


@dataclass
class SambaBackend:
    info: SambaInfo
    directory: LdapDirectory
    name: str = "ad"
    lockout_threshold: int = 3
    created: list[str] = field(default_factory=list)

    def new_user(self, password: str, *, must_change: bool = False, disabled: bool = False,
                 admin_count: bool = False, protected_group: bool = False) -> str:
        name = unique_name()
        user = AdDemoUser(name, password, "Test", name.capitalize(), str(90000 + next(_names)),
                          "+15550009999", "test", must_change=must_change, disabled=disabled,
                          admin_count=admin_count,
                          groups=(NESTED_GROUP_DN,) if protected_group else ())
        admin = admin_connection(self.info.url, self.info.admin_dn, self.info.admin_password)
        try:
            self.created.append(add_user(admin, user))
        finally:
            admin.unbind()
        return name

    def bind(self, dn: str, password: str) -> BindResult:
        connection = Connection(Server(self.info.url, tls=Tls(validate=ssl.CERT_NONE),
                                       get_info="NO_INFO"), dn, password)
        if connection.bind():
            connection.unbind()
            return "ok"
        return "must_change" if "data 773" in connection.result["message"] else "refused"

    def fail_logins(self, dn: str, times: int) -> None:
        fail_logins(dn, times, self.info.url)

    def remove_users(self) -> None:
        admin = admin_connection(self.info.url, self.info.admin_dn, self.info.admin_password)
        for dn in self.created:
            admin.delete(dn)
        admin.unbind()


# -- one shared Samba per test session -------------------------------------------------------

_samba_lock = threading.Lock()
_samba: list[LocalSamba] = []
_samba_users = [0]


def acquire_samba(workdir: Path) -> SambaInfo:
    """The one Samba of this test process (it always binds 389/636), started on first use;
    counted, so every session fixture that uses it shares it and the last one stops it."""
    with _samba_lock:
        if not _samba:
            server = LocalSamba(workdir)
            server.start()
            _samba.append(server)
        _samba_users[0] += 1
        return _samba[0].info


def release_samba() -> None:
    with _samba_lock:
        _samba_users[0] -= 1
        if _samba_users[0] == 0 and _samba:
            _samba.pop().stop()


def open_slapd_backend(slapd: LocalSlapd) -> SlapdBackend:
    info = slapd.info
    return SlapdBackend(info, LdapDirectory(domain_settings(info)))

"""A throwaway OpenLDAP server (mdb + ppolicy) on a free loopback port.

Used by the test fixtures and by ``sspm demo``; it touches nothing outside its folder and is
stopped by its own process handle (STACK-NOTES.md: slapadd, then slapd -d 0, poll a bind).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from bot.local_stack.ports import free_port, stop_process, wait_for_port
from bot.local_stack.seed import (
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    SERVICE_DN,
    SERVICE_PASSWORD,
    seed_ldif,
    ssha,
)

SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
OWN_SCHEMA = Path(__file__).with_name("sspm.schema")


class LocalStackError(RuntimeError):
    """A throwaway server could not be started (missing package, port, timeout)."""


@dataclass(frozen=True)
class SlapdInfo:
    url: str
    port: int
    base_dn: str
    admin_dn: str
    admin_password: str
    service_dn: str
    service_password: str
    workdir: Path


def default_acl(service_dn: str = SERVICE_DN) -> str:
    """The rights README.md tells an administrator to give: ``write`` (not ``manage``) on
    passwords, so slapd itself enforces history and length on a reset (STACK-NOTES.md);
    ``write`` on ``objectClass`` for the ``sspmEnrolled`` class; ``read`` on the rest."""
    return f"""\
access to attrs=userPassword
  by dn.exact="{service_dn}" write
  by self write
  by anonymous auth
  by * none
access to attrs=sspmEnrolment
  by dn.exact="{service_dn}" write
  by * none
access to attrs=pwdReset,pwdAccountLockedTime,objectClass
  by dn.exact="{service_dn}" write
  by self read
  by * none
access to *
  by dn.exact="{service_dn}" read
  by self read
  by * none"""


def slapd_config(workdir: Path, service_dn: str = SERVICE_DN, acl: str | None = None) -> str:
    """slapd.conf; ``acl`` replaces the access rules (tests take a right away from the
    service account to see ``sspm check`` name it)."""
    acl = default_acl(service_dn) if acl is None else acl
    return f"""\
include {SCHEMA_DIR}/core.schema
include {SCHEMA_DIR}/cosine.schema
include {SCHEMA_DIR}/inetorgperson.schema
include {OWN_SCHEMA}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload ppolicy
pidfile {workdir}/slapd.pid
argsfile {workdir}/slapd.args

database mdb
maxsize 67108864
suffix "{BASE_DN}"
rootdn "{ADMIN_DN}"
rootpw {ssha(ADMIN_PASSWORD)}
directory {workdir}/data
index objectClass eq
index uid,employeeNumber,mobile eq
# The reports' coverage pages through every person (README, OpenLDAP step 4): without this the
# default size limit (500) silently cuts a paged search short.
limits dn.exact="{service_dn}" size.prtotal=unlimited

overlay ppolicy
ppolicy_default "cn=default,ou=policies,{BASE_DN}"
ppolicy_hash_cleartext
ppolicy_use_lockout

{acl}
"""


class LocalSlapd:
    """Start with ``start()``; stop with ``stop()`` (or use as a context manager)."""

    def __init__(self, workdir: Path, port: int | None = None, *, acl: str | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.acl = acl  # None: default_acl()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def info(self) -> SlapdInfo:
        return SlapdInfo(
            url=f"ldap://127.0.0.1:{self.port}", port=self.port, base_dn=BASE_DN,
            admin_dn=ADMIN_DN, admin_password=ADMIN_PASSWORD, service_dn=SERVICE_DN,
            service_password=SERVICE_PASSWORD, workdir=self.workdir)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self, timeout: float = 10.0) -> SlapdInfo:
        slapd = shutil.which("slapd") or "/usr/sbin/slapd"
        slapadd = shutil.which("slapadd") or "/usr/sbin/slapadd"
        if not Path(slapd).exists():
            raise LocalStackError("slapd is not installed (apt-get install slapd ldap-utils)")
        if not (self.workdir / "data").exists():
            self._initialise(slapadd)
        self._process = subprocess.Popen(
            [slapd, "-f", str(self.workdir / "slapd.conf"), "-h",
             f"ldap://127.0.0.1:{self.port}/", "-d", "0"],
            stdout=subprocess.DEVNULL, stderr=(self.workdir / "slapd.log").open("ab"))
        if not wait_for_port(self.port, timeout, self._process):
            self.stop()
            raise LocalStackError(f"slapd did not start; see {self.workdir / 'slapd.log'}")
        return self.info

    def _initialise(self, slapadd: str) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir()
        (self.workdir / "slapd.conf").write_text(slapd_config(self.workdir, acl=self.acl))
        (self.workdir / "seed.ldif").write_text(seed_ldif())
        result = subprocess.run(
            [slapadd, "-q", "-f", str(self.workdir / "slapd.conf"), "-l",
             str(self.workdir / "seed.ldif")], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise LocalStackError(f"slapadd failed: {result.stderr.strip()[-500:]}")

    def stop(self) -> None:
        process, self._process = self._process, None
        stop_process(process)

    def restart(self) -> None:
        self.stop()
        time.sleep(0.05)
        self.start()

    def __enter__(self) -> SlapdInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

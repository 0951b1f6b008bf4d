"""A throwaway Samba AD DC on loopback: LDAPS on 127.0.0.1:636 (STACK-NOTES.md, "Samba AD DC").

Provisioning and seeding take about 15 s, so they are done once into a *template* folder
(kept between runs, keyed by this code's version); each start copies the template into its
own folder, points smb.conf at it and starts ``samba`` there (about 1 s). Samba has no LDAP
port option and always binds 389/636/3268/3269: one instance per machine. It is stopped by
its own process handle.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ldap3 import Connection, Server, Tls

from bot.local_stack import ad_seed
from bot.local_stack.ad_seed import (
    AD_DEMO_USERS,
    ADMIN_DN,
    ADMIN_PASSWORD,
    BASE_DN,
    DOMAIN,
    LOCKOUT_THRESHOLD,
    PROTECTED_GROUP_DN,
    REALM,
    SERVICE_DN,
    SERVICE_PASSWORD,
    STAFF_DN,
)
from bot.local_stack.ports import stop_process, wait_for_port
from bot.local_stack.slapd import LocalStackError

LDAPS_PORT = 636
SAMBA_PORTS = (389, 636, 3268, 3269)
SCHEMA_UPDATES = "\tdsdb:schema update allowed = yes\n"


@dataclass(frozen=True)
class SambaInfo:
    url: str
    base_dn: str
    users_dn: str
    admin_dn: str
    admin_password: str
    service_dn: str
    service_password: str
    protected_group: str
    realm: str
    workdir: Path


def default_template_dir() -> Path:
    """A folder under the system temp dir, named after this code, so a change rebuilds it."""
    digest = hashlib.sha256()
    for module in (Path(__file__), Path(ad_seed.__file__)):
        digest.update(module.read_bytes())
    return Path(tempfile.gettempdir()) / f"sspm-samba-template-{digest.hexdigest()[:12]}"


def admin_connection(url: str = f"ldaps://127.0.0.1:{LDAPS_PORT}", dn: str = ADMIN_DN,
                     password: str = ADMIN_PASSWORD) -> Connection:
    """A bound LDAPS connection (the throwaway server's certificate is self-signed)."""
    server = Server(url, tls=Tls(validate=ssl.CERT_NONE), get_info="NO_INFO",
                    connect_timeout=5)
    return Connection(server, dn, password, auto_bind=True, check_names=False,
                      raise_exceptions=False, receive_timeout=10)


class LocalSamba:
    """Start with ``start()``; stop with ``stop()`` (or use as a context manager)."""

    def __init__(self, workdir: Path, template_dir: Path | None = None) -> None:
        self.workdir = workdir
        self.template_dir = template_dir or default_template_dir()
        self._process: subprocess.Popen[bytes] | None = None
        self.timings: dict[str, float] = {}

    @property
    def info(self) -> SambaInfo:
        return SambaInfo(
            url=f"ldaps://127.0.0.1:{LDAPS_PORT}", base_dn=BASE_DN, users_dn=STAFF_DN,
            admin_dn=ADMIN_DN, admin_password=ADMIN_PASSWORD, service_dn=SERVICE_DN,
            service_password=SERVICE_PASSWORD, protected_group=PROTECTED_GROUP_DN,
            realm=REALM, workdir=self.workdir)

    def start(self, timeout: float = 30.0) -> SambaInfo:
        _require_samba()
        _require_free_ports()
        if not (self.template_dir / "etc" / "smb.conf").exists():
            started = time.monotonic()
            self._build_template(timeout)
            self.timings["template"] = time.monotonic() - started
        started = time.monotonic()
        _copy_folder(self.template_dir, self.workdir)
        self._process = _start_samba(self.workdir, timeout)
        self.timings["start"] = time.monotonic() - started
        return self.info

    def _build_template(self, timeout: float) -> None:
        building = self.template_dir.with_name(self.template_dir.name + f".build-{id(self)}")
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir(parents=True)
        try:
            started = time.monotonic()
            _provision(building)
            self.timings["provision"] = time.monotonic() - started
            conf = building / "etc" / "smb.conf"
            conf.write_text(conf.read_text().replace("[global]\n", "[global]\n" + SCHEMA_UPDATES))
            process = _start_samba(building, timeout)
            try:
                aces = _seed(timeout)
            finally:
                stop_process(process)
            _run(["samba-tool", "dsacl", "set", "-s", str(conf),
                  "-H", str(building / "private" / "sam.ldb"), f"--objectdn={STAFF_DN}",
                  f"--sddl={aces}"], building)
            conf.write_text(conf.read_text().replace(SCHEMA_UPDATES, "")
                            .replace(str(building), str(self.template_dir)))
            shutil.rmtree(self.template_dir, ignore_errors=True)
            building.rename(self.template_dir)
        finally:
            shutil.rmtree(building, ignore_errors=True)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            stop_process(process)

    def __enter__(self) -> SambaInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _require_samba() -> None:
    if not (shutil.which("samba") or Path("/usr/sbin/samba").exists()) \
            or not shutil.which("samba-tool"):
        raise LocalStackError("Samba is not installed (apt-get install samba samba-ad-dc "
                              "samba-dsdb-modules samba-vfs-modules winbind)")


def _require_free_ports() -> None:
    for port in SAMBA_PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError as exc:
                raise LocalStackError(
                    f"cannot run a Samba AD DC here: port {port} on 127.0.0.1 is taken "
                    f"({exc.strerror}); Samba always binds 389/636/3268/3269, so stop "
                    "whatever holds them (another Samba or slapd)") from exc


def _provision(folder: Path) -> None:
    options = {
        "interfaces": "lo", "bind interfaces only": "yes", "server services": "ldap",
        "pid directory": f"{folder}/run", "ncalrpc dir": f"{folder}/ncalrpc",
        "winbindd socket directory": f"{folder}/winbindd", "cache directory": f"{folder}/cache",
        "log file": f"{folder}/log/%m.log",
    }
    _run(["samba-tool", "domain", "provision", f"--targetdir={folder}", f"--realm={REALM}",
          f"--domain={DOMAIN}", "--host-name=dc1", f"--adminpass={ADMIN_PASSWORD}",
          "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
          *(f"--option={key}={value}" for key, value in options.items())], folder)
    conf = folder / "etc" / "smb.conf"
    # Only an edit of the file works (the --option form is dropped); at its default of
    # 60 minutes, the *old* password keeps working after a reset.
    conf.write_text(conf.read_text().replace(
        "[global]\n", "[global]\n\told password allowed period = 0\n"))
    _run(["samba-tool", "domain", "passwordsettings", "set", "-s", str(conf),
          "-H", str(folder / "private" / "sam.ldb"),
          f"--account-lockout-threshold={LOCKOUT_THRESHOLD}", "--account-lockout-duration=0",
          "--min-pwd-age=0", "--history-length=5"], folder)


def _seed(timeout: float) -> str:
    admin = admin_connection()
    try:
        ad_seed.seed_directory(admin)
        aces = ad_seed.delegation_aces(admin)
    finally:
        admin.unbind()
    for user in AD_DEMO_USERS:
        if user.locked:
            fail_logins(user.dn, LOCKOUT_THRESHOLD)
    return aces


def fail_logins(dn: str, times: int, url: str = f"ldaps://127.0.0.1:{LDAPS_PORT}") -> None:
    """Wrong-password binds, as a person mistyping would (AD counts them towards lockout)."""
    for _ in range(times):
        connection = Connection(Server(url, tls=Tls(validate=ssl.CERT_NONE),
                                       get_info="NO_INFO"), dn, "definitely-wrong-password")
        if connection.bind():
            connection.unbind()
            raise LocalStackError(f"a wrong password bound as {dn}")


def _start_samba(folder: Path, timeout: float) -> subprocess.Popen[bytes]:
    binary = shutil.which("samba") or "/usr/sbin/samba"
    log = (folder / "samba.out").open("ab")
    process = subprocess.Popen(
        [binary, "--foreground", "--no-process-group", "-M", "single",
         "-s", str(folder / "etc" / "smb.conf")], stdout=log, stderr=log, cwd=folder)
    log.close()
    if not wait_for_port(LDAPS_PORT, timeout, process) or not _wait_for_bind(timeout):
        stop_process(process)
        raise LocalStackError(f"samba did not answer LDAPS on {LDAPS_PORT}; see "
                              f"{folder / 'samba.out'} and {folder / 'log'}")
    return process


def _wait_for_bind(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            admin_connection().unbind()
            return True
        except Exception:  # not ready yet, whatever the reason
            time.sleep(0.05)
    return False


def _copy_folder(template: Path, target: Path) -> None:
    """Copy the stopped template; smb.conf is the only file naming its folder."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(template, target, symlinks=True, ignore=_sockets)
    conf = target / "etc" / "smb.conf"
    conf.write_text(conf.read_text().replace(str(template), str(target)))


def _sockets(folder: str, names: list[str]) -> set[str]:
    """Unix sockets a stopped samba left behind cannot be copied (and are not needed)."""
    return {name for name in names if stat.S_ISSOCK(os.lstat(os.path.join(folder, name)).st_mode)}


def _run(command: list[str], folder: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=folder,
                            timeout=120)
    if result.returncode != 0:
        raise LocalStackError(f"{command[0]} {command[1]} {command[2]} failed: "
                              f"{(result.stderr or result.stdout).strip()[-800:]}")

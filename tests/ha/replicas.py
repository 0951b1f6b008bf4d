"""A provider and a consumer slapd (syncrepl), both with ppolicy, on loopback ports.

The provider is the test fixture's server (same seed, same access rules) plus the syncprov
overlay; the consumer starts empty and pulls everything, operational attributes included
(``attrs="*,+"``: entryUUID, pwdFailureTime, pwdAccountLockedTime), in refreshAndPersist mode.
The consumer's ``updateref`` names the provider, so a write sent to it is refused with a
referral, as a production consumer's would be.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from ldap3 import BASE, Connection, Server

from bot.local_stack import LocalSlapd, SlapdInfo
from bot.local_stack.seed import ADMIN_DN, ADMIN_PASSWORD, BASE_DN
from bot.local_stack.slapd import LocalStackError, slapd_config

_INDEXES = "index entryCSN,entryUUID eq\n"


class ProviderSlapd(LocalSlapd):
    """The fixture's slapd, seeded the same way, with the syncprov overlay."""

    def _initialise(self, slapadd: str) -> None:
        super()._initialise(slapadd)
        config = (self.workdir / "slapd.conf").read_text()
        config = config.replace("moduleload ppolicy\n", "moduleload ppolicy\nmoduleload syncprov\n")
        config = config.replace("index objectClass eq\n", "index objectClass eq\n" + _INDEXES)
        config = config.replace("overlay ppolicy\n",
                                "overlay syncprov\nsyncprov-checkpoint 100 1\n\noverlay ppolicy\n")
        (self.workdir / "slapd.conf").write_text(config)


class ConsumerSlapd(LocalSlapd):
    """An empty database that replicates everything from ``provider``."""

    def __init__(self, workdir: Path, provider: SlapdInfo) -> None:
        super().__init__(workdir)
        self.provider = provider

    def _initialise(self, slapadd: str) -> None:
        del slapadd  # nothing to seed: syncrepl fills it
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "data").mkdir()
        config = slapd_config(self.workdir)
        syncrepl = (f'syncrepl rid=001 provider={self.provider.url} bindmethod=simple '
                    f'binddn="{ADMIN_DN}" credentials={ADMIN_PASSWORD} '
                    f'searchbase="{BASE_DN}" type=refreshAndPersist retry="1 +" '
                    f'attrs="*,+" timeout=2 network-timeout=2\n'
                    f"updateref {self.provider.url}\n")
        config = config.replace("index objectClass eq\n",
                                "index objectClass eq\n" + _INDEXES + syncrepl)
        (self.workdir / "slapd.conf").write_text(config)

    def kill(self) -> None:
        """SIGKILL, as a crash: no goodbye to anyone (and no 2 s wait for the syncrepl
        session to close, which a plain stop costs)."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(timeout=10)


def wait_until_replicated(consumer: SlapdInfo, dn: str, attribute: str, expected: object,
                          timeout: float = 10.0) -> bool:
    """Poll the consumer (as its rootdn) until ``attribute`` of ``dn`` reads ``expected``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if read_attribute(consumer, dn, attribute) == expected:
            return True
        time.sleep(0.05)
    return False


def read_attribute(server: SlapdInfo, dn: str, attribute: str) -> list[str]:
    """Values of ``attribute`` as a sorted list of strings ([] when absent or unreachable)."""
    try:
        connection = Connection(Server(server.url, connect_timeout=1, get_info="NO_INFO"),
                                ADMIN_DN, ADMIN_PASSWORD, receive_timeout=2, auto_bind=True)
    except Exception:  # a dead server reads as nothing
        return []
    try:
        connection.search(dn, "(objectClass=*)", search_scope=BASE, attributes=[attribute])
        for entry in connection.response or []:
            values = entry.get("raw_attributes", {}).get(attribute, [])
            return sorted(bytes(v).decode() for v in values)
        return []
    finally:
        connection.unbind()


def wait_in_sync(provider: SlapdInfo, consumer: SlapdInfo, timeout: float = 10.0) -> bool:
    """Poll until the consumer has every change of the provider (same ``contextCSN``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wanted = read_attribute(provider, BASE_DN, "contextCSN")
        if wanted and read_attribute(consumer, BASE_DN, "contextCSN") == wanted:
            return True
        time.sleep(0.05)
    return False


def start_pair(root: Path) -> tuple[ProviderSlapd, ConsumerSlapd]:
    provider = ProviderSlapd(root / "provider")
    provider.start()
    consumer = ConsumerSlapd(root / "consumer", provider.info)
    try:
        consumer.start()
        if not wait_in_sync(provider.info, consumer.info):
            raise LocalStackError(f"the consumer did not replicate; see {consumer.workdir}")
    except BaseException:
        consumer.stop()
        provider.stop()
        raise
    return provider, consumer


class SilentServer:
    """A TCP listener that accepts and never answers: a hung directory server.

    It counts the connections made to it, so a test can tell how many times the product
    tried this address without timing anything.
    """

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)
        self._socket.settimeout(0.1)
        self.port = int(self._socket.getsockname()[1])
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="silent-ldap", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._held.append(connection)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for connection in self._held:
            connection.close()
        self._socket.close()

"""A small thread-safe pool of service-account connections over a domain's servers.

ldap3's own pooling strategies hide failures we must report; this pool hands one bound
connection to one thread at a time, drops a connection that failed, and retries an
operation once on a fresh connection, so a restarted directory is picked up without
restarting the process (DESIGN.md section 5.10).

Several servers per domain (issue 14). They are tried in the configured order with health
tracking, as ldap3's ``ServerPool(FIRST, active=True, exhaust=N)`` does: a server that fails
to connect or answer is skipped for ``dead_server_seconds``, so a dead replica costs one
timeout once per period, not one per turn. ldap3's pool is not used because it keeps a state
per ``Connection`` in a dict it never empties (every person's bind is a new connection), is not
thread-safe, sleeps ``POOLING_LOOP_TIMEOUT`` (10 s) between rounds when every server is down,
and cannot say which server is down (``/healthz``, ``sspm check``).

Reads go to ``DomainSettings.servers``; writes, and the person's own binds, go to
``DomainSettings.writers`` (the OpenLDAP provider, ``write_urls``). Why a separate write URL
rather than following the consumer's referral or chaining: a referral carries whatever address
the consumer's ``updateref`` names (maybe unreachable from here, or without the TLS settings of
this domain), ldap3 would chase it with the service password on a connection this pool does
not track, and chaining needs the chain overlay and proxy authorisation set up on every
consumer. The product would still read its own write from a consumer that has not received it
yet. A write URL is one explicit setting, checked by ``sspm check``.

Why a person's bind goes to the writer too (measured on slapd 2.5, tests/ha): ppolicy records a
failed bind on the server that refused it; a consumer without ``olcPPolicyForwardUpdates`` (and
the chain overlay) keeps ``pwdFailureTime`` in its own copy, the provider never hears of it, and
the next replicated change overwrites it. Guesses spread over replicas would then never lock the
account, and the product's guess budget (``dialogs.password_guesses``) would read a count the
directory does not lock on. On the provider the failure is counted once and replicates to every
consumer (in about 30 ms here); the count is read back from the provider after a failure
(``LdapDirectory.refresh``). On Active Directory every domain controller is writable: with no
``write_urls`` the same servers serve both.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from ldap3 import BASE, SYNC, Connection, Server, Tls
from ldap3.core import exceptions as ldap_exc

from config.settings import DomainSettings
from directory.errors import CONNECTION_ERRORS, DirectoryUnavailable, translated

T = TypeVar("T")

# A health probe waits this long at most per server (connect, then the bind's answer), so one
# round of /healthz stays within its own 2 s whatever the configured timeouts.
PROBE_TIMEOUT_SECONDS = 1.0


def build_server(settings: DomainSettings, url: str | None = None,
                 connect_timeout: float | None = None) -> Server:
    url = url or settings.servers[0]
    tls = None
    if url.startswith("ldaps://"):
        import ssl

        tls = Tls(validate=ssl.CERT_REQUIRED if settings.tls_validate else ssl.CERT_NONE,
                  ca_certs_file=settings.tls_ca_file or None)
    return Server(url, connect_timeout=connect_timeout or settings.connect_timeout, tls=tls,
                  get_info="NO_INFO")


class ServerHealth:
    """Which servers failed lately; shared by a domain's readers and writers.

    The order to try is the configured one minus the servers that failed less than
    ``dead_seconds`` ago. When every server failed lately, the one that failed longest ago is
    tried: a total outage costs one timeout per operation (as with a single server), and a
    server that came back is found without waiting out the period.
    """

    def __init__(self, dead_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._dead_seconds = dead_seconds
        self._clock = clock
        self._failed_at: dict[str, float] = {}
        self._lock = threading.Lock()
        # Connections opened (tried) per server: what a dead server cost, without timing;
        # and the service account's operations each server carried out.
        self.attempts: Counter[str] = Counter()
        self.served: Counter[str] = Counter()

    def order(self, urls: tuple[str, ...]) -> tuple[str, ...]:
        now = self._clock()
        with self._lock:
            alive = tuple(u for u in urls if not self._dead(u, now))
            if alive or not urls:
                return alive
            return (min(urls, key=lambda u: self._failed_at[u]),)

    def dead(self, url: str) -> bool:
        now = self._clock()
        with self._lock:
            return self._dead(url, now)

    def _dead(self, url: str, now: float) -> bool:
        failed_at = self._failed_at.get(url)
        return failed_at is not None and now - failed_at < self._dead_seconds

    def tried(self, url: str) -> None:
        with self._lock:
            self.attempts[url] += 1

    def carried(self, url: str) -> None:
        with self._lock:
            self.served[url] += 1

    def failed(self, url: str) -> None:
        with self._lock:
            self._failed_at[url] = self._clock()

    def answered(self, url: str) -> None:
        with self._lock:
            self._failed_at.pop(url, None)


@dataclass(frozen=True)
class ServerProbe:
    """One server's answer to a health probe, and what the product uses it for."""

    url: str
    reads: bool
    writes: bool
    answered: bool
    problem: str = ""

    @property
    def role(self) -> str:
        return " and ".join(r for r, used in (("reads", self.reads), ("writes", self.writes))
                            if used)


class _Servers:
    """One ordered list of servers (the readers, or the writers) and its idle connections."""

    def __init__(self, urls: tuple[str, ...], size: int) -> None:
        self.urls = urls
        self.idle: queue.LifoQueue[tuple[str, Connection]] = queue.LifoQueue()
        self.slots = threading.BoundedSemaphore(size)


class ConnectionPool:
    def __init__(self, settings: DomainSettings, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self.health = ServerHealth(settings.dead_server_seconds, clock)
        self._readers = _Servers(settings.servers, settings.pool_size)
        self._writers = self._readers if settings.writers == settings.servers \
            else _Servers(settings.writers, settings.pool_size)
        # The server each person's connection was opened on (see ``bind``).
        self._opened_on: weakref.WeakKeyDictionary[Connection, str] = \
            weakref.WeakKeyDictionary()

    @property
    def urls(self) -> tuple[str, ...]:
        """Every server of the domain, readers first, each once."""
        return tuple(dict.fromkeys((*self._readers.urls, *self._writers.urls)))

    def _connection(self, url: str, user: str, password: str,
                    timeout: float | None = None) -> Connection:
        # A fresh Server each time: ldap3 marks an address unavailable for 5 s after a
        # failure, which would keep a restarted directory out of reach that long.
        receive = timeout if timeout is not None else self._settings.operation_timeout
        return Connection(build_server(self._settings, url, timeout), user=user,
                          password=password, client_strategy=SYNC, raise_exceptions=True,
                          # ldap3 packs this into SO_RCVTIMEO as whole seconds
                          receive_timeout=max(1, math.ceil(receive)),
                          auto_referrals=False, read_only=False)

    def new_connection(self, user: str, password: str) -> Connection:
        """A connection for a person's bind, opened (not bound) on the first writable server
        that accepts it: failures are counted where they replicate from (module docstring)."""
        last: Exception | None = None
        for url in self.health.order(self._writers.urls):
            self.health.tried(url)
            connection = self._connection(url, user, password)
            try:
                connection.open(read_server_info=False)
            except CONNECTION_ERRORS as exc:
                self.health.failed(url)
                last = exc
                continue
            self._opened_on[connection] = url
            return connection
        raise DirectoryUnavailable(f"user bind: no server answers "
                                   f"({type(last).__name__ if last else 'none configured'})")

    def bind(self, connection: Connection, controls: list[object] | None = None) -> None:
        """A person's bind on a ``new_connection``; ldap3's exceptions pass through.

        A server that took the connection but does not answer the bind (hung) is skipped
        from then on, as one that refused the connection is: that bind fails, the next
        person's goes to the next server. The bind is not sent again elsewhere: the first
        server may have counted it as a failure already.
        """
        try:
            connection.bind(controls=controls)
        except CONNECTION_ERRORS:
            url = self._opened_on.get(connection)
            if url is not None:
                self.health.failed(url)
            raise

    def _bound_service_connection(self, servers: _Servers) -> tuple[str, Connection]:
        last: Exception | None = None
        for url in self.health.order(servers.urls):
            self.health.tried(url)
            connection = self._connection(url, self._settings.bind_dn,
                                          self._settings.bind_password.reveal())
            try:
                connection.bind()
            except ldap_exc.LDAPInvalidCredentialsResult as exc:
                _close(connection)
                self.health.answered(url)
                raise DirectoryUnavailable("the service account's credentials are refused") \
                    from exc
            except CONNECTION_ERRORS as exc:
                _close(connection)
                self.health.failed(url)
                last = exc
                continue
            except ldap_exc.LDAPException as exc:
                _close(connection)
                raise DirectoryUnavailable(f"service bind: {type(exc).__name__}") from exc
            self.health.answered(url)
            return url, connection
        with translated("service bind"):
            if last is not None:
                raise last
        raise DirectoryUnavailable("service bind: no server configured")

    def run(self, operation: str, work: Callable[[Connection], T], *,
            writer: bool = False) -> T:
        """Run ``work`` on a pooled service connection, retrying once on a broken one.

        ``writer``: on a writable server (every write; a read that must see the latest write).
        """
        servers = self._writers if writer else self._readers
        timeout = self._settings.connect_timeout + self._settings.operation_timeout
        if not servers.slots.acquire(timeout=timeout):
            raise DirectoryUnavailable(f"{operation}: no free directory connection")
        try:
            return self._run_with_retry(servers, operation, work)
        finally:
            servers.slots.release()

    def _run_with_retry(self, servers: _Servers, operation: str,
                        work: Callable[[Connection], T]) -> T:
        for attempt in (1, 2):
            url, connection, fresh = self._take(servers)
            try:
                with translated(operation, lambda c=connection: c.result):  # type: ignore[misc]
                    result = work(connection)
            except DirectoryUnavailable as exc:
                _close(connection)
                broken = isinstance(exc.__cause__, CONNECTION_ERRORS)
                if broken:
                    self.health.failed(url)
                # Only a connection that sat idle may have gone stale; a fresh one failing
                # means the server is down now, and a write must not be sent twice.
                if fresh or attempt == 2 or not broken:
                    raise
                continue
            except BaseException:
                servers.idle.put((url, connection))
                raise
            servers.idle.put((url, connection))
            self.health.carried(url)
            return result
        raise AssertionError("unreachable")

    def _take(self, servers: _Servers) -> tuple[str, Connection, bool]:
        while True:
            try:
                url, connection = servers.idle.get_nowait()
            except queue.Empty:
                return *self._bound_service_connection(servers), True
            # A connection to a server that is no longer the first to try is dropped: to a
            # dead one it would fail; to a later one it would keep the load off the first
            # (a recovered replica, say) for as long as the connection lives.
            if connection.closed or url not in self.health.order(servers.urls)[:1]:
                _close(connection)
                continue
            return url, connection, False

    def probe(self, timeout: float | None = None) -> tuple[ServerProbe, ...]:
        """Each server, at once: does it take the service account's bind and a search?

        For health reports only: it opens its own short-lived connections and neither marks
        nor revives a server for the traffic. ``timeout`` bounds the connect and each answer
        (default: ``PROBE_TIMEOUT_SECONDS``, or the domain's connect timeout if shorter).
        """
        urls = self.urls
        wait = timeout or min(PROBE_TIMEOUT_SECONDS, self._settings.connect_timeout)
        with ThreadPoolExecutor(max_workers=max(1, len(urls)),
                                thread_name_prefix="ldap-probe") as executor:
            problems = list(executor.map(lambda url: self._probe_one(url, wait), urls))
        return tuple(ServerProbe(url, url in self._readers.urls, url in self._writers.urls,
                                 not problem, problem) for url, problem in zip(urls, problems,
                                                                               strict=True))

    def _probe_one(self, url: str, timeout: float) -> str:
        """An empty string when the server answers, else the failure's class name."""
        connection = self._connection(url, self._settings.bind_dn,
                                      self._settings.bind_password.reveal(), timeout)
        try:
            connection.bind()
            connection.search(self._settings.base_dn, "(objectClass=*)", search_scope=BASE,
                              attributes=["1.1"])
        except ldap_exc.LDAPInvalidCredentialsResult:
            return "the service account's credentials are refused"
        except (*CONNECTION_ERRORS, ldap_exc.LDAPException) as exc:
            return type(exc).__name__
        finally:
            _close(connection)
        return ""

    def close(self) -> None:
        for servers in {id(s): s for s in (self._readers, self._writers)}.values():
            while True:
                try:
                    _close(servers.idle.get_nowait()[1])
                except queue.Empty:
                    break


def _close(connection: Connection) -> None:
    # A broken connection may fail to unbind; it is dropped either way.
    with contextlib.suppress(Exception):
        connection.unbind()

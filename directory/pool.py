"""A small thread-safe pool of service-account connections.

ldap3's own pooling strategies hide failures we must report; this pool hands one bound
connection to one thread at a time, drops a connection that failed, and retries an
operation once on a fresh connection, so a restarted directory is picked up without
restarting the process (DESIGN.md section 5.10).
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
from collections.abc import Callable
from typing import TypeVar

from ldap3 import SYNC, Connection, Server, Tls
from ldap3.core import exceptions as ldap_exc

from config.settings import DomainSettings
from directory.errors import CONNECTION_ERRORS, DirectoryUnavailable, translated

T = TypeVar("T")


def build_server(settings: DomainSettings) -> Server:
    tls = None
    if settings.url.startswith("ldaps://"):
        import ssl

        tls = Tls(validate=ssl.CERT_REQUIRED if settings.tls_validate else ssl.CERT_NONE,
                  ca_certs_file=settings.tls_ca_file or None)
    return Server(settings.url, connect_timeout=settings.connect_timeout, tls=tls,
                  get_info="NO_INFO")


class ConnectionPool:
    def __init__(self, settings: DomainSettings) -> None:
        self._settings = settings
        self._idle: queue.LifoQueue[Connection] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(settings.pool_size)

    def new_connection(self, user: str, password: str) -> Connection:
        """An unbound connection with the configured timeouts (also used for user binds)."""
        # A fresh Server each time: ldap3 marks an address unavailable for 5 s after a
        # failure, which would keep a restarted directory out of reach that long.
        return Connection(build_server(self._settings), user=user, password=password,
                          client_strategy=SYNC,
                          raise_exceptions=True,
                          # ldap3 packs this into SO_RCVTIMEO as whole seconds
                          receive_timeout=max(1, math.ceil(self._settings.operation_timeout)),
                          auto_referrals=False, read_only=False)

    def _bound_service_connection(self) -> Connection:
        connection = self.new_connection(self._settings.bind_dn,
                                         self._settings.bind_password.reveal())
        with translated("service bind"):
            try:
                connection.bind()
            except ldap_exc.LDAPInvalidCredentialsResult as exc:
                raise DirectoryUnavailable("the service account's credentials are refused") \
                    from exc
        return connection

    def run(self, operation: str, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a pooled service connection, retrying once on a broken one."""
        timeout = self._settings.connect_timeout + self._settings.operation_timeout
        if not self._slots.acquire(timeout=timeout):
            raise DirectoryUnavailable(f"{operation}: no free directory connection")
        try:
            return self._run_with_retry(operation, work)
        finally:
            self._slots.release()

    def _run_with_retry(self, operation: str, work: Callable[[Connection], T]) -> T:
        for attempt in (1, 2):
            connection, fresh = self._take()
            try:
                with translated(operation, lambda c=connection: c.result):  # type: ignore[misc]
                    result = work(connection)
            except DirectoryUnavailable as exc:
                _close(connection)
                # Only a connection that sat idle may have gone stale; a fresh one failing
                # means the server is down now, and a write must not be sent twice.
                if fresh or attempt == 2 or not isinstance(exc.__cause__, CONNECTION_ERRORS):
                    raise
                continue
            except BaseException:
                self._idle.put(connection)
                raise
            self._idle.put(connection)
            return result
        raise AssertionError("unreachable")

    def _take(self) -> tuple[Connection, bool]:
        try:
            connection = self._idle.get_nowait()
        except queue.Empty:
            return self._bound_service_connection(), True
        if connection.closed:
            return self._bound_service_connection(), True
        return connection, False

    def close(self) -> None:
        while True:
            try:
                _close(self._idle.get_nowait())
            except queue.Empty:
                return


def _close(connection: Connection) -> None:
    # A broken connection may fail to unbind; it is dropped either way.
    with contextlib.suppress(Exception):
        connection.unbind()

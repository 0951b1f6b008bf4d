"""DESIGN.md 5.4 (injection) and 5.10 (faults) for the directory layer, on a real slapd."""

from __future__ import annotations

import os
import signal
import time

import pytest

from bot.local_stack import LocalSlapd
from dialogs.directory_port import DirectoryUnavailable
from directory import LdapDirectory
from tests.conftest import domain_settings

HOSTILE_LOGINS = [
    "*",
    "*)(uid=*",
    "admin)(|(uid=*",
    "alice)(|(objectClass=*)",
    "alice\x00",
    "\x00",
    "a" * 1000,
    "Zoë-Ærøskøbing-東京",
    "uid=alice,ou=people,dc=example,dc=test",
    "\\2a",
    "(",
    ")",
]


@pytest.mark.parametrize("login", HOSTILE_LOGINS)
def test_security_injection_hostile_usernames_find_nobody(directory: LdapDirectory,
                                                          login: str) -> None:
    assert directory.find_account(login) is None


def test_security_injection_escaped_value_still_matches_exactly(directory: LdapDirectory) -> None:
    account = directory.find_account("  alice ")
    assert account is not None and account.username == "alice"


def test_security_faults_directory_stopped_then_restarted(slapd_server: LocalSlapd) -> None:
    directory = LdapDirectory(domain_settings(slapd_server.info, connect_timeout=1.0,
                                              operation_timeout=1.0))
    assert directory.find_account("alice") is not None  # a pooled connection now exists

    slapd_server.stop()
    started = time.monotonic()
    with pytest.raises(DirectoryUnavailable):
        directory.find_account("alice")
    assert time.monotonic() - started < 3.0

    slapd_server.start()
    account = directory.find_account("alice")  # same process, same pool, no restart
    assert account is not None and account.username == "alice"
    directory.close()


def test_security_faults_hung_directory_times_out(slapd_server: LocalSlapd) -> None:
    directory = LdapDirectory(domain_settings(slapd_server.info, connect_timeout=1.0,
                                              operation_timeout=1.0))
    assert directory.find_account("alice") is not None
    pid = slapd_server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # accepts TCP, answers nothing: a slow server
    try:
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable):
            directory.find_account("alice")
        assert time.monotonic() - started < 5.0  # operation timeout, plus one reconnect
    finally:
        os.kill(pid, signal.SIGCONT)
    assert directory.find_account("alice") is not None
    directory.close()


def test_security_faults_wrong_service_password_is_unavailable(slapd_server: LocalSlapd) -> None:
    from config import Secret

    directory = LdapDirectory(domain_settings(slapd_server.info,
                                              bind_password=Secret("not-the-service-password")))
    with pytest.raises(DirectoryUnavailable):
        directory.ping()

"""Directory replicas (issue 14), on a real provider + syncrepl consumer pair on loopback.

The product reads from the consumer first and writes to the provider (``write_urls``); the
consumer is killed in the middle of a forgot-password conversation; the next turns are served
by the provider; the reset binds with the new password, not the old one, on the provider and,
once it is back and has replicated, on the consumer. A dead (hung) first server costs one
connection attempt per ``dead_server_seconds``, counted at the socket, never timed.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from bot.health import ComponentDown, Degraded, directory_probe
from bot.local_stack import SlapdInfo, demo_user
from bot.local_stack.enrolments import demo_answers
from bot.services import Application
from config import Secret, settings_from_dict
from config.settings import DomainSettings
from dialogs.directory_port import InvalidCredentials
from directory import LdapDirectory
from directory.pool import ConnectionPool
from tests.directory.test_openldap import binds
from tests.engine.conftest import demo_application, settings_data
from tests.engine.conversation import Conversation, RecordingRenderer
from tests.ha.replicas import (
    ConsumerSlapd,
    ProviderSlapd,
    SilentServer,
    read_attribute,
    wait_until_replicated,
)

NEW_PASSWORD = "Granite-Orchard-Violin-58"
Pair = tuple[ProviderSlapd, ConsumerSlapd]


def replica_settings(provider: SlapdInfo, reads: list[str], redis_url: str,
                     **domain: Any) -> Any:
    data = settings_data(provider, redis_url)
    default = data["domains"]["DEFAULT"]
    del default["url"]
    default.update(urls=reads, write_urls=[provider.url], **domain)
    return settings_from_dict(data)


@contextmanager
def replicated_app(pair: Pair, reads: list[str], redis_url: str,
                   renderer: RecordingRenderer) -> Iterator[Application]:
    provider, consumer = pair
    settings = replica_settings(provider.info, reads, redis_url)
    with demo_application(settings, audit_stream=io.StringIO(), renderer=renderer) as app:
        # The demo enrolments were written on the provider: the consumer reads them once
        # replicated.
        alice = demo_user("alice").dn
        written = read_attribute(provider.info, alice, "sspmEnrolment")
        assert written and wait_until_replicated(consumer.info, alice, "sspmEnrolment", written)
        yield app


def step(c: Conversation, action: Any, *args: Any) -> None:
    action(*args)
    assert not c.said("service.unavailable"), c.text()


def test_forgot_password_continues_when_the_replica_in_use_dies(
        replica_pair: Pair, redis_server: Any, redis_client: Any) -> None:
    provider, consumer = replica_pair
    renderer = RecordingRenderer()
    alice = demo_user("alice")
    with replicated_app(replica_pair, [consumer.info.url, provider.info.url],
                        redis_server.info.url, renderer) as app:
        pool = app.directories["DEFAULT"].pool
        c = Conversation(app.engine, app.catalogue, renderer)
        served = pool.health.served
        step(c, c.start)
        step(c, c.choose, "forgot")
        step(c, c.say, "alice")
        step(c, c.solve_captcha)
        step(c, c.answer_questions, demo_answers("alice"))
        assert c.asks("proof.ask_code"), c.text()
        by_consumer, by_provider = served[consumer.info.url], served[provider.info.url]
        assert by_consumer >= 1  # the account was found on the consumer

        consumer.kill()  # the server this worker reads from, killed mid-flow

        step(c, c.say, c.last_code())  # the next turn reads the account again
        assert pool.health.dead(consumer.info.url)  # noticed by a turn, then skipped
        assert served[consumer.info.url] == by_consumer
        assert served[provider.info.url] > by_provider  # served by the other
        step(c, c.say, NEW_PASSWORD)
        step(c, c.say, NEW_PASSWORD)
        assert c.said("forgot.done") and c.ended(), c.text()
        assert served[consumer.info.url] == by_consumer

    assert binds(provider.info, alice.dn, NEW_PASSWORD)
    assert not binds(provider.info, alice.dn, alice.password)
    consumer.start()  # back, it catches up with the provider
    assert wait_until_replicated(consumer.info, alice.dn, "pwdChangedTime",
                                 read_attribute(provider.info, alice.dn, "pwdChangedTime"))
    assert binds(consumer.info, alice.dn, NEW_PASSWORD)
    assert not binds(consumer.info, alice.dn, alice.password)


def test_writes_reach_the_provider_while_reads_stay_on_the_consumer(
        replica_pair: Pair, redis_server: Any, redis_client: Any) -> None:
    """Without write_urls the consumer would answer the reset with a referral."""
    provider, consumer = replica_pair
    renderer = RecordingRenderer()
    alice = demo_user("alice")
    with replicated_app(replica_pair, [consumer.info.url], redis_server.info.url,
                        renderer) as app:
        c = Conversation(app.engine, app.catalogue, renderer)
        for action, args in ((c.start, ()), (c.choose, ("forgot",)), (c.say, ("alice",)),
                             (c.solve_captcha, ())):
            step(c, action, *args)
        step(c, c.answer_questions, demo_answers("alice"))
        step(c, c.say, c.last_code())
        step(c, c.say, NEW_PASSWORD)
        step(c, c.say, NEW_PASSWORD)
        assert c.said("forgot.done"), c.text()
        health = app.directories["DEFAULT"].pool.health
        assert health.attempts[consumer.info.url] >= 1 and health.attempts[provider.info.url] >= 1
    assert binds(provider.info, alice.dn, NEW_PASSWORD)
    assert wait_until_replicated(consumer.info, alice.dn, "pwdChangedTime",
                                 read_attribute(provider.info, alice.dn, "pwdChangedTime"))
    assert binds(consumer.info, alice.dn, NEW_PASSWORD)
    assert not binds(consumer.info, alice.dn, alice.password)


def test_a_wrong_password_is_counted_on_the_provider_and_read_back_from_it(
        replica_pair: Pair) -> None:
    """ppolicy counts a failed bind where it happens, and a consumer keeps its count to
    itself: so the product binds on the provider, and reads the count back from there."""
    provider, consumer = replica_pair
    bob = demo_user("bob")
    directory = LdapDirectory(domain(provider.info, [consumer.info.url],
                                     write_urls=(provider.info.url,)))
    try:
        account = directory.find_account("bob")
        assert account is not None and account.failed_binds == 0
        with pytest.raises(InvalidCredentials):
            directory.verify_password(account, "not-bob's-password")
        assert len(read_attribute(provider.info, bob.dn, "pwdFailureTime")) == 1
        assert directory.refresh(account).failed_binds == 1  # read where it was written
        failures = read_attribute(provider.info, bob.dn, "pwdFailureTime")
        assert wait_until_replicated(consumer.info, bob.dn, "pwdFailureTime", failures)
    finally:
        directory.close()


def domain(provider: SlapdInfo, urls: list[str], **overrides: Any) -> DomainSettings:
    values: dict[str, Any] = {
        "name": "DEFAULT", "urls": tuple(urls), "base_dn": provider.base_dn,
        "bind_dn": provider.service_dn, "bind_password": Secret(provider.service_password),
        "users_dn": f"ou=people,{provider.base_dn}", "connect_timeout": 1.0,
        "operation_timeout": 1.0}
    values.update(overrides)
    return DomainSettings(**values)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_hung_first_server_costs_one_attempt_per_period_not_one_per_turn(
        slapd: SlapdInfo, silent_server: SilentServer) -> None:
    clock = Clock()
    settings = domain(slapd, [silent_server.url, slapd.url], dead_server_seconds=30.0)
    pool = ConnectionPool(settings, clock=clock)
    directory = LdapDirectory(settings, pool=pool)
    try:
        for _ in range(5):  # five turns, each on new connections
            assert directory.find_account("alice") is not None
            pool.close()
        assert silent_server.accepted == 1
        assert pool.health.dead(silent_server.url)
        clock.now += 31  # the period is over: the first server is tried again, once
        for _ in range(3):
            assert directory.find_account("alice") is not None
            pool.close()
        assert silent_server.accepted == 2
    finally:
        directory.close()


def test_a_refused_first_writer_costs_no_turn_and_one_attempt(slapd: SlapdInfo,
                                                              silent_server: SilentServer) -> None:
    closed = f"ldap://127.0.0.1:{_closed_port()}"
    settings = domain(slapd, [slapd.url], write_urls=(closed, slapd.url))
    directory = LdapDirectory(settings)
    alice = demo_user("alice")
    try:
        account = directory.find_account("alice")
        assert account is not None
        for _ in range(4):
            directory.verify_password(account, alice.password)  # served every time
        assert directory.pool.health.attempts[closed] == 1
    finally:
        directory.close()


def test_a_conversation_pays_for_a_hung_first_server_once(
        replica_pair: Pair, silent_server: SilentServer, redis_server: Any,
        redis_client: Any) -> None:
    consumer = replica_pair[1]
    renderer = RecordingRenderer()
    with replicated_app(replica_pair, [silent_server.url, consumer.info.url],
                        redis_server.info.url, renderer) as app:
        for person in ("p1", "p2", "p3"):
            c = Conversation(app.engine, app.catalogue, renderer, sender=person)
            for action, args in ((c.start, ()), (c.choose, ("forgot",)), (c.say, ("alice",)),
                                 (c.solve_captcha, ())):
                step(c, action, *args)
            assert c.asks("proof.ask_question"), c.text()
            app.directories["DEFAULT"].pool.close()  # a new connection for every person
    assert silent_server.accepted == 1


def test_healthz_probe_reports_a_dead_replica_as_degraded_and_a_dead_provider_as_down(
        replica_pair: Pair) -> None:
    provider, consumer = replica_pair
    directory = LdapDirectory(domain(provider.info, [consumer.info.url, provider.info.url],
                                     write_urls=(provider.info.url,)))
    probe = directory_probe(directory)
    try:
        assert probe() is None
        consumer.kill()
        answer = probe()
        assert isinstance(answer, Degraded) and "1 of 2" in answer.reason, answer
        assert "127.0.0.1" not in answer.reason  # addresses are for sspm check
        consumer.start()
        assert probe() is None
        provider.stop()
        try:
            probe()
        except ComponentDown as exc:
            assert "writes" in str(exc)
        else:
            raise AssertionError("a domain with no writable server is down")
    finally:
        directory.close()


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

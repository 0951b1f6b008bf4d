"""How the Redis client is built: the one factory behind every store, lock, stream and helper.

``redis_client(settings.redis)`` gives a ``redis.Redis`` for each deployment shape of
``config.redis_target``:

- one server: ``redis.Redis.from_url``;
- a Sentinel-managed master: ``redis.sentinel.Sentinel(...).master_for(service)``, whose
  connections ask the sentinels for the master's address each time they (re)connect, so the
  client follows a failover by itself (issue 14);
- a Redis Cluster: ``redis.cluster.RedisCluster`` (the stores' keys carry a hash tag per
  conversation, so each conversation's multi-key operations stay in one slot).

Every shape gets the same short timeouts and one retry without backoff: redis-py's default
(3 retries with backoff) makes a down Redis cost about 5 s per call, and the person must hear
"try again later" quickly (DESIGN.md 5.10). With Sentinel the one retry is also what follows a
failover: the failed call drops its connection and the retry asks the sentinels again.

``redis_probe`` and ``sentinel_report`` tell ``/healthz`` and ``sspm check`` what the sentinels
see: a sentinel down, a failover in progress, no replica left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel

from bot.health import ComponentDown, Degraded
from config.redis_target import RedisTarget
from config.settings import RedisSettings


class SentinelRedis(redis.Redis):
    """The master's client; it also holds its sentinels, to report on them and close them."""

    manager: Sentinel
    service_name: str

    def close(self) -> None:
        super().close()
        for node in self.manager.sentinels:
            node.close()


def redis_client(settings: RedisSettings) -> redis.Redis:
    """The client every part of the product shares (``bot.services.build_application``)."""
    target = settings.target
    if target.kind == "sentinel":
        return _sentinel_master(settings, target)
    if target.kind == "cluster":
        # RedisCluster speaks the same commands; the stores use only single-slot ones.
        return cast(redis.Redis, RedisCluster(
            startup_nodes=[ClusterNode(host, port)  # type: ignore[no-untyped-call]
                           for host, port in target.nodes],
            **_connection_options(settings, target)))
    return redis.Redis.from_url(target.url.reveal(), **_connection_options(settings, target))


def _connection_options(settings: RedisSettings, target: RedisTarget) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_timeout,
        "retry": Retry(NoBackoff(), 1)}
    if target.password:  # a single URL's own credentials win over these (redis-py's rule)
        options.update(username=target.username or None, password=target.password.reveal())
    if target.tls and target.kind != "single":
        options["ssl"] = True
    if target.tls and settings.tls_ca_file:
        options["ssl_ca_certs"] = settings.tls_ca_file
    return options


def _sentinel_master(settings: RedisSettings, target: RedisTarget) -> SentinelRedis:
    table = settings.sentinel
    to_sentinels: dict[str, Any] = {
        "socket_timeout": settings.socket_timeout,
        "socket_connect_timeout": settings.socket_timeout,
        # discover_master already walks every sentinel: a retry per sentinel only adds waiting
        "retry": Retry(NoBackoff(), 0)}
    if table.password:
        to_sentinels.update(username=table.username or None, password=table.password.reveal())
    if target.tls:
        to_sentinels["ssl"] = True
        if settings.tls_ca_file:
            to_sentinels["ssl_ca_certs"] = settings.tls_ca_file
    manager = Sentinel(list(target.nodes),  # type: ignore[no-untyped-call]
                       sentinel_kwargs=to_sentinels)
    client = manager.master_for(  # type: ignore[no-untyped-call]
        target.service_name, redis_class=SentinelRedis, db=target.db,
        **_connection_options(settings, target))
    client.manager, client.service_name = manager, target.service_name
    return cast(SentinelRedis, client)


# -- what the sentinels see ------------------------------------------------------------------------

@dataclass(frozen=True)
class SentinelView:
    """One sentinel's answer about the service (``None`` fields: it did not answer)."""

    address: str
    master: str | None = None  # "host:port" it names as master
    flags: frozenset[str] = frozenset()
    replicas: int = 0  # replicas it sees up
    problem: str = ""  # why it did not answer (an exception's class name)

    @property
    def answered(self) -> bool:
        return self.master is not None


def sentinel_views(client: SentinelRedis) -> list[SentinelView]:
    """Every configured sentinel's view of the master, asked one after the other."""
    views = []
    for node in client.manager.sentinels:
        kwargs = node.connection_pool.connection_kwargs
        address = f"{kwargs['host']}:{kwargs['port']}"
        try:
            state = node.sentinel_master(client.service_name)  # type: ignore[no-untyped-call]
        except redis.RedisError as exc:
            views.append(SentinelView(address, problem=type(exc).__name__))
            continue
        views.append(SentinelView(address, master=f"{state['ip']}:{state['port']}",
                                  flags=frozenset(str(state["flags"]).split(",")),
                                  replicas=_live_replicas(node, client.service_name)))
    return views


def _live_replicas(node: redis.Redis, service: str) -> int:
    """Replicas the sentinel sees up; a dead old master stays listed as a replica, down."""
    try:
        replicas = node.sentinel_slaves(service)  # type: ignore[no-untyped-call]
    except redis.RedisError:
        return 0
    return sum(1 for r in replicas if not (r["is_sdown"] or r["is_odown"]
                                          or r["is_disconnected"]))


@dataclass(frozen=True)
class SentinelReport:
    """What is wrong, worded for an operator; no password, only addresses and states."""

    degraded: tuple[str, ...] = ()  # each: the service works, with less margin than configured


def sentinel_report(views: list[SentinelView]) -> SentinelReport:
    answered = [v for v in views if v.answered]
    if not answered:  # the master may still serve the connections already open
        return SentinelReport(degraded=(f"no sentinel of {len(views)} answers: a new "
                                        "connection cannot find the master",))
    notes = []
    silent = [v.address for v in views if not v.answered]
    if silent:
        notes.append(f"{len(silent)} of {len(views)} sentinels unreachable "
                     f"({', '.join(silent)})")
    if any({"s_down", "o_down", "failover_in_progress"} & v.flags for v in answered):
        notes.append("master failover in progress")
    if len({v.master for v in answered}) > 1:
        notes.append("sentinels disagree on the master")
    if max(v.replicas for v in answered) == 0:
        notes.append("no replica: losing the master now would lose the data")
    return SentinelReport(degraded=tuple(notes))


def redis_probe(client: redis.Redis) -> Callable[[], object]:
    """For ``/healthz``: PING, plus (under Sentinel) what the sentinels report."""
    if not isinstance(client, SentinelRedis):
        return client.ping
    sentinel_client = client

    def probe() -> Degraded | None:
        notes = sentinel_report(sentinel_views(sentinel_client)).degraded
        try:
            sentinel_client.ping()
        except redis.RedisError as exc:
            seen = "; ".join(notes) or "the sentinels see no fault yet"
            raise ComponentDown(f"master unreachable ({type(exc).__name__}); {seen}") from None
        return Degraded("; ".join(notes)) if notes else None

    return probe

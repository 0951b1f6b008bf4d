"""Where Redis is: one server, a Sentinel-managed master, or a Redis Cluster.

``redis.url`` (``SSPM_REDIS_URL``) takes one of these forms::

    redis://[[user]:password@]host:port/db         one server (also rediss://, unix://)
    redis+sentinel://[[user]:password@]host:port,host:port/service_name[/db]
    redis+cluster://[[user]:password@]host:port,host:port
    rediss+sentinel://...  rediss+cluster://...    the same over TLS

The user and password of a sentinel or cluster URL are the data nodes' (the master's, or every
cluster node's); a sentinel's own password is ``redis.sentinel.password``
(``SSPM_REDIS_SENTINEL_PASSWORD``), because Sentinel and the data nodes are usually secured
apart. This module only parses: ``bot.redis_connection`` builds the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal, Protocol
from urllib.parse import unquote

from config.errors import ConfigError, raise_all
from config.secret import Secret

Kind = Literal["single", "sentinel", "cluster"]
SINGLE_SCHEMES = ("redis://", "rediss://", "unix://")
_MANY_SCHEMES: dict[str, tuple[Kind, bool]] = {
    "redis+sentinel": ("sentinel", False), "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False), "rediss+cluster": ("cluster", True),
}
SCHEMES_HELP = ("must start with redis://, rediss://, unix://, redis+sentinel://, "
                "rediss+sentinel://, redis+cluster:// or rediss+cluster://")


class RedisUrlError(ValueError):
    """The URL's problem, worded for the operator; never carries the password."""


@dataclass(frozen=True)
class RedisTarget:
    """One deployment shape, resolved from the URL and the ``[redis.sentinel]`` table."""

    kind: Kind
    url: Secret = field(default_factory=lambda: Secret(""))  # "single" only: the whole URL
    nodes: tuple[tuple[str, int], ...] = ()  # sentinels, or cluster startup nodes
    service_name: str = ""
    db: int = 0
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    tls: bool = False

    def shown(self) -> str:
        """For logs and ``sspm check``: where, never the password."""
        if self.kind == "single":
            return self.url.reveal().split("@")[-1]
        nodes = ",".join(f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                         for host, port in self.nodes)
        scheme = ("rediss+" if self.tls else "redis+") + self.kind
        where = f"/{self.service_name}/{self.db}" if self.kind == "sentinel" else ""
        return f"{scheme}://{nodes}{where}"


def parse_redis_url(url: str) -> RedisTarget:
    """The target a URL names; raises ``RedisUrlError`` saying what is wrong."""
    if url.startswith(SINGLE_SCHEMES):
        return RedisTarget("single", url=Secret(url), tls=url.startswith("rediss://"))
    scheme, separator, rest = url.partition("://")
    if not separator or scheme not in _MANY_SCHEMES:
        raise RedisUrlError(SCHEMES_HELP)
    kind, tls = _MANY_SCHEMES[scheme]
    userinfo, _, location = rest.rpartition("@")
    hosts, _, path = location.partition("/")
    username, password = _userinfo(userinfo)
    target = RedisTarget(kind, nodes=parse_addresses(hosts.split(",")), username=username,
                         password=Secret(password), tls=tls)
    return _with_path(target, path.split("?")[0])


def parse_addresses(addresses: list[str] | tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``host:port`` (or ``[v6]:port``) each; at least one."""
    nodes = tuple(_address(a.strip()) for a in addresses if a.strip())
    if not nodes:
        raise RedisUrlError("names no host:port")
    return nodes


def _address(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"{text!r} is not host:port")
    return host.removeprefix("[").removesuffix("]"), int(port)


def _userinfo(userinfo: str) -> tuple[str, str]:
    if not userinfo:
        return "", ""
    username, colon, password = userinfo.partition(":")
    if not colon:  # redis-py reads a lone userinfo as the password (no ACL user)
        return "", unquote(username)
    return unquote(username), unquote(password)


def _with_path(target: RedisTarget, path: str) -> RedisTarget:
    parts = [p for p in path.split("/") if p]
    if target.kind == "cluster":
        if parts:
            raise RedisUrlError("a cluster URL has no path: a cluster has one database (0)")
        return target
    if not parts or len(parts) > 2:
        raise RedisUrlError("a sentinel URL ends with /service_name or /service_name/db")
    db = parts[1] if len(parts) == 2 else "0"
    if not db.isdigit():
        raise RedisUrlError(f"the database {db!r} is not a number")
    return replace(target, service_name=unquote(parts[0]), db=int(db))


DEFAULT_URL = "redis://127.0.0.1:6379/0"


class _SentinelTable(Protocol):
    @property
    def addresses(self) -> tuple[str, ...]: ...
    @property
    def service_name(self) -> str: ...
    @property
    def db(self) -> int: ...
    @property
    def tls(self) -> bool: ...


class _RedisSection(Protocol):
    """``config.settings.RedisSettings``, read-only (that module imports this one)."""

    @property
    def url(self) -> Secret: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> Secret: ...
    @property
    def sentinel(self) -> _SentinelTable: ...


def resolve_target(section: _RedisSection) -> RedisTarget:
    """The ``[redis]`` section's target; raises ``ConfigError`` naming the key to fix."""
    try:
        from_url = parse_redis_url(section.url.reveal())
    except RedisUrlError as exc:
        raise ConfigError("redis.url", str(exc)) from None
    table = section.sentinel
    target = from_url
    if table.addresses or table.service_name:
        if from_url.kind != "single" or section.url.reveal() != DEFAULT_URL:
            raise ConfigError("redis.sentinel", "the sentinels are given twice: keep either "
                              "redis.url (or SSPM_REDIS_URL) or the [redis.sentinel] table")
        target = _from_table(table)
    return _with_credentials(target, section)


def _from_table(table: _SentinelTable) -> RedisTarget:
    errors: list[ConfigError] = []
    nodes: tuple[tuple[str, int], ...] = ()
    try:
        nodes = parse_addresses(table.addresses)
    except RedisUrlError as exc:
        errors.append(ConfigError("redis.sentinel.addresses", str(exc)))
    if not table.service_name.strip():
        errors.append(ConfigError("redis.sentinel.service_name",
                                  "is required: the name the sentinels monitor the master by"))
    if isinstance(table.db, bool) or table.db < 0:
        errors.append(ConfigError("redis.sentinel.db", "must be 0 or more"))
    raise_all(errors)
    return RedisTarget("sentinel", nodes=nodes, service_name=table.service_name.strip(),
                       db=table.db, tls=table.tls)


def _with_credentials(target: RedisTarget, section: _RedisSection) -> RedisTarget:
    in_url = bool(target.password) or "@" in target.url.reveal()
    if in_url and (section.password or section.username):
        raise ConfigError("redis.password", "the credentials are also in redis.url: keep one "
                          "(the URL, or redis.username and SSPM_REDIS_PASSWORD)")
    if in_url:
        return target
    return replace(target, username=section.username, password=section.password)

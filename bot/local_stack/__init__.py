"""Throwaway slapd and redis-server on free loopback ports, for tests and ``sspm demo``;
a throwaway Samba AD DC (``bot.local_stack.samba``: LDAPS on 127.0.0.1:636, one per machine).

Nothing outside the given folder is touched; each server is stopped through its own process.
"""

from bot.local_stack.redis_server import LocalRedis, RedisInfo
from bot.local_stack.seed import DEMO_USERS, DemoUser, demo_user
from bot.local_stack.slapd import LocalSlapd, LocalStackError, SlapdInfo

__all__ = ["DEMO_USERS", "DemoUser", "LocalRedis", "LocalSlapd", "LocalStackError",
           "RedisInfo", "SlapdInfo", "demo_user"]

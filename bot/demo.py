"""``sspm demo``: the product on its throwaway local stack, with the demo users."""

from __future__ import annotations

import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from bot.check import print_results, run_checks
from bot.local_stack import DEMO_USERS, LocalRedis, LocalSlapd, RedisInfo, SlapdInfo
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from config import Settings, load_settings


@dataclass(frozen=True)
class DemoStack:
    slapd: SlapdInfo
    redis: RedisInfo
    config_path: Path
    environment: dict[str, str]

    def settings(self) -> Settings:
        return load_settings(self.config_path, self.environment)


def demo_config(slapd: SlapdInfo, redis_url: str) -> str:
    return f"""# Written by `sspm demo` for its throwaway servers.
[redis]
url = "{redis_url}"

[dialog]
time_allotment_seconds = 300

[helpdesk]
phone = "+1 555 0100"
email = "helpdesk@example.test"
registration_authority = "the IT service desk, building A"

[domains.DEFAULT]
url = "{slapd.url}"
base_dn = "{slapd.base_dn}"
bind_dn = "{slapd.service_dn}"
users_dn = "{PEOPLE_DN}"
protected_groups = ["{PROTECTED_GROUP_DN}"]
"""


@contextmanager
def demo_stack(workdir: Path) -> Iterator[DemoStack]:
    slapd = LocalSlapd(workdir / "slapd")
    redis = LocalRedis(workdir / "redis")
    slapd_info = slapd.start()
    try:
        redis_info = redis.start()
        try:
            config_path = workdir / "sspm.toml"
            config_path.write_text(demo_config(slapd_info, redis_info.url))
            environment = {"SSPM_LDAP_BIND_PASSWORD": slapd_info.service_password,
                           "SSPM_SECRET_KEY": secrets.token_urlsafe(32)}
            yield DemoStack(slapd_info, redis_info, config_path, environment)
        finally:
            redis.stop()
    finally:
        slapd.stop()


def describe(stack: DemoStack) -> str:
    lines = [
        "SSPM assistant demo: throwaway servers on loopback",
        f"  directory : {stack.slapd.url}  base {stack.slapd.base_dn}",
        f"  redis     : {stack.redis.url}",
        f"  config    : {stack.config_path}",
        "",
        "Demo users (username / password / employee number: state):",
    ]
    lines += [f"  {u.uid:<6} {u.password:<20} {u.employee_number}: {u.state}" for u in DEMO_USERS]
    return "\n".join(lines)


def run_demo(workdir: str | None = None, wait: bool = True) -> int:
    own_folder = workdir is None
    folder = Path(workdir or tempfile.mkdtemp(prefix="sspm-demo-"))
    try:
        with demo_stack(folder) as stack:
            print(describe(stack), flush=True)
            print("\nChecks:")
            status = print_results(run_checks(stack.settings()), sys.stdout)
            if wait and status == 0:
                print("\nThe stack runs until Ctrl-C.", flush=True)
                _wait_for_signal()
            return status
    finally:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)


def _wait_for_signal() -> None:
    stop = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, handler)
    try:
        while not stop:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass

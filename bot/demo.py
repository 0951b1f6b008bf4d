"""``sspm demo``: the product on its throwaway local stack, with the demo users."""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.check import print_results, run_checks
from bot.console_command import run_console
from bot.local_stack import DEMO_USERS, LocalRedis, LocalSlapd, RedisInfo, SlapdInfo
from bot.local_stack.enrolments import DEMO_ENROLMENTS, seed_enrolments
from bot.local_stack.seed import PEOPLE_DN, PROTECTED_GROUP_DN
from bot.logging_setup import configure_logging
from bot.services import build_application
from config import Settings, load_settings


@dataclass(frozen=True)
class DemoStack:
    slapd: SlapdInfo
    redis: RedisInfo
    config_path: Path
    environment: dict[str, str]

    def settings(self) -> Settings:
        return load_settings(self.config_path, self.environment)


def demo_config(slapd: SlapdInfo, redis_url: str, workdir: Path, captcha: bool = True) -> str:
    return f"""# Written by `sspm demo` for its throwaway servers.
[redis]
url = "{redis_url}"

[audit]
path = "{workdir / 'audit.log'}"

[channels.console]
captcha = {str(captcha).lower()}

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
def demo_stack(workdir: Path, captcha: bool = True) -> Iterator[DemoStack]:
    slapd = LocalSlapd(workdir / "slapd")
    redis = LocalRedis(workdir / "redis")
    slapd_info = slapd.start()
    try:
        redis_info = redis.start()
        try:
            config_path = workdir / "sspm.toml"
            config_path.write_text(demo_config(slapd_info, redis_info.url, workdir, captcha))
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
    lines += ["", "Enrolled answers (the one-time codes appear as [SMS to ...] lines):"]
    for enrolment in DEMO_ENROLMENTS:
        answers = "; ".join(f"{_QUESTION_HINTS.get(q, q)}: {a}" for q, a in enrolment.answers)
        lines.append(f"  {enrolment.uid:<6} {answers}")
    lines += ["", f"Audit records: {stack.config_path.parent / 'audit.log'}",
              "Type 'menu', 'help', 'cancel' or 'language' at any time; 'quit' to stop."]
    return "\n".join(lines)


_QUESTION_HINTS = {
    "q.first_pet": "first pet", "q.first_school": "first school",
    "q.childhood_street": "childhood street", "q.first_concert": "first concert",
    "q.childhood_friend": "childhood friend", "q.childhood_hero": "childhood hero",
}


def run_demo(workdir: str | None = None, wait: bool = True, *, sender: str = "local",
             captcha_dir: str | None = None, log_file: str | None = None,
             captcha: bool = True) -> int:
    """Start the stack, enrol the demo users, check, then talk in the console until quit."""
    own_folder = workdir is None
    folder = Path(workdir or tempfile.mkdtemp(prefix="sspm-demo-"))
    try:
        with demo_stack(folder, captcha=captcha) as stack:
            settings = stack.settings()
            configure_logging(log_file or str(folder / "sspm.log"))
            app = build_application(settings)
            try:
                seed_enrolments(app.directories[settings.default_domain],
                                app.services.hasher)
                print(describe(stack), flush=True)
                print("\nChecks:")
                status = print_results(run_checks(settings), sys.stdout)
                if not wait or status != 0:
                    return status
                print(flush=True)
                return run_console(app, sender=sender,
                                   captcha_dir=captcha_dir or str(folder / "captchas"))
            finally:
                app.close()
    finally:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)

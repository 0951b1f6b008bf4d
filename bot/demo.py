"""``sspm demo``: the product on its throwaway local stack, with the demo users."""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.check import print_results, run_checks
from bot.console_command import run_console
from bot.local_stack import DEMO_USERS, LocalRedis, LocalSlapd, RedisInfo, SlapdInfo
from bot.local_stack.enrolments import DEMO_ENROLMENTS, seed_enrolments
from bot.local_stack.seed import (
    AGENTS_GROUP_DN,
    PEOPLE_DN,
    PROTECTED_GROUP_DN,
    REPORTERS_GROUP_DN,
)
from bot.logging_setup import configure_logging
from bot.outbound import PrintingSms
from bot.services import Application, build_application
from channels.catalogue import Catalogue
from config import Settings, load_settings
from dialogs.messages import Message


@dataclass(frozen=True)
class DemoStack:
    slapd: SlapdInfo
    redis: RedisInfo
    config_path: Path
    environment: dict[str, str]

    def settings(self) -> Settings:
        return load_settings(self.config_path, self.environment)

    @property
    def env_path(self) -> Path:
        """The secrets beside the config, for ``sspm`` run from another terminal (issue 12)."""
        return self.config_path.with_name("sspm.env")


def demo_config(slapd: SlapdInfo, redis_url: str, workdir: Path, captcha: bool = True,
                web_port: int | None = None) -> str:
    public_url = f'public_url = "http://127.0.0.1:{web_port}"\n' if web_port else ""
    return f"""# Written by `sspm demo` for its throwaway servers.
{public_url}
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
agents_group = "{AGENTS_GROUP_DN}"
reporters_group = "{REPORTERS_GROUP_DN}"

# One text per language: a French sentence never embeds English words (issue 12).
[helpdesk.registration_authority]
en = "the IT service desk, building A"
fr = "le service informatique, bâtiment A"

[domains.DEFAULT]
url = "{slapd.url}"
base_dn = "{slapd.base_dn}"
bind_dn = "{slapd.service_dn}"
users_dn = "{PEOPLE_DN}"
# The agents' group is protected too: no agent resets a colleague, nobody self-resets an agent.
protected_groups = ["{PROTECTED_GROUP_DN}", "{AGENTS_GROUP_DN}"]
"""


@contextmanager
def demo_stack(workdir: Path, captcha: bool = True,
               web_port: int | None = None) -> Iterator[DemoStack]:
    slapd = LocalSlapd(workdir / "slapd")
    redis = LocalRedis(workdir / "redis")
    slapd_info = slapd.start()
    try:
        redis_info = redis.start()
        try:
            config_path = workdir / "sspm.toml"
            config_path.write_text(demo_config(slapd_info, redis_info.url, workdir, captcha,
                                               web_port))
            environment = {"SSPM_LDAP_BIND_PASSWORD": slapd_info.service_password,
                           "SSPM_SECRET_KEY": secrets.token_urlsafe(32)}
            if web_port:
                # A throwaway token, so the demo's webhooks can be signed by hand.
                environment["TWILIO_AUTH_TOKEN"] = secrets.token_hex(16)
            stack = DemoStack(slapd_info, redis_info, config_path, environment)
            write_env_file(stack)
            yield stack
        finally:
            redis.stop()
    finally:
        slapd.stop()


def write_env_file(stack: DemoStack) -> None:
    """``SSPM_CONFIG`` and the demo's throwaway secrets, readable by the owner only (0600:
    created so, never widened afterwards)."""
    values = {"SSPM_CONFIG": str(stack.config_path), **stack.environment}
    text = "".join(f"{name}={shlex.quote(value)}\n" for name, value in values.items())
    descriptor = os.open(stack.env_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write("# Written by `sspm demo`: its throwaway servers' secrets. From another "
                     "terminal:\n#   set -a; . " + shlex.quote(str(stack.env_path))
                     + "; set +a; .venv/bin/sspm check\n" + text)


def describe(stack: DemoStack) -> str:
    lines = [
        "SSPM assistant demo: throwaway servers on loopback",
        f"  directory : {stack.slapd.url}  base {stack.slapd.base_dn}",
        f"  redis     : {stack.redis.url}",
        f"  config    : {stack.config_path}",
        f"  secrets   : {stack.env_path} (from another terminal: "
        f"set -a; . {shlex.quote(str(stack.env_path))}; set +a; .venv/bin/sspm check)",
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


def _echo(line: str) -> None:
    print(line, flush=True)


class PrintingTelegram:
    """The demo's Telegram notices, shown on its screen: its users have no Telegram account.

    Only the demo echoes codes and notices (issue 10, property 10); they still go through the
    application's outbound, caps included, as on a real deployment. Labelled like the SMS
    (``common.notify_sent``), in the demo's language.
    """

    def __init__(self, language: str = "en") -> None:
        self._catalogue = Catalogue.load()
        self._language = language

    def send_text(self, chat_id: str, text: str) -> None:
        _echo(self._catalogue.render(Message.of(
            "common.notify_sent", channel="Telegram", address=chat_id, text=text),
            self._language))


def _serve_web(settings: Settings, app: Application, port: int) -> None:
    """The web app in a background thread: the help desk console and the password page."""
    from werkzeug.serving import make_server

    from bot.web import create_app

    server = make_server("127.0.0.1", port, create_app(settings, app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"\nWeb app: http://127.0.0.1:{port}/helpdesk (agent hana / Helpdesk-Agent-Pass-73); "
          "password links from SMS conversations open here too.", flush=True)


_QUESTION_HINTS = {
    "q.first_pet": "first pet", "q.first_school": "first school",
    "q.childhood_street": "childhood street", "q.first_concert": "first concert",
    "q.childhood_friend": "childhood friend", "q.childhood_hero": "childhood hero",
}


def run_demo(workdir: str | None = None, wait: bool = True, *, sender: str = "local",
             captcha_dir: str | None = None, log_file: str | None = None,
             captcha: bool = True, web_port: int | None = None) -> int:
    """Start the stack, enrol the demo users, check, then talk in the console until quit."""
    own_folder = workdir is None
    folder = Path(workdir or tempfile.mkdtemp(prefix="sspm-demo-"))
    try:
        with demo_stack(folder, captcha=captcha, web_port=web_port) as stack:
            settings = stack.settings()
            configure_logging(log_file or str(folder / "sspm.log"))
            language = settings.dialog.default_language
            app = build_application(settings,
                                    sms_sender=PrintingSms(_echo, language=language),
                                    telegram_sender=PrintingTelegram(language))
            try:
                seed_enrolments(app.directories[settings.default_domain],
                                app.services.hasher)
                print(describe(stack), flush=True)
                print("\nChecks:")
                status = print_results(run_checks(settings), sys.stdout)
                if not wait or status != 0:
                    return status
                if web_port:
                    _serve_web(settings, app, web_port)
                print(flush=True)
                return run_console(app, sender=sender,
                                   captcha_dir=captcha_dir or str(folder / "captchas"))
            finally:
                app.close()
    finally:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)

"""``sspm console``: the console channel on the configured services.

The console is the person's screen, so the operator's side goes elsewhere: the JSON log to a
file, and what keeps the service from working (Redis or a directory domain not answering) to
standard error, with the log file's name, and a non-zero exit status
(:data:`EXIT_UNAVAILABLE`). Before issue 12 a down stack showed only "call the help desk:
- (-)" on every line and exited 0.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import redis

from bot.logging_setup import configure_logging
from bot.services import Application
from channels.console import ConsoleChannel, DialogEngine
from dialogs.actions import Action, Say
from dialogs.directory_port import DirectoryError
from dialogs.events import ConversationKey, Event
from dialogs.messages import Message

# sysexits.h EX_UNAVAILABLE: "a service is unavailable"; scripts can tell it from a bad config.
EXIT_UNAVAILABLE = getattr(os, "EX_UNAVAILABLE", 69)
UNAVAILABLE = "service.unavailable"

log = logging.getLogger(__name__)


def run_console(app: Application, *, sender: str = "local", captcha_dir: str | None = None,
                stdin: TextIO | None = None, stdout: TextIO | None = None,
                stderr: TextIO | None = None) -> int:
    """Codes and notices leave through ``app.outbound`` like on every channel, never onto the
    screen: whoever sits here must hold the bound phone (issue 10, property 10). ``sspm
    demo`` composes ``app`` with senders that print; nothing else does."""
    folder = Path(captcha_dir or tempfile.mkdtemp(prefix="sspm-captcha-"))
    out, err = stdout or sys.stdout, stderr or sys.stderr
    language = app.services.settings.default_language
    contact = app.services.settings.contact.params()
    down = stack_problems(app)
    if down:
        # The person reads whom to call; the operator reads what is down and where to look.
        out.write(app.catalogue.render(Message.of(UNAVAILABLE, **contact), language) + "\n")
        report_down(down, err)
        return EXIT_UNAVAILABLE
    if app.outbound.sms is None:
        # Said to everyone, before any login: a per-account "not sent" would enumerate.
        out.write(app.catalogue.render(Message.of("common.console_no_sms", **contact),
                                       language) + "\n")
    watch = StackWatch(app.engine, lambda: stack_problems(app), err)
    channel = ConsoleChannel(watch, app.catalogue, stdin=stdin or sys.stdin,
                             stdout=out, sender=sender, captcha_dir=folder,
                             language=language, deliver=app.outbound.send_rendered)
    status = channel.run()
    return EXIT_UNAVAILABLE if status == 0 and watch.went_down else status


def stack_problems(app: Application) -> list[str]:
    """What does not answer, one line each: Redis, then every directory domain."""
    problems = []
    url = app.settings.redis.url.reveal().split("@")[-1]  # never a password in the URL
    try:
        app.redis.ping()
    except redis.RedisError as exc:
        problems.append(f"Redis ({url}) does not answer: {type(exc).__name__}")
    for name, directory in app.directories.items():
        try:
            directory.ping()
        except DirectoryError as exc:
            problems.append(f"directory domain {name} ({directory.settings.shown_urls}) does not "
                            f"answer: {type(exc).__name__}")
    return problems


def report_down(problems: list[str], err: TextIO) -> None:
    for problem in problems:
        log.error("console: %s", problem)
        err.write(f"sspm console: {problem}\n")
    where = operator_log_file()
    if where:
        err.write(f"sspm console: details in the log {where}\n")
    err.write("sspm console: `sspm check` tells what to fix\n")
    err.flush()


def operator_log_file() -> str | None:
    """The file the operator log goes to (``console_logging`` installs it), if any."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return None


class StackWatch:
    """The engine, telling the operator (once per outage) when a turn met a down stack.

    The engine answers an unreachable Redis or directory with ``service.unavailable`` (and
    logs it); the person reads that on the console, the operator needs stderr and the exit
    status, or the cause stays in a log file nobody is told about.
    """

    def __init__(self, engine: DialogEngine, probe: Callable[[], list[str]],
                 err: TextIO) -> None:
        self._engine = engine
        self._probe = probe
        self._err = err
        self._reported = False
        self.went_down = False

    def handle(self, key: ConversationKey, event: Event) -> list[Action]:
        actions = self._engine.handle(key, event)
        unavailable = any(isinstance(a, Say) and a.message.id == UNAVAILABLE for a in actions)
        if unavailable and not self._reported:
            self.went_down = self._reported = True
            report_down(self._probe() or ["a turn found the service unavailable"], self._err)
        elif not unavailable:
            self._reported = False
        return actions


def console_logging(log_file: str | None) -> str:
    """The console is the person's screen: operator logs go to a file, not there."""
    path = log_file or str(Path(tempfile.gettempdir()) / "sspm-console.log")
    configure_logging(path)
    return path

"""``sspm console``: the console channel on the configured services."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.logging_setup import configure_logging
from bot.services import Application
from channels.console import ConsoleChannel
from dialogs.messages import Message


def run_console(app: Application, *, sender: str = "local", captcha_dir: str | None = None,
                stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """Codes and notices leave through ``app.outbound`` like on every channel, never onto the
    screen: whoever sits here must hold the bound phone (issue 10, property 10). ``sspm
    demo`` composes ``app`` with senders that print; nothing else does."""
    folder = Path(captcha_dir or tempfile.mkdtemp(prefix="sspm-captcha-"))
    out = stdout or sys.stdout
    language = app.services.settings.default_language
    if app.outbound.sms is None:
        # Said to everyone, before any login: a per-account "not sent" would enumerate.
        contact = app.settings.helpdesk.phone or app.settings.helpdesk.email or "-"
        out.write(app.catalogue.render(Message.of("common.console_no_sms", phone=contact),
                                       language) + "\n")
    channel = ConsoleChannel(app.engine, app.catalogue, stdin=stdin or sys.stdin,
                             stdout=out, sender=sender, captcha_dir=folder,
                             language=language, deliver=app.outbound.send_rendered)
    return channel.run()


def console_logging(log_file: str | None) -> str:
    """The console is the person's screen: operator logs go to a file, not there."""
    path = log_file or str(Path(tempfile.gettempdir()) / "sspm-console.log")
    configure_logging(path)
    return path

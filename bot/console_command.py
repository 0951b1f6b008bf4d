"""``sspm console``: the console channel on the configured services."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from bot.logging_setup import configure_logging
from bot.services import Application
from channels.console import ConsoleChannel


def run_console(app: Application, *, sender: str = "local", captcha_dir: str | None = None,
                stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    folder = Path(captcha_dir or tempfile.mkdtemp(prefix="sspm-captcha-"))
    channel = ConsoleChannel(app.engine, app.catalogue, stdin=stdin or sys.stdin,
                             stdout=stdout or sys.stdout, sender=sender, captcha_dir=folder,
                             language=app.services.settings.default_language)
    return channel.run()


def console_logging(log_file: str | None) -> str:
    """The console is the person's screen: operator logs go to a file, not there."""
    path = log_file or str(Path(tempfile.gettempdir()) / "sspm-console.log")
    configure_logging(path)
    return path

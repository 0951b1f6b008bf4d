"""``sspm web --host H --port P --workers N``: the web app under gunicorn.

Put it behind a TLS proxy, with ``SSPM_CONFIG`` and the secrets in the environment and
``SSPM_PUBLIC_URL`` set to the https address Twilio calls. Workers are processes (state is in
Redis); each serves a few threads, so one slow directory answer does not hold up the others.
The metrics folder the workers share is prepared here (``bot.web_serving``).
"""

from __future__ import annotations

import sys
from typing import Any

from bot.logging_setup import configure_logging
from bot.web import check_settings
from config.errors import ConfigError
from config.settings import Settings

DEFAULT_WORKERS = 2
THREADS_PER_WORKER = 4
# On SIGTERM a worker stops accepting and finishes its requests in flight for at most this
# long (issue 14): a turn is a few directory and Redis calls, and the engine's lock expires
# at 30 s. Below systemd's default TimeoutStopSec (90 s).
GRACEFUL_SECONDS = 25


def run_web(settings: Settings, host: str = "127.0.0.1", port: int = 8000,
            workers: int = DEFAULT_WORKERS) -> int:
    """Serve until stopped (SIGTERM or Ctrl-C); 2 for a configuration that cannot be served
    safely."""
    try:
        check_settings(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if workers < 1:
        print("configuration error: --workers must be at least 1", file=sys.stderr)
        return 2
    from bot.web_serving import announce, serve

    configure_logging()
    worker = _Worker(settings)
    options: dict[str, object] = {
        "bind": f"{host}:{port}", "workers": workers, "worker_class": "gthread",
        "threads": THREADS_PER_WORKER, "when_ready": announce("sspm web: serving on"),
        "graceful_timeout": GRACEFUL_SECONDS,
    }
    return serve(worker.load, options, on_worker_exit=worker.close)


class _Worker:
    """What one worker process builds after the fork, and closes before it exits."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._close: list[Any] = []

    def load(self) -> Any:
        from bot.services import build_application
        from bot.web import create_app

        application = build_application(self._settings)
        self._close.append(application.close)
        return create_app(self._settings, application)

    def close(self) -> None:
        for close in self._close:
            close()

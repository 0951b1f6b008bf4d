"""``sspm web`` under gunicorn: worker processes that share one metrics folder.

Each worker counts in its own memory (``channels.web.metrics``); ``prometheus_client``'s
multiprocess mode lets any worker answer ``/metrics`` with the sum of all of them, provided
that ``PROMETHEUS_MULTIPROC_DIR`` names a folder *before* the library is imported and before the
workers fork, that the folder holds nothing from an earlier run, and that the master tells the
library when a worker dies (``child_exit``). :func:`prepare_metrics_folder` and
:class:`GunicornServer` do all three, so the operator sets nothing: a fresh temporary folder
per start (removed at exit), or the operator's own folder, emptied of old metric files.

The application (Redis and LDAP clients, background threads) is built in each worker after
the fork, never in the master: sockets and threads do not survive a fork.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client's file names: counter_<pid>.db, histogram_<pid>.db, gauge_<mode>_<pid>.db.
_METRIC_FILE = re.compile(r"(counter|histogram|summary|gauge_[a-z]+)_\d+\.db")


@dataclass(frozen=True)
class MetricsFolder:
    path: str
    created: bool  # ours to remove at exit

    def remove(self) -> None:
        if self.created:
            shutil.rmtree(self.path, ignore_errors=True)


def prepare_metrics_folder(environ: MutableMapping[str, str] = os.environ) -> MetricsFolder:
    """Name the shared folder in ``environ`` (a new temporary one unless the operator set
    one) and empty it of an earlier run's metric files, which would be counted again."""
    given = environ.get(MULTIPROC_ENV, "")
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for leftover in Path(given).iterdir():
            if _METRIC_FILE.fullmatch(leftover.name):
                leftover.unlink(missing_ok=True)
        folder = MetricsFolder(given, created=False)
    else:
        folder = MetricsFolder(tempfile.mkdtemp(prefix="sspm-metrics-"), created=True)
        environ[MULTIPROC_ENV] = folder.path
    _share_metric_values()
    return folder


def _share_metric_values() -> None:
    # prometheus_client chooses where values live when it is first imported; something in
    # this process may have imported it before the folder was named. No metric exists yet
    # (the application is built in the workers), so choosing again is safe.
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def mark_worker_dead(_server: object, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook: a dead worker's live gauges stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


# gunicorn's combined format plus the time to answer (seconds), for latency read from the log.
ACCESS_LOG_FORMAT = '%(h)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(L)s'


class JsonLogger(Logger):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's lines through our root handler: JSON, link tokens redacted
    (``bot.logging_setup``), one log for the operator instead of gunicorn's own streams."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in list(log.handlers):
                log.removeHandler(handler)
            log.propagate = True


class GunicornServer(BaseApplication):  # type: ignore[misc]  # gunicorn ships no types
    """gunicorn's arbiter with our options and a WSGI app built by ``load_app`` per worker."""

    def __init__(self, load_app: Callable[[], Any], options: Mapping[str, object],
                 on_worker_exit: Callable[[], None] | None = None) -> None:
        self._load_app = load_app
        self._options = {"child_exit": mark_worker_dead, "logger_class": JsonLogger,
                         "accesslog": "-", "access_log_format": ACCESS_LOG_FORMAT, **options}
        if on_worker_exit is not None:
            self._options["worker_exit"] = lambda _server, _worker: on_worker_exit()
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        if "control_socket_disable" in self.cfg.settings:
            # gunicorn 25+ opens a control socket at one path per user ($HOME/.gunicorn):
            # two instances on one machine would fight over it, and we do not use it.
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Any:
        return self._load_app()


def serve(load_app: Callable[[], Any], options: Mapping[str, object],
          on_worker_exit: Callable[[], None] | None = None) -> int:
    """Run the arbiter until it stops; the master's exit status. In a worker, gunicorn ends
    the process with ``SystemExit`` through this frame: it is passed on untouched."""
    master = os.getpid()
    folder = prepare_metrics_folder()
    try:
        GunicornServer(load_app, options, on_worker_exit).run()
    except SystemExit as stop:
        if os.getpid() != master:
            raise
        return stop.code if isinstance(stop.code, int) else 1
    finally:
        if os.getpid() == master:
            folder.remove()
    return 0


def announce(message: str) -> Callable[[Any], None]:
    """A ``when_ready`` hook printing where the master listens (port 0 becomes a real port)."""
    def ready(server: Any) -> None:
        addresses = ", ".join(str(listener) for listener in server.LISTENERS)
        print(f"{message} {addresses}", file=sys.stderr, flush=True)
    return ready

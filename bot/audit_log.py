"""``Audit`` as JSON Lines: one object per security event, one event per line.

Each line is ``{"ts": ISO-8601 UTC, "event", "result", "channel", "who", **fields}``.
Callers never pass a secret (DESIGN.md section 5.11); as a last line of defence a field whose
name looks like one (``password``, ``answer``, ``code``, ``secret``, ``token``, ``pin``) is
refused with ``ValueError`` before anything is written (``dialogs.memory.check_audit_fields``).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import TextIO

from dialogs.memory import SystemClock, check_audit_fields
from dialogs.ports import Clock


class JsonLinesAudit:
    """Write audit records to ``stream``, or append them to the file at ``path``.

    Thread-safe; each line is flushed as soon as it is written, so a crash loses nothing
    already recorded. ``close()`` closes only a file this object opened itself.
    """

    def __init__(self, stream: TextIO | None = None, path: str | None = None, *,
                 clock: Clock | None = None) -> None:
        if (stream is None) == (path is None):
            raise ValueError("give exactly one of stream or path")
        self._owned = path is not None
        if path is not None:
            # buffering=1: line buffered, so each record reaches the OS at its newline.
            stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
        assert stream is not None
        self._stream: TextIO = stream
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._guard = threading.Lock()

    def record(self, event: str, *, result: str, channel: str, who: str = "",
               **fields: str | int | bool) -> None:
        check_audit_fields(fields)
        stamp = datetime.fromtimestamp(self._clock.now(), tz=UTC)
        entry: dict[str, str | int | bool] = {
            "ts": stamp.isoformat(timespec="milliseconds"), "event": event, "result": result,
            "channel": channel, "who": who, **fields}
        # ensure_ascii (the default) escapes U+2028 and friends too, which some readers treat
        # as line breaks: attacker-chosen text (a username) cannot forge or split a line.
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._guard:
            self._stream.write(line)
            self._stream.flush()

    def close(self) -> None:
        if self._owned:
            with self._guard:
                self._stream.close()

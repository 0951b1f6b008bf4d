"""The Telegram channel on the whole product: real slapd and redis-server, a Bot API stand-in."""

from __future__ import annotations

# The engine tests' fixtures compose the product like production; reuse them as they are.
from tests.engine.conftest import (  # noqa: F401
    app,
    audit_stream,
    clock,
    dialog_settings,
    hasher,
    renderer,
)

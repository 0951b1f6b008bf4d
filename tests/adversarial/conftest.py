"""Attacks on the product through its public interfaces, on real slapd and Redis.

The fixtures are the ones the engine, Twilio and help desk tests use, shared here so each
attack can pick the door it goes through. Each test is named after the property it proves
(issue 10) and tries to get around the control the way an attacker would.
"""

from __future__ import annotations

from tests.channels.twilio.conftest import stack  # noqa: F401
from tests.engine.conftest import (  # noqa: F401
    app,
    audit_stream,
    clock,
    conversation,
    dialog_settings,
    hasher,
    renderer,
)
from tests.helpdesk.conftest import (  # noqa: F401 - the help desk console's fixtures
    desk_app,
    desk_audit,
    desk_clock,
    desk_renderer,
    flask_app,
    sms,
    telegram,
)

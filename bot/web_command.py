"""``sspm web --host H --port P``: the web app on Werkzeug's threaded server.

For development and small setups. In production run several workers behind a TLS proxy:
``gunicorn -w 4 -b 127.0.0.1:8000 'bot.web:wsgi()'`` with ``SSPM_CONFIG`` and the secrets in
the environment, and ``SSPM_PUBLIC_URL`` set to the https address Twilio calls.
"""

from __future__ import annotations

import sys

from werkzeug.serving import make_server

from bot.logging_setup import configure_logging
from bot.services import build_application
from bot.web import check_settings, create_app
from config.errors import ConfigError
from config.settings import Settings


def run_web(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Serve until interrupted; 2 for a configuration that cannot be served safely."""
    try:
        check_settings(settings)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging()
    application = build_application(settings)
    try:
        server = make_server(host, port, create_app(settings, application), threaded=True)
        print(f"sspm web: serving on http://{host}:{server.server_port}", file=sys.stderr)
        server.serve_forever()
    except KeyboardInterrupt:
        return 0
    finally:
        application.close()
    return 0

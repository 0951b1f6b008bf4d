"""The baseline: a bare Flask "hello" served by the same gunicorn binary and worker settings.

``gunicorn 'bench.http_path.hello:app()'``: one route, no middleware, no Redis, no directory;
what any Flask request costs on this machine in the same run.
"""

from __future__ import annotations

from flask import Flask


def app() -> Flask:
    hello = Flask(__name__)

    @hello.get("/")
    def index() -> str:
        return "hello"

    return hello

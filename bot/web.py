"""``sspm web``: the Flask app factory, the one place where the web blueprints are composed.

Routes::

    POST /twilio/sms                 SMS webhook (signed)           channels.twilio.sms
    POST /twilio/voice               incoming call (signed)         channels.twilio.voice
    POST /twilio/voice/step?step=N   a caller's answer (signed)     channels.twilio.voice
    GET  /twilio/media/<token>       captcha image for MMS, once    channels.twilio.media
    GET  /password/<token>           the secure password page       channels.web.password
    POST /password/<token>           set the password (CSRF)        channels.web.password
    POST /password/<token>/rate      strength meter, JSON (CSRF)    channels.web.password
    /helpdesk/...                    agents' console                channels.helpdesk
    GET  /healthz                    Redis and every directory domain answer: 200, else 503
    GET  /metrics                    Prometheus text format, from process memory (no Redis)

No module-level app (STYLE.md habit 6): ``create_app(settings, application)`` for tests and
``sspm web``; ``wsgi()`` for gunicorn (``gunicorn 'bot.web:wsgi()'``), which loads the
settings from the environment. A missing Twilio auth token or public URL stops the start.
"""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Flask, Response, g, request

from bot.health import Health, HealthCheck, directory_probe
from bot.helpdesk_app import register_helpdesk
from bot.logging_setup import install_redaction
from bot.redis_connection import redis_probe
from bot.services import Application
from channels.twilio.calls import ChannelRecords
from channels.twilio.media import CaptchaMedia, media_blueprint
from channels.twilio.signature import TwilioSignature
from channels.twilio.sms import SmsChannel, sms_blueprint
from channels.twilio.voice import VoiceChannel, voice_blueprint
from channels.web.csrf import CsrfGuard
from channels.web.metrics import CONTENT_TYPE, CountedEngine, ProcessMetrics
from channels.web.password import PasswordSite, password_blueprint
from config.errors import ConfigError
from config.settings import Settings
from dialogs.actions import Notify, SendSms
from dialogs.directory_port import DirectoryUnavailable
from dialogs.password_page import PasswordPage
from dialogs.ports import StoreUnavailable
from dialogs.sealing import Sealer

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
# Any token is a method to Werkzeug: a label of what a client sent would let it mint series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


def create_app(settings: Settings, application: Application) -> Flask:
    """The web app on ``application``'s services; raises ``ConfigError`` if it cannot be safe."""
    check_settings(settings)
    app = Flask(__name__)
    # Link tokens never reach a log line, even where configure_logging was not called.
    install_redaction(app.logger)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    metrics = application.metrics
    for blueprint in _blueprints(settings, application, metrics):
        app.register_blueprint(blueprint)
    register_helpdesk(app, application)
    _count_requests(app, metrics)
    return app


def check_settings(settings: Settings) -> None:
    """Fail closed at start (DESIGN.md 5.5), with the key to fix."""
    TwilioSignature(settings.twilio.auth_token.reveal(), settings.public_url)
    if not settings.sms.mms_captcha and settings.channel("sms").captcha:
        raise ConfigError("channels.sms.captcha", "must be false when sms.mms_captcha is "
                          "false: an SMS captcha needs an MMS image")


def _blueprints(settings: Settings, application: Application,
                metrics: ProcessMetrics) -> list[Blueprint]:
    secret = settings.secret_key.reveal().encode("utf-8")
    prefix = settings.redis.key_prefix
    signature = TwilioSignature(settings.twilio.auth_token.reveal(), settings.public_url)
    engine = CountedEngine(application.engine, metrics)
    records = ChannelRecords(application.redis, Sealer(secret), prefix,
                             settings.dialog.time_allotment_seconds)
    # Captcha media: MMS pictures and audio links on SMS, the audio a call plays (issue 11).
    sms_media = settings.sms.mms_captcha
    voice_media = settings.channel("voice").captcha
    media = CaptchaMedia(application.redis, secret, prefix) \
        if sms_media or voice_media else None
    language = settings.dialog.default_language

    def dispatch(action: SendSms | Notify, lang: str) -> bool:
        return application.outbound.dispatch(action, lang)

    def on_error(channel: str, exc: BaseException) -> None:
        metrics.increment("sspm_errors_total", channel=channel)
        if isinstance(exc, StoreUnavailable | DirectoryUnavailable):
            # An outage the operator already sees in /healthz: one line, no traceback.
            log.warning("request failed: %s", type(exc).__name__,
                        extra={"channel": channel, "error": str(exc)})
            return
        log.error("request failed", exc_info=exc, extra={"channel": channel})

    sms = SmsChannel(engine, application.catalogue, records, media if sms_media else None,
                     dispatch,
                     public_url=settings.public_url, language=language)
    voice = VoiceChannel(engine, application.catalogue, records, dispatch,
                         public_url=settings.public_url, language=language,
                         helpdesk_number=settings.helpdesk.phone,
                         allow_transfer=application.outbound.allow_call,
                         media=media if voice_media else None)
    site = PasswordSite(
        page=PasswordPage(application.services), catalogue=application.catalogue,
        dispatch=dispatch, csrf=CsrfGuard(secret, secure=settings.public_url.startswith(
            "https://")), contact=application.services.settings.contact.params(),
        max_length=settings.password.max_length, default_language=language)
    blueprints = [sms_blueprint(sms, signature, on_error),
                  voice_blueprint(voice, signature, on_error),
                  password_blueprint(site, on_error), _ops_blueprint(application, metrics)]
    if media is not None:
        blueprints.append(media_blueprint(media))
    return blueprints


def _ops_blueprint(application: Application, metrics: ProcessMetrics) -> Blueprint:
    blueprint = Blueprint("ops", __name__)

    health = HealthCheck({"redis": redis_probe(application.redis), **{
        f"directory {name}": directory_probe(directory)
        for name, directory in application.directories.items()}})

    @blueprint.get("/healthz")
    def healthz() -> tuple[dict[str, object], int]:
        state = health.check()
        return _health_body(state, application), 200 if state.ok else 503

    @blueprint.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), content_type=CONTENT_TYPE)

    return blueprint


def _health_body(health: Health, application: Application) -> dict[str, object]:
    """``{"status", "redis", "directory": {domain: state}}``; ``down``/``degraded`` name them."""
    states = dict(health.states)
    body: dict[str, object] = {
        "status": "unavailable" if not health.ok else "degraded" if health.degraded else "ok",
        "redis": states["redis"],
        "directory": {name: states[f"directory {name}"] for name in application.directories}}
    if not health.ok:
        body["down"] = health.down
    if health.degraded:  # still 200: it serves, but an operator should look (issue 14)
        body["degraded"] = health.degraded
    return body


def _count_requests(app: Flask, metrics: ProcessMetrics) -> None:
    def start() -> None:
        g.sspm_started = time.perf_counter()

    def count(response: Response) -> Response:
        # The URL rule, never the path: a link token must not become a label (or a series).
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"
        metrics.increment("sspm_http_requests_total", route=route, method=method,
                          status=str(response.status_code))
        started = g.get("sspm_started")
        if started is not None:
            metrics.observe("sspm_http_request_duration_seconds",
                            time.perf_counter() - started, route=route)
        return response

    app.before_request(start)
    app.after_request(count)


def wsgi() -> Flask:
    """For gunicorn: ``gunicorn 'bot.web:wsgi()'``; settings from ``SSPM_CONFIG`` and the
    environment, JSON logs to standard error."""
    from bot.logging_setup import configure_logging
    from bot.services import build_application
    from config import load_settings

    configure_logging()
    settings = load_settings()
    check_settings(settings)
    return create_app(settings, build_application(settings))

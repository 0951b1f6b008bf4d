"""The composition root: configuration in, a ready engine (and what channels need) out.

The only place where real adapters are chosen: LdapDirectory per domain, Redis stores,
the Pillow captcha, Argon2id, JSON-lines audit. Nothing here runs at import time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TextIO

import redis

from bot import redis_connection
from bot.activity import ActivityAudit, ActivityLedger, BackgroundFlusher
from bot.audit_log import JsonLinesAudit
from bot.breach_range import HttpBreachRange
from bot.metered_audit import MeteredAudit
from bot.outbound import BackgroundSms, Outbound, SmsSender, TelegramSender
from bot.redis_alerts import RedisAlerts
from bot.redis_languages import RedisLanguages
from bot.redis_sessions import RedisSessionStore
from bot.redis_sign_ins import RedisSignIns
from bot.redis_stores import (
    RedisCounters,
    RedisEscalations,
    RedisPasswordLinks,
    RedisRelays,
    RedisTickets,
)
from bot.reports import ReportSource
from captcha.audio import AudioCaptchaRenderer
from captcha.image import ImageCaptchaRenderer
from captcha.service import CaptchaService
from captcha.store import RedisCaptchaStore
from channels.catalogue import Catalogue
from channels.web.metrics import ProcessMetrics
from config.settings import LOCALISED_HELPDESK_TEXTS, HelpdeskSettings, Settings, localised
from dialogs.actions import Notify
from dialogs.answers import AnswerHasher, Argon2AnswerHasher
from dialogs.breached_passwords import BreachedPasswords, BreachPolicy
from dialogs.engine import Engine
from dialogs.engine_settings import ChannelPolicy, Contact, EngineSettings
from dialogs.memory import SystemClock
from dialogs.messages import Message
from dialogs.password_quality import PasswordRules
from dialogs.ports import Clock, Escalation, Escalations
from dialogs.sealing import Sealer
from dialogs.turn import Services
from directory import LdapDirectory


@dataclass
class Application:
    """What the entry points need: the engine, the catalogue, and things to close."""

    engine: Engine
    catalogue: Catalogue
    redis: redis.Redis
    directories: dict[str, LdapDirectory]
    services: Services
    outbound: Outbound
    settings: Settings
    relays: RedisRelays
    tickets: RedisTickets
    # Counters and histograms of this process (GET /metrics), the audit's counts included.
    metrics: ProcessMetrics = field(default_factory=ProcessMetrics)
    # Daily counts for the reports (issue 16), flushed to Redis off the request path.
    reports: ReportSource | None = None
    activity_flusher: BackgroundFlusher | None = None

    def close(self) -> None:
        if self.activity_flusher is not None:
            self.activity_flusher.stop()  # the last counts reach Redis before it closes
        if isinstance(self.outbound.sms, BackgroundSms):
            self.outbound.sms.close()  # let queued codes and notices leave first
        for directory in self.directories.values():
            directory.close()
        self.redis.close()


def engine_settings(settings: Settings) -> EngineSettings:
    d, p, h = settings.dialog, settings.password, settings.helpdesk
    return EngineSettings(
        secret_key=settings.secret_key.reveal().encode("utf-8"),
        time_allotment_seconds=d.time_allotment_seconds, idle_seconds=d.idle_seconds,
        questions_enrolled=d.questions_enrolled, questions_asked=d.questions_asked,
        failure_limit=d.failure_limit, failure_window_seconds=d.failure_window_seconds,
        bind_failure_limit=d.bind_failure_limit, captcha_refreshes=d.captcha_refreshes,
        sender_rate_limit=d.sender_rate_limit,
        sender_rate_window_seconds=d.sender_rate_window_seconds,
        channel_rate_limit=d.channel_rate_limit, pressure_sender_limit=d.pressure_sender_limit,
        tickets_per_sender=d.tickets_per_sender,
        tickets_sender_window_seconds=d.tickets_sender_window_seconds,
        tickets_per_account=d.tickets_per_account,
        tickets_account_window_seconds=d.tickets_account_window_seconds,
        binding_cooling_off_seconds=d.binding_cooling_off_seconds,
        default_language=d.default_language, languages=d.languages,
        password_rules=PasswordRules(min_length=p.min_length, max_length=p.max_length,
                                     min_score=p.min_score, org_words=p.org_words),
        contact=_contact(h, d.default_language, d.languages),
        channels=tuple((c.name, ChannelPolicy(captcha=c.captcha, possession=c.possession))
                       for c in settings.channels),
        domains_self_service=tuple((dom.name, dom.self_service) for dom in settings.domains),
        default_domain=settings.default_domain, public_url=settings.public_url,
        sms_reset_delivery=settings.sms.reset_delivery,
        link_ttl_seconds=settings.sms.link_ttl_seconds, voice_factor=d.voice_factor,
        password_allotment_seconds=d.password_allotment_seconds)


def _contact(h: HelpdeskSettings, default: str, languages: tuple[str, ...]) -> Contact:
    """Operator-written texts in the default language, with one variant per other language."""
    texts = {key: getattr(h, key) for key in LOCALISED_HELPDESK_TEXTS}
    return Contact(phone=h.phone, email=h.email,
                   hours=localised(texts["hours"], default, default),
                   registration_authority=localised(texts["registration_authority"], default,
                                                    default),
                   translations=tuple((lang, key, localised(value, lang, default))
                                      for lang in languages if lang != default
                                      for key, value in texts.items()))


def redis_client(settings: Settings) -> redis.Redis:
    """One server, a Sentinel-managed master or a cluster, with short timeouts and one retry
    (``bot.redis_connection`` says why): the one client every store, lock and stream uses."""
    return redis_connection.redis_client(settings.redis)


def build_application(settings: Settings, *, audit_stream: TextIO | None = None,
                      hasher: AnswerHasher | None = None, clock: Clock | None = None,
                      renderer: ImageCaptchaRenderer | None = None,
                      audio_renderer: AudioCaptchaRenderer | None = None,
                      sms_sender: SmsSender | None = None,
                      telegram_sender: TelegramSender | None = None) -> Application:
    """Compose everything from ``settings``; the keyword arguments exist for tests."""
    clock = clock or SystemClock()
    client = redis_client(settings)
    prefix = settings.redis.key_prefix
    secret = settings.secret_key.reveal().encode("utf-8")
    directories = {d.name: LdapDirectory(d) for d in settings.domains}
    catalogue = Catalogue.load()
    captchas = CaptchaService(renderer or ImageCaptchaRenderer(),
                              RedisCaptchaStore(client, secret, prefix=prefix + "captcha:"),
                              ttl_seconds=settings.dialog.time_allotment_seconds,
                              audio=audio_renderer or AudioCaptchaRenderer())
    # The audio captcha's voices are synthesised once (seconds): now, off the first caller's
    # turn. Without espeak-ng, audio is simply not offered and the pictures stay (issue 11).
    captchas.warm_audio_in_background()
    counters = RedisCounters(client, prefix)
    metrics = ProcessMetrics()
    outbound = Outbound(catalogue, counters, settings.outbound,
                        sms=sms_sender or _default_sms(settings),
                        telegram=telegram_sender or _default_telegram(settings))
    escalations: Escalations = RedisEscalations(client, prefix, clock=clock)
    if settings.helpdesk.telegram_group_id:
        escalations = AnnouncedEscalations(escalations, outbound,
                                           settings.helpdesk.telegram_group_id,
                                           settings.dialog.default_language)
    ledger = ActivityLedger(client, prefix, settings.reports.retention_days, clock.now)
    services = Services(
        settings=engine_settings(settings), directories=directories, captchas=captchas,
        counters=counters, escalations=escalations,
        audit=ActivityAudit(MeteredAudit(_audit(settings, audit_stream, clock), metrics),
                            ledger),
        clock=clock, hasher=hasher or Argon2AnswerHasher(),
        question_text=lambda qid, lang: catalogue.render(Message.of(qid), lang),
        password_links=RedisPasswordLinks(client, secret, prefix, clock=clock),
        deliverable=outbound.can_deliver,
        sign_ins=RedisSignIns(client, secret, prefix),
        languages=RedisLanguages(client, prefix),
        breached_passwords=breached_passwords(settings))
    relays = RedisRelays(client, secret, prefix, clock=clock)
    engine = Engine(services, RedisSessionStore(client, prefix, secret_key=secret),
                    relays=relays,
                    alerts=RedisAlerts(client, Sealer(secret), prefix))  # issue 15
    flusher = BackgroundFlusher(ledger, settings.reports.flush_seconds)
    flusher.start()
    reports = ReportSource(client, prefix, ledger, directories, settings.reports, clock.now)
    return Application(engine, catalogue, client, directories, services, outbound, settings,
                       relays, RedisTickets(client, prefix), metrics, reports, flusher)


@dataclass
class AnnouncedEscalations:
    """Escalations, each also announced to the agents' Telegram group (optional)."""

    inner: Escalations
    outbound: Outbound
    group_id: str
    language: str

    def raise_escalation(self, escalation: Escalation) -> str:
        ticket = self.inner.raise_escalation(escalation)
        self.outbound.dispatch(Notify("telegram", self.group_id, Message.of(
            "helpdesk.new_escalation", ticket=ticket,
            reason_msg="helpdesk.reason." + escalation.reason,
            channel=escalation.channel)), self.language)
        return ticket

    def recent(self, count: int = 50) -> Iterator[tuple[str, Escalation]]:
        return self.inner.recent(count)

    def remember_ticket(self, owner: str, ticket: str, ttl_seconds: int) -> None:
        self.inner.remember_ticket(owner, ticket, ttl_seconds)

    def last_ticket(self, owner: str) -> str | None:
        return self.inner.last_ticket(owner)


def breached_passwords(settings: Settings) -> BreachedPasswords | None:
    breach = settings.breached_passwords
    if not breach.enabled:
        return None
    return BreachedPasswords(HttpBreachRange(breach.base_url, breach.timeout_seconds),
                             BreachPolicy(fail_closed=breach.fail == "closed",
                                          min_count=breach.min_count))


def _default_sms(settings: Settings) -> SmsSender | None:
    twilio = settings.twilio
    if not (twilio.account_sid and twilio.auth_token and twilio.from_number):
        return None
    from channels.twilio.sms_sender import TwilioSmsSender

    sender: SmsSender = BackgroundSms(TwilioSmsSender(
        twilio.account_sid, twilio.auth_token.reveal(), twilio.from_number))
    return sender


def _default_telegram(settings: Settings) -> TelegramSender | None:
    token = settings.telegram.bot_token.reveal()
    if not token:
        return None
    from channels.telegram.notifier import TelegramNotifier

    notifier: TelegramSender = TelegramNotifier(
        token, settings.telegram.api_base or "https://api.telegram.org")
    return notifier


def _audit(settings: Settings, stream: TextIO | None, clock: Clock) -> JsonLinesAudit:
    if stream is not None:
        return JsonLinesAudit(stream=stream, clock=clock)
    if settings.audit.path == "-":
        return JsonLinesAudit(stream=sys.stderr, clock=clock)
    return JsonLinesAudit(path=settings.audit.path, clock=clock)

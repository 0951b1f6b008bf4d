"""Typed, immutable settings: one frozen dataclass per concern.

Each component receives only its own section (a ``DomainSettings`` for one directory,
``RedisSettings`` for the session store, ...). Secrets are ``Secret`` values whose repr is
masked. The loader lives in ``config.loader``; this module only declares shapes and
defaults, and the cross-field rules in ``__post_init__`` so that no invalid value object can
exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from config.errors import ConfigError, raise_all
from config.secret import Secret

Dialect = Literal["openldap", "ad"]
DEFAULT_DOMAIN = "DEFAULT"


@dataclass(frozen=True)
class AttributeNames:
    """Directory attribute names; the defaults fit inetOrgPerson on OpenLDAP."""

    username: str = "uid"
    employee_number: str = "employeeNumber"
    mobile: str = "mobile"
    mail: str = "mail"
    display_name: str = "cn"
    given_name: str = "givenName"
    surname: str = "sn"
    enrolment: str = "sspmEnrolment"
    member_of: str = "memberOf"


@dataclass(frozen=True)
class DomainSettings:
    """One authentication domain: its directory, dialect and self-service switch."""

    name: str
    url: str
    base_dn: str
    bind_dn: str
    bind_password: Secret
    dialect: Dialect = "openldap"
    users_dn: str = ""
    user_object_class: str = "inetOrgPerson"
    self_service: bool = True
    protected_groups: tuple[str, ...] = ()
    protected_dns: tuple[str, ...] = ()
    connect_timeout: float = 5.0
    operation_timeout: float = 10.0
    pool_size: int = 4
    tls_validate: bool = True
    tls_ca_file: str = ""
    password_policy_dn: str = ""
    attributes: AttributeNames = field(default_factory=AttributeNames)

    def __post_init__(self) -> None:
        problems = _Problems()
        prefix = f"domains.{self.name}"
        if not self.url.startswith(("ldap://", "ldaps://", "ldapi://")):
            problems.add(f"{prefix}.url", "must start with ldap://, ldaps:// or ldapi://")
        if self.dialect not in ("openldap", "ad"):
            problems.add(f"{prefix}.dialect", "must be 'openldap' or 'ad'")
        for key in ("base_dn", "bind_dn"):
            if not getattr(self, key).strip():
                problems.add(f"{prefix}.{key}", "is required")
        if not self.bind_password:
            problems.add(f"{prefix}.bind_password", "is required (set it in the environment)")
        problems.positive(f"{prefix}.connect_timeout", self.connect_timeout)
        problems.positive(f"{prefix}.operation_timeout", self.operation_timeout)
        problems.positive(f"{prefix}.pool_size", self.pool_size)
        problems.raise_all()

    @property
    def search_base(self) -> str:
        return self.users_dn or self.base_dn


@dataclass(frozen=True)
class RedisSettings:
    url: Secret = field(default_factory=lambda: Secret("redis://127.0.0.1:6379/0"))
    key_prefix: str = "sspm:"
    socket_timeout: float = 2.0

    def __post_init__(self) -> None:
        problems = _Problems()
        if not self.url.reveal().startswith(("redis://", "rediss://", "unix://")):
            problems.add("redis.url", "must start with redis://, rediss:// or unix://")
        problems.positive("redis.socket_timeout", self.socket_timeout)
        problems.raise_all()


# Flood controls (DESIGN.md 5.3): they throttle the abuser, never the whole channel.
_FLOOD_LIMITS = ("pressure_sender_limit", "tickets_per_sender", "tickets_sender_window_seconds",
                 "tickets_per_account", "tickets_account_window_seconds")


# More new captchas than this per proof would let a script fish for an easy one (issue 11).
MAX_CAPTCHA_REFRESHES = 20


@dataclass(frozen=True)
class DialogSettings:
    """The identity proof's clock and counts (DESIGN.md sections 2 and 5.1 to 5.3)."""

    time_allotment_seconds: int = 300
    # The new-password step's own clock, started when the proof succeeds (issue 12).
    password_allotment_seconds: int = 300
    idle_seconds: int = 120
    questions_enrolled: int = 3
    questions_asked: int = 2
    failure_limit: int = 5
    failure_window_seconds: int = 86_400
    bind_failure_limit: int = 2
    # New captchas one proof may ask for ("new", "audio", a button) without losing a try;
    # capped so a script cannot fish for an easy picture forever (issue 11).
    captcha_refreshes: int = 5
    sender_rate_limit: int = 20
    sender_rate_window_seconds: int = 3_600
    channel_rate_limit: int = 2_000
    # Above channel_rate_limit the channel is under pressure: each sender may then start only
    # this many flows per window (a flooding number is cut off, a newcomer is still served).
    pressure_sender_limit: int = 3
    # Help desk tickets one sender (channel + number/chat) and one account may raise per window;
    # beyond that the person is given their last ticket again (no flood reaches the agents).
    tickets_per_sender: int = 3
    tickets_sender_window_seconds: int = 3_600
    tickets_per_account: int = 5
    tickets_account_window_seconds: int = 86_400
    default_language: str = "en"
    languages: tuple[str, ...] = ("en", "fr")
    voice_factor: Literal["answers", "pin"] = "answers"
    # A binding that just moved is no possession factor for forgot/unlock this long (5.13).
    binding_cooling_off_seconds: int = 86_400

    def __post_init__(self) -> None:
        problems = _Problems()
        problems.positive("dialog.binding_cooling_off_seconds", self.binding_cooling_off_seconds)
        for key in ("time_allotment_seconds", "password_allotment_seconds", "idle_seconds",
                    "questions_enrolled",
                    "questions_asked", "failure_limit", "failure_window_seconds",
                    "bind_failure_limit", "sender_rate_limit", "sender_rate_window_seconds",
                    "channel_rate_limit"):
            problems.positive(f"dialog.{key}", getattr(self, key))
        for key in _FLOOD_LIMITS:
            problems.positive(f"dialog.{key}", getattr(self, key))
        if not 0 <= self.captcha_refreshes <= MAX_CAPTCHA_REFRESHES:
            problems.add("dialog.captcha_refreshes", f"must be 0 to {MAX_CAPTCHA_REFRESHES}")
        if self.idle_seconds > self.time_allotment_seconds:
            problems.add("dialog.idle_seconds", "must not exceed time_allotment_seconds")
        if self.questions_asked > self.questions_enrolled:
            problems.add("dialog.questions_asked", "must not exceed questions_enrolled")
        if self.default_language not in self.languages:
            problems.add("dialog.default_language", f"must be one of {list(self.languages)}")
        unknown = set(self.languages) - {"en", "fr"}
        if unknown:
            problems.add("dialog.languages", f"no catalogue for {sorted(unknown)}")
        problems.raise_all()


@dataclass(frozen=True)
class PasswordSettings:
    """The product's own password checks (DESIGN.md section 5.7)."""

    min_length: int = 12
    max_length: int = 128
    min_score: int = 3
    org_words: tuple[str, ...] = ()
    temporary_length: int = 16

    def __post_init__(self) -> None:
        problems = _Problems()
        problems.positive("password.min_length", self.min_length)
        if self.max_length < max(64, self.min_length):
            problems.add("password.max_length", "must allow at least 64 characters")
        if not 0 <= self.min_score <= 4:
            problems.add("password.min_score", "must be between 0 and 4")
        if self.temporary_length < self.min_length:
            problems.add("password.temporary_length", "must be at least min_length")
        problems.raise_all()


LOCALISED_HELPDESK_TEXTS = ("hours", "registration_authority")


def localised(value: str | dict[str, str], language: str, default_language: str) -> str:
    """``value`` in ``language``: a plain string is the same in every language; a table
    falls back to the default language, then to any text it has."""
    if isinstance(value, str):
        return value
    return value.get(language) or value.get(default_language) or next(iter(value.values()), "")


def _check_localised(key: str, value: object) -> None:
    if isinstance(value, str):
        return
    if not isinstance(value, dict) or not all(
            isinstance(lang, str) and isinstance(text, str) for lang, text in value.items()):
        raise ConfigError(key, "must be a string or a table of strings by language "
                               '({ en = "...", fr = "..." })')


@dataclass(frozen=True)
class HelpdeskSettings:
    """Whom to contact when self-service cannot help."""

    phone: str = ""
    email: str = ""
    # Operator-written texts: a string, or one per language ({ en = "...", fr = "..." }) so
    # a French text never embeds English words (issue 12). See ``localised``.
    hours: str | dict[str, str] = ""
    registration_authority: str | dict[str, str] = ""
    # The agents' console: members of this group (DN) in this domain may sign in.
    agents_group: str = ""
    agents_domain: str = ""
    idle_timeout_seconds: int = 900
    # Optional: a Telegram group (chat id) told about every new escalation.
    telegram_group_id: str = ""
    # Failed console sign-ins one client address may make per window (issue 10, property 2).
    sign_in_failures_per_client: int = 10
    sign_in_client_window_seconds: int = 900
    # How often a signed-in agent's membership of agents_group is checked again (at most 60 s:
    # a removed agent is signed out on the next request after it).
    membership_check_seconds: int = 60

    def __post_init__(self) -> None:
        problems = _Problems()
        for key in LOCALISED_HELPDESK_TEXTS:
            _check_localised(f"helpdesk.{key}", getattr(self, key))
        for key in ("idle_timeout_seconds", "sign_in_failures_per_client",
                    "sign_in_client_window_seconds", "membership_check_seconds"):
            problems.positive(f"helpdesk.{key}", getattr(self, key))
        if self.membership_check_seconds > 60:
            problems.add("helpdesk.membership_check_seconds", "must be at most 60")
        problems.raise_all()


@dataclass(frozen=True)
class ChannelSettings:
    """Per-channel switches: captcha and possession are on unless a trusted setup says otherwise."""

    name: str
    enabled: bool = True
    captcha: bool = True
    possession: bool = True


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str = ""
    auth_token: Secret = field(default_factory=lambda: Secret(""))
    from_number: str = ""


@dataclass(frozen=True)
class TelegramSettings:
    bot_token: Secret = field(default_factory=lambda: Secret(""))
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    api_base: str = ""


@dataclass(frozen=True)
class SmsSettings:
    """SMS specifics: a new password is never typed into SMS (DESIGN.md section 2)."""

    reset_delivery: Literal["link", "temporary"] = "link"
    link_ttl_seconds: int = 600
    mms_captcha: bool = True

    def __post_init__(self) -> None:
        problems = _Problems()
        problems.positive("sms.link_ttl_seconds", self.link_ttl_seconds)
        problems.raise_all()


@dataclass(frozen=True)
class OutboundSettings:
    """Caps on outbound SMS and calls per destination number (toll fraud, DESIGN.md 5.3)."""

    sms_per_destination: int = 5
    calls_per_destination: int = 3
    window_seconds: int = 3600

    def __post_init__(self) -> None:
        problems = _Problems()
        for key in ("sms_per_destination", "calls_per_destination", "window_seconds"):
            problems.positive(f"outbound.{key}", getattr(self, key))
        problems.raise_all()


@dataclass(frozen=True)
class AuditSettings:
    """Where structured audit records go: a file path, or "-" for standard error."""

    path: str = "-"


CHANNEL_NAMES = ("console", "telegram", "sms", "voice", "web")


@dataclass(frozen=True)
class Settings:
    """The whole configuration, loaded once at start."""

    secret_key: Secret
    domains: tuple[DomainSettings, ...]
    default_domain: str = DEFAULT_DOMAIN
    public_url: str = ""
    redis: RedisSettings = field(default_factory=RedisSettings)
    dialog: DialogSettings = field(default_factory=DialogSettings)
    password: PasswordSettings = field(default_factory=PasswordSettings)
    helpdesk: HelpdeskSettings = field(default_factory=HelpdeskSettings)
    channels: tuple[ChannelSettings, ...] = ()
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)

    def __post_init__(self) -> None:
        problems = _Problems()
        if len(self.secret_key.reveal()) < 16:
            problems.add("secret_key", "must be at least 16 characters (SSPM_SECRET_KEY)")
        if not self.domains:
            problems.add("domains", "at least one domain is required")
        elif self.default_domain not in {d.name for d in self.domains}:
            problems.add("default_domain", f"no domain named {self.default_domain!r}")
        if self.public_url and not self.public_url.startswith(("http://", "https://")):
            problems.add("public_url", "must start with http:// or https://")
        problems.raise_all()

    def domain(self, name: str | None = None) -> DomainSettings:
        wanted = (name or self.default_domain).upper()
        for domain in self.domains:
            if domain.name.upper() == wanted:
                return domain
        raise KeyError(wanted)

    def channel(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name:
                return channel
        return ChannelSettings(name=name)


def _positive(key: str, value: float) -> None:
    if isinstance(value, bool) or value <= 0:
        raise ConfigError(key, "must be a positive number")


class _Problems:
    """Collects a section's problems, so one run names them all (issue 12)."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    def add(self, key: str, problem: str) -> None:
        self.errors.append(ConfigError(key, problem))

    def positive(self, key: str, value: float) -> None:
        try:
            _positive(key, value)
        except ConfigError as exc:
            self.errors.append(exc)

    def raise_all(self) -> None:
        raise_all(self.errors)

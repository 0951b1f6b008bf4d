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
from config.redis_target import DEFAULT_URL as DEFAULT_REDIS_URL
from config.redis_target import RedisTarget, resolve_target
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
    # The directory's servers, tried in order: ``url`` (one, or several separated by spaces as
    # in ldap.conf's URI) or ``urls`` (a list), not both. See ``servers`` and ``writers``.
    url: str = field(default="", kw_only=True)
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
    urls: tuple[str, ...] = ()
    # OpenLDAP with replicas: the provider(s) every write goes to (reset, unlock, enrolment,
    # a person's own change) and every password check binds on, so ppolicy counts failures
    # where they replicate from. Empty: the servers above take writes too (one server, or AD,
    # where every domain controller is writable).
    write_urls: tuple[str, ...] = ()
    # A server that failed to answer is skipped this long, then tried again (ldap3's
    # ServerPool "exhaust"): a dead replica costs one timeout per period, not one per turn.
    dead_server_seconds: float = 30.0

    def __post_init__(self) -> None:
        problems = _Problems()
        prefix = f"domains.{self.name}"
        if self.url.strip() and self.urls:
            problems.add(f"{prefix}.urls", "give url or urls, not both")
        elif not self.servers:
            problems.add(f"{prefix}.url", "is required (url = \"ldap://...\" or urls = [...]; "
                         f"SSPM_DOMAIN_{self.name}_URL, for the default domain SSPM_LDAP_URL)")
        for key, values in (("url" if not self.urls else "urls", self.servers),
                            ("write_urls", self.write_urls)):
            if any(not u.startswith(("ldap://", "ldaps://", "ldapi://")) for u in values):
                problems.add(f"{prefix}.{key}", "must start with ldap://, ldaps:// or ldapi://")
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
        problems.positive(f"{prefix}.dead_server_seconds", self.dead_server_seconds)
        problems.raise_all()

    @property
    def search_base(self) -> str:
        return self.users_dn or self.base_dn

    @property
    def servers(self) -> tuple[str, ...]:
        """The servers reads go to, in the order they are tried."""
        return self.urls or tuple(self.url.split())

    @property
    def writers(self) -> tuple[str, ...]:
        """The servers writes and password checks go to, in the order they are tried."""
        return self.write_urls or self.servers

    @property
    def shown_urls(self) -> str:
        return " ".join(dict.fromkeys((*self.servers, *self.writers)))


@dataclass(frozen=True)
class RedisSentinelSettings:
    """A Sentinel-managed master as a table: the same as a ``redis+sentinel://`` URL."""

    addresses: tuple[str, ...] = ()  # "host:port" of each sentinel
    service_name: str = ""  # the name the sentinels monitor the master by
    db: int = 0
    tls: bool = False  # TLS to the sentinels and the master
    # The sentinels' own ACL user and password (SSPM_REDIS_SENTINEL_PASSWORD).
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))


@dataclass(frozen=True)
class RedisSettings:
    """Where Redis is (the URL forms: ``config.redis_target``) and how long to wait for it."""

    url: Secret = field(default_factory=lambda: Secret(DEFAULT_REDIS_URL))
    key_prefix: str = "sspm:"
    socket_timeout: float = 2.0
    # The data nodes' ACL user and password when the URL carries none (SSPM_REDIS_PASSWORD).
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    tls_ca_file: str = ""  # rediss: the CA that signed the servers' certificates
    sentinel: RedisSentinelSettings = field(default_factory=RedisSentinelSettings)

    def __post_init__(self) -> None:
        problems = _Problems()
        try:
            resolve_target(self)
        except ConfigError as exc:
            problems.errors.extend(exc.errors)
        problems.positive("redis.socket_timeout", self.socket_timeout)
        problems.raise_all()

    @property
    def target(self) -> RedisTarget:
        """One server, a Sentinel-managed master or a cluster, with its credentials."""
        return resolve_target(self)


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


@dataclass(frozen=True)
class BreachedPasswordSettings:
    """New passwords checked against a breached-password corpus (issue 15); off by default.

    Only the first five hex digits of a password's SHA-1 leave the server (the k-anonymity
    range protocol); ``base_url`` may point at an on-premises mirror of the range files.
    """

    enabled: bool = False
    base_url: str = "https://api.pwnedpasswords.com/range"
    timeout_seconds: float = 2.0
    fail: str = "open"  # "open": an unanswered check lets the password through; "closed": not
    min_count: int = 1

    def __post_init__(self) -> None:
        problems = _Problems()
        if not self.base_url.startswith(("http://", "https://")):
            problems.add("breached_passwords.base_url", "must start with http:// or https://")
        if isinstance(self.timeout_seconds, bool) or not 0 < self.timeout_seconds <= 30:
            problems.add("breached_passwords.timeout_seconds", "must be between 0 and 30 seconds")
        if self.fail not in ("open", "closed"):
            problems.add("breached_passwords.fail", 'must be "open" or "closed"')
        problems.positive("breached_passwords.min_count", self.min_count)
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
    # Optional: members of this group (DN, same domain) see the reports but no tickets (issue
    # 16). Agents see the reports too.
    reporters_group: str = ""

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
class ReportSettings:
    """The reports page and ``sspm report`` (issue 16)."""

    # Daily counts are kept this many days in Redis (one small hash per day).
    retention_days: int = 400
    # Counts are added to Redis by a background thread this often (and at shutdown).
    flush_seconds: float = 10.0
    # Enrolment coverage comes from a paged directory search, reused for this long.
    coverage_cache_seconds: int = 300
    # Optional: coverage also broken down by these OUs (DNs under the users' base).
    coverage_ous: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems = _Problems()
        for key in ("retention_days", "flush_seconds", "coverage_cache_seconds"):
            problems.positive(f"reports.{key}", getattr(self, key))
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


@dataclass(frozen=True)
class NotifierSettings:
    """``sspm notifier`` (issue 15): lock alerts, expiry reminders, when they may leave."""

    lock_alerts: bool = True
    expiry_reminders: bool = True
    poll_interval_seconds: int = 60  # a pass over 10,000 accounts: see bench/notifier_poll_bench
    reminder_days: tuple[int, ...] = (14, 7, 1)
    reminder_interval_seconds: int = 3_600  # the expiry search, at most this often
    # Unsolicited messages wait (never dropped) between quiet_start and quiet_end, local time
    # in time_zone (an IANA name); equal times: no quiet hours.
    quiet_start: str = "21:00"
    quiet_end: str = "07:00"
    time_zone: str = "UTC"
    lease_seconds: int = 30  # one active poller among several hosts

    def __post_init__(self) -> None:
        problems = _Problems()
        for key in ("poll_interval_seconds", "reminder_interval_seconds", "lease_seconds"):
            problems.positive(f"notifier.{key}", getattr(self, key))
        if not self.reminder_days or any(
                isinstance(d, bool) or not 0 < d <= 366 for d in self.reminder_days):
            problems.add("notifier.reminder_days", "must be days between 1 and 366")
        for key in ("quiet_start", "quiet_end"):
            if _clock_time(getattr(self, key)) is None:
                problems.add(f"notifier.{key}", 'must be a time of day such as "21:00"')
        if _zone(self.time_zone) is None:
            problems.add("notifier.time_zone", 'must be an IANA zone such as "America/Toronto"')
        problems.raise_all()


def _clock_time(value: str) -> tuple[int, int] | None:
    hours, _, minutes = value.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        return None
    return (int(hours), int(minutes)) if int(hours) < 24 and int(minutes) < 60 else None


def _zone(name: str) -> object | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


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
    notifier: NotifierSettings = field(default_factory=NotifierSettings)
    breached_passwords: BreachedPasswordSettings = field(
        default_factory=BreachedPasswordSettings)
    reports: ReportSettings = field(default_factory=ReportSettings)

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

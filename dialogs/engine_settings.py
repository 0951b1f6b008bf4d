"""The engine's own settings: a frozen value built by ``bot/`` from the configuration."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from dialogs.password_quality import PasswordRules


@dataclass(frozen=True)
class ChannelPolicy:
    """Per-channel switches; captcha and possession are on unless a trusted setup says not."""

    captcha: bool = True
    possession: bool = True


@dataclass(frozen=True)
class Contact:
    """Whom to contact when self-service cannot help."""

    phone: str = ""
    email: str = ""
    hours: str = ""
    registration_authority: str = ""
    # Operator-written texts in other languages: (language, field, text), e.g. ("fr",
    # "registration_authority", "le service informatique, bâtiment A"). The fields above are
    # the default language's; a French text never embeds an English "building A" (issue 12).
    translations: tuple[tuple[str, str, str], ...] = ()

    def params(self) -> dict[str, str | int]:
        """The message parameters every "whom to contact" text uses.

        Texts embed ``{contact_msg}`` (every way to reach the help desk), ``{phone_msg}`` (the
        one best way) and ``{authority_msg}`` (who checks an identity in person): each names
        a ``contact.*`` message chosen from what is configured, so a person never reads an
        empty contact such as "- (-)" (issue 12); the raw values come along for those texts.
        """
        both = self.phone and self.email
        contact = "contact.phone_email" if both else self._one_way()
        authority = "contact.authority" if self.registration_authority else \
            "contact.authority_none"
        return {"phone": self.phone, "email": self.email,
                "authority": self.registration_authority, "contact_msg": contact,
                "phone_msg": self._one_way(), "authority_msg": authority}

    def in_language(self, language: str) -> Contact:
        """This contact with its operator-written texts in ``language`` where given."""
        chosen = {name: text for lang, name, text in self.translations
                  if lang == language and name in ("hours", "registration_authority")}
        if not chosen:
            return self
        return replace(self, hours=chosen.get("hours", self.hours),
                       registration_authority=chosen.get("registration_authority",
                                                         self.registration_authority))

    def _one_way(self) -> str:
        if self.phone:
            return "contact.phone"
        return "contact.email" if self.email else "contact.none"


@dataclass(frozen=True)
class EngineSettings:
    secret_key: bytes
    time_allotment_seconds: int = 300
    # After a successful proof, choosing the new password gets its own clock: a person who
    # proved quickly but thinks about the password must not redo the proof (issue 12).
    password_allotment_seconds: int = 300
    idle_seconds: int = 120
    questions_enrolled: int = 3
    questions_asked: int = 2
    failure_limit: int = 5
    failure_window_seconds: int = 86_400
    sender_rate_limit: int = 20
    sender_rate_window_seconds: int = 3_600
    # Flows started per channel and window, all senders together: a ceiling on a flood from
    # many numbers or accounts at once.
    channel_rate_limit: int = 2_000
    # Above it the channel is under pressure: no one is refused for the channel's sake, but
    # each sender may start only this many flows per window (dialogs.rate_limits).
    pressure_sender_limit: int = 3
    # Tickets per sender (channel + sender) and per account per window (Turn.escalate).
    tickets_per_sender: int = 3
    tickets_sender_window_seconds: int = 3_600
    tickets_per_account: int = 5
    tickets_account_window_seconds: int = 86_400
    # Wrong current passwords the bot lets through per account and window: kept below any
    # sane directory lockout threshold so the bot can never be used to lock an account.
    bind_failure_limit: int = 2
    captcha_attempts: int = 3
    # New challenges a person may ask for in one proof ("new", "audio", a button) without it
    # counting as a wrong answer; capped so a script cannot fish for an easy one (issue 11).
    captcha_refreshes: int = 5
    code_attempts: int = 3
    code_digits: int = 6
    code_ttl_seconds: int = 600
    # How long a binding that just moved (a new Telegram account or mobile on an enrolled
    # account) is no possession factor for forgot or unlock; the older binding still is.
    binding_cooling_off_seconds: int = 86_400
    default_language: str = "en"
    languages: tuple[str, ...] = ("en", "fr")
    password_rules: PasswordRules = field(default_factory=PasswordRules)
    contact: Contact = field(default_factory=Contact)
    channels: tuple[tuple[str, ChannelPolicy], ...] = ()
    domains_self_service: tuple[tuple[str, bool], ...] = ()
    default_domain: str = "DEFAULT"
    # Channels where a new password must never be typed (SMS, voice): they get a
    # temporary password sent by SMS instead.
    no_password_channels: tuple[str, ...] = ("sms", "voice")
    # On SMS: "link" (a single-use link to the password page) or "temporary" (a temporary
    # password by SMS). Voice always gets a temporary password.
    sms_reset_delivery: str = "link"
    link_ttl_seconds: int = 600
    public_url: str = ""
    # What voice callers prove with: "answers" (spoken answers to the questions) or "pin"
    # (the voice PIN chosen at enrolment, keyed in), the same for every caller.
    voice_factor: str = "answers"

    def channel(self, name: str) -> ChannelPolicy:
        return dict(self.channels).get(name, ChannelPolicy())

    def self_service(self, domain: str) -> bool:
        return dict(self.domains_self_service).get(domain, True)

"""Load one TOML file plus environment overrides into ``Settings``.

The file gives the shape; the environment gives secrets and deployment-specific values
(DESIGN.md section 6), and wins over the file. Every problem raises ``ConfigError`` naming the
key, so a wrong config fails at start instead of at the first reset at 3 a.m.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.errors import ConfigError, did_you_mean, raise_all
from config.secret import Secret
from config.settings import (
    CHANNEL_NAMES,
    DEFAULT_DOMAIN,
    ChannelSettings,
    DomainSettings,
    Settings,
)

# Environment variable -> dotted key in the file. Domain variables are handled apart.
_ENV_KEYS: dict[str, str] = {
    "SSPM_SECRET_KEY": "secret_key",
    "SSPM_PUBLIC_URL": "public_url",
    "SSPM_REDIS_URL": "redis.url",
    "SSPM_REDIS_PASSWORD": "redis.password",
    "SSPM_REDIS_SENTINEL_PASSWORD": "redis.sentinel.password",
    "TWILIO_AUTH_TOKEN": "twilio.auth_token",
    "TWILIO_ACCOUNT_SID": "twilio.account_sid",
    "TWILIO_FROM": "twilio.from_number",
    "TELEGRAM_BOT_TOKEN": "telegram.bot_token",
    "TELEGRAM_WEBHOOK_SECRET": "telegram.webhook_secret",
    "TELEGRAM_API_BASE": "telegram.api_base",
}
# WRITE_URL before URL: a suffix is matched in this order (SSPM_DOMAIN_X_WRITE_URL).
_DOMAIN_ENV_FIELDS = {"WRITE_URL": "write_urls", "URL": "url", "BIND_DN": "bind_dn",
                      "BIND_PASSWORD": "bind_password", "BASE_DN": "base_dn"}


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (``path`` or ``$SSPM_CONFIG``) and apply the environment."""
    env = os.environ if environ is None else environ
    raw = _read_file(path if path is not None else env.get("SSPM_CONFIG"))
    _apply_environment(raw, env)
    return settings_from_dict(raw)


def settings_from_dict(raw: dict[str, Any]) -> Settings:
    """Build ``Settings`` from plain data (a parsed TOML document).

    Every problem is collected before anything is raised, so one run lists them all.
    """
    data = dict(raw)
    errors: list[ConfigError] = []
    domains = _sections(data.pop("domains", {}), "domains", errors)
    channels = _sections(data.pop("channels", {}), "channels", errors)
    data["domains"] = _built(domains, _build_domain, errors)
    broken_domains = bool(errors)
    data["channels"] = _built(channels, _build_channel, errors)
    data.setdefault("default_domain", DEFAULT_DOMAIN)
    if isinstance(data["default_domain"], str):
        data["default_domain"] = data["default_domain"].upper()
    settings: Settings | None = None
    try:
        settings = build(Settings, data, "")
    except ConfigError as exc:
        # A domain that failed to build is missing here: "no domain named ..." would be noise.
        errors += [e for e in exc.errors if not (broken_domains and e.key in _DOMAIN_KEYS)]
    raise_all(errors)
    assert settings is not None  # build() returned, or the errors were raised above
    return settings


_DOMAIN_KEYS = ("domains", "default_domain")


def _sections(value: Any, key: str, errors: list[ConfigError]) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    errors.append(ConfigError(key, f"must be a table of [{key}.NAME] sections"))
    return {}


def _built(sections: dict[str, Any], builder: Any,
           errors: list[ConfigError]) -> tuple[Any, ...]:
    built = []
    for name, value in sections.items():
        try:
            built.append(builder(name, value))
        except ConfigError as exc:
            errors.extend(exc.errors)
    return tuple(built)


def _read_file(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if not path:
        return {}
    file = Path(path)
    try:
        with file.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError("config", f"file not found: {file}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("config", f"{file} is not valid TOML: {exc}") from None


def _apply_environment(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for variable, dotted in _ENV_KEYS.items():
        if env.get(variable):
            _set_dotted(raw, dotted, env[variable])
    default = str(raw.get("default_domain", DEFAULT_DOMAIN)).upper()
    domains = raw.setdefault("domains", {})
    if not isinstance(domains, dict):
        return
    for suffix, key in _DOMAIN_ENV_FIELDS.items():
        value = env.get(f"SSPM_LDAP_{suffix}")
        if value:
            _set_domain_value(domains.setdefault(_existing_name(domains, default), {}), key,
                              value)
    for variable, value in env.items():
        if variable.startswith("SSPM_DOMAIN_") and value:
            _apply_domain_variable(domains, variable.removeprefix("SSPM_DOMAIN_"), value)


def _apply_domain_variable(domains: dict[str, Any], rest: str, value: str) -> None:
    # SSPM_DOMAIN_<NAME>_<FIELD>, e.g. SSPM_DOMAIN_PARTNERS_BIND_PASSWORD
    for suffix, key in _DOMAIN_ENV_FIELDS.items():
        if rest.endswith("_" + suffix):
            name = rest.removesuffix("_" + suffix)
            _set_domain_value(domains.setdefault(_existing_name(domains, name), {}), key, value)
            return


def _set_domain_value(domain: Any, key: str, value: str) -> None:
    """Several server URLs come space-separated, as in ldap.conf's URI; the environment's
    servers replace the file's, whichever of url / urls the file used."""
    if not isinstance(domain, dict):
        return  # the file's own shape error is reported by the builder
    if key == "url":
        domain.pop("urls", None)
    domain[key] = value.split() if key == "write_urls" else value


def _existing_name(domains: dict[str, Any], name: str) -> str:
    for existing in domains:
        if existing.upper() == name.upper():
            return existing
    return name


def _set_dotted(raw: dict[str, Any], dotted: str, value: str) -> None:
    *parents, last = dotted.split(".")
    node = raw
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _build_domain(name: str, value: Any) -> DomainSettings:
    path = f"domains.{name}"
    if not isinstance(value, dict):
        raise ConfigError(path, "must be a table")
    return build(DomainSettings, {**value, "name": name.upper()}, path)


def _build_channel(name: str, value: Any) -> ChannelSettings:
    path = f"channels.{name}"
    if name not in CHANNEL_NAMES:
        raise ConfigError(path, f"unknown channel{did_you_mean(name, CHANNEL_NAMES)} "
                                f"(known: {', '.join(CHANNEL_NAMES)})")
    if not isinstance(value, dict):
        raise ConfigError(path, "must be a table")
    return build(ChannelSettings, {**value, "name": name}, path)


T = typing.TypeVar("T")


def build(cls: type[T], data: Any, path: str) -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types; every
    problem of this table and the tables inside it is raised at once."""
    if not isinstance(data, dict):
        raise ConfigError(path or cls.__name__, "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    errors = [ConfigError(_join(path, key), "unknown key" + did_you_mean(key, fields))
              for key in data if key not in fields]
    kwargs: dict[str, Any] = {}
    for name, spec in fields.items():
        key = _join(path, name)
        if name in data:
            try:
                kwargs[name] = _convert(hints[name], data[name], key)
            except ConfigError as exc:
                errors.extend(exc.errors)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            errors.append(ConfigError(key, "is required" + _env_hint(key)))
    if errors:
        raise_all([*errors, *_rule_problems(cls, hints, kwargs, path, errors)])
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(path or cls.__name__, str(exc)) from None


def _rule_problems(cls: type[Any], hints: dict[str, Any], kwargs: dict[str, Any], path: str,
                   errors: list[ConfigError]) -> list[ConfigError]:
    """The table's own rules (``__post_init__``) on the values that did convert, defaults in
    place of the others and stand-ins for missing ones, so a wrong or missing value does not
    hide a rule broken elsewhere in the table. What is already reported is not repeated."""
    reported = {e.key for e in errors}
    trial = dict(kwargs)
    for spec in dataclasses.fields(cls):
        if _join(path, spec.name) in reported and spec.name not in trial \
                and spec.default is dataclasses.MISSING \
                and spec.default_factory is dataclasses.MISSING:
            stand_in = _STAND_INS.get(hints[spec.name])
            if stand_in is None:
                return []  # the rules cannot be tried without it
            trial[spec.name] = stand_in
    try:
        cls(**trial)
    except ConfigError as exc:
        return [e for e in exc.errors if e.key not in reported]
    except (TypeError, ValueError):
        return []
    return []


_STAND_INS: dict[Any, Any] = {str: "stand-in", Secret: Secret("stand-in-for-a-missing-secret")}


def _env_hint(key: str) -> str:
    for variable, dotted in _ENV_KEYS.items():
        if dotted == key:
            return f" (set {variable})"
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "domains":
        for suffix, field_name in _DOMAIN_ENV_FIELDS.items():
            if field_name == parts[2]:
                return (f" (set it in the file, or SSPM_DOMAIN_{parts[1]}_{suffix}; "
                        f"for the default domain SSPM_LDAP_{suffix})")
    return ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Secret:
        return Secret(_expect(str, value, key))
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return value if isinstance(value, hint) else build(hint, value, key)
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            allowed = ", ".join(repr(a) for a in typing.get_args(hint))
            raise ConfigError(key, f"must be one of {allowed}")
        return value
    if origin is tuple:
        return _convert_tuple(hint, value, key)
    if origin in (types.UnionType, typing.Union):
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, "must be a number")
        return float(value)
    return _expect(hint, value, key)


def _convert_tuple(hint: Any, value: Any, key: str) -> tuple[Any, ...]:
    if isinstance(value, tuple):
        return value
    if not isinstance(value, list):
        raise ConfigError(key, "must be a list")
    (item_type, _ellipsis) = typing.get_args(hint)
    items: list[Any] = []
    errors: list[ConfigError] = []
    for i, item in enumerate(value):
        try:
            items.append(_convert(item_type, item, f"{key}[{i}]"))
        except ConfigError as exc:
            errors.extend(exc.errors)
    raise_all(errors)
    return tuple(items)


def _expect(kind: Any, value: Any, key: str) -> Any:
    names = {str: "a string", int: "an integer", bool: "true or false"}
    if kind is int and isinstance(value, bool):
        raise ConfigError(key, "must be an integer")
    if isinstance(kind, type) and not isinstance(value, kind):
        raise ConfigError(key, f"must be {names.get(kind, kind.__name__)}")
    return value

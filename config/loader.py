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

from config.errors import ConfigError
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
    "TWILIO_AUTH_TOKEN": "twilio.auth_token",
    "TWILIO_ACCOUNT_SID": "twilio.account_sid",
    "TWILIO_FROM": "twilio.from_number",
    "TELEGRAM_BOT_TOKEN": "telegram.bot_token",
    "TELEGRAM_WEBHOOK_SECRET": "telegram.webhook_secret",
    "TELEGRAM_API_BASE": "telegram.api_base",
}
_DOMAIN_ENV_FIELDS = {"URL": "url", "BIND_DN": "bind_dn", "BIND_PASSWORD": "bind_password",
                      "BASE_DN": "base_dn"}


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (``path`` or ``$SSPM_CONFIG``) and apply the environment."""
    env = os.environ if environ is None else environ
    raw = _read_file(path if path is not None else env.get("SSPM_CONFIG"))
    _apply_environment(raw, env)
    return settings_from_dict(raw)


def settings_from_dict(raw: dict[str, Any]) -> Settings:
    """Build ``Settings`` from plain data (a parsed TOML document)."""
    data = dict(raw)
    domains = data.pop("domains", {})
    channels = data.pop("channels", {})
    if not isinstance(domains, dict):
        raise ConfigError("domains", "must be a table of [domains.NAME] sections")
    if not isinstance(channels, dict):
        raise ConfigError("channels", "must be a table of [channels.NAME] sections")
    data["domains"] = tuple(_build_domain(name, value) for name, value in domains.items())
    data["channels"] = tuple(_build_channel(name, value) for name, value in channels.items())
    data.setdefault("default_domain", DEFAULT_DOMAIN)
    if isinstance(data["default_domain"], str):
        data["default_domain"] = data["default_domain"].upper()
    return build(Settings, data, "")


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
            domains.setdefault(_existing_name(domains, default), {})[key] = value
    for variable, value in env.items():
        if variable.startswith("SSPM_DOMAIN_") and value:
            _apply_domain_variable(domains, variable.removeprefix("SSPM_DOMAIN_"), value)


def _apply_domain_variable(domains: dict[str, Any], rest: str, value: str) -> None:
    # SSPM_DOMAIN_<NAME>_<FIELD>, e.g. SSPM_DOMAIN_PARTNERS_BIND_PASSWORD
    for suffix, key in _DOMAIN_ENV_FIELDS.items():
        if rest.endswith("_" + suffix):
            name = rest.removesuffix("_" + suffix)
            domains.setdefault(_existing_name(domains, name), {})[key] = value
            return


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
        raise ConfigError(path, f"unknown channel (known: {', '.join(CHANNEL_NAMES)})")
    if not isinstance(value, dict):
        raise ConfigError(path, "must be a table")
    return build(ChannelSettings, {**value, "name": name}, path)


T = typing.TypeVar("T")


def build(cls: type[T], data: Any, path: str) -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise ConfigError(path or cls.__name__, "must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            raise ConfigError(_join(path, key), "unknown key")
    kwargs: dict[str, Any] = {}
    for name, spec in fields.items():
        key = _join(path, name)
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], key)
        elif spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
            raise ConfigError(key, "is required" + _env_hint(key))
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(path or cls.__name__, str(exc)) from None


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
    return tuple(_convert(item_type, item, f"{key}[{i}]") for i, item in enumerate(value))


def _expect(kind: Any, value: Any, key: str) -> Any:
    names = {str: "a string", int: "an integer", bool: "true or false"}
    if kind is int and isinstance(value, bool):
        raise ConfigError(key, "must be an integer")
    if isinstance(kind, type) and not isinstance(value, kind):
        raise ConfigError(key, f"must be {names.get(kind, kind.__name__)}")
    return value

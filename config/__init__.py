"""Settings: one TOML file plus environment overrides, loaded into frozen dataclasses.

::

    load_settings(path, environ) -> Settings
    ConfigError(key, problem)     every failure names the key that is wrong
"""

from config.errors import ConfigError
from config.loader import load_settings, settings_from_dict
from config.secret import Secret
from config.settings import Settings

__all__ = ["ConfigError", "Secret", "Settings", "load_settings", "settings_from_dict"]

"""The message catalogue: turns a :class:`~dialogs.messages.Message` into words for a person.

The dialog core speaks in message ids with parameters; every channel renders them through one
:class:`Catalogue`, loaded once at start from ``channels/locale/<lang>/*.po`` (all ``.po`` files
of a language folder are merged; the same id in two files is a load error).

Rendering never fails in front of a person:

- an id missing in the person's language falls back to English; missing everywhere, the id
  itself is shown, and a warning is logged once per id and language;
- a missing parameter leaves its placeholder visible (``{min}``) instead of raising;
- a parameter whose name ends with ``_msg`` and whose value is a known message id is replaced by
  that message's text (a prompt such as ``"Question {n}: {question_msg}"`` embedding
  ``q.first_pet``). Other parameter values are inserted as they are, never translated.
"""

from __future__ import annotations

import logging
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from dialogs.messages import Message, ParamValue, parse_po

FALLBACK_LANGUAGE = "en"
DEFAULT_FOLDER = Path(__file__).resolve().parent / "locale"
EMBED_SUFFIX = "_msg"

logger = logging.getLogger(__name__)


class CatalogueError(ValueError):
    """A catalogue folder that cannot be loaded: unreadable, malformed or with duplicate ids."""


class _Placeholder:
    """Stands in for a missing parameter: formats back to its own ``{name:spec}`` text."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __format__(self, spec: str) -> str:
        return "{" + self._name + (":" + spec if spec else "") + "}"


class _Params(dict[str, object]):
    def __missing__(self, key: str) -> object:
        return _Placeholder(key)


class Catalogue:
    """Texts by language and message id; build it with :meth:`load`."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = MappingProxyType({lang: dict(ids) for lang, ids in texts.items()})
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, folder: Path | None = None) -> Catalogue:
        """Read every ``<folder>/<lang>/*.po`` (default: the ``locale`` folder of this package)."""
        root = DEFAULT_FOLDER if folder is None else folder
        if not root.is_dir():
            raise CatalogueError(f"no catalogue folder at {root}")
        texts = {sub.name: _load_language(sub) for sub in sorted(root.iterdir()) if sub.is_dir()}
        return cls({lang: ids for lang, ids in texts.items() if ids})

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._texts))

    def ids(self, language: str) -> frozenset[str]:
        """The ids defined in ``language`` itself (no fallback)."""
        return frozenset(self._texts.get(language, {}))

    def text(self, message_id: str, language: str) -> str | None:
        """The raw template of ``message_id`` in ``language`` itself, or None."""
        return self._texts.get(language, {}).get(message_id)

    def missing(self, ids: Iterable[str], language: str) -> set[str]:
        """The ids of ``ids`` that ``language`` does not define (no fallback)."""
        return set(ids) - self.ids(language)

    def knows(self, message_id: str) -> bool:
        return any(message_id in ids for ids in self._texts.values())

    def render(self, message: Message, language: str) -> str:
        """The text of ``message`` in ``language`` (English, then the bare id, as fallbacks)."""
        language = normalise_language(language)
        template = self._template(message.id, language)
        if template is None:
            return message.id
        return self._format(template, message, language)

    def countdown(self, seconds: int, language: str) -> str:
        """``common.countdown`` with the time as ``mm:ss``, e.g. ``04:18 left``."""
        minutes, secs = divmod(max(seconds, 0), 60)
        return self.render(Message.of("common.countdown", time=f"{minutes:02d}:{secs:02d}"),
                           language)

    def _template(self, message_id: str, language: str) -> str | None:
        template = self.text(message_id, language)
        if template is not None:
            return template
        fallback = self.text(message_id, FALLBACK_LANGUAGE)
        self._warn_once(message_id, language, found_in_english=fallback is not None)
        return fallback

    def _format(self, template: str, message: Message, language: str) -> str:
        params = _Params(self._expand(message.param_dict(), language))
        try:
            return string.Formatter().vformat(template, (), params)
        except (ValueError, TypeError, AttributeError, IndexError, KeyError):
            logger.warning("message %r: parameters do not fit its %r text", message.id, language)
            return template

    def _expand(self, params: dict[str, ParamValue], language: str) -> dict[str, object]:
        plain = {name: value for name, value in params.items() if not name.endswith(EMBED_SUFFIX)}
        expanded: dict[str, object] = dict(params)
        for name, value in params.items():
            if name.endswith(EMBED_SUFFIX) and isinstance(value, str) and self.knows(value):
                expanded[name] = self.render(Message.of(value, **plain), language)
        return expanded

    def _warn_once(self, message_id: str, language: str, *, found_in_english: bool) -> None:
        key = (message_id, language if found_in_english else "*")
        if key in self._warned:
            return
        self._warned.add(key)
        if found_in_english:
            logger.warning("message %r missing in %r: using English", message_id, language)
        else:
            logger.warning("message %r missing in every language: showing its id", message_id)


def normalise_language(language: str) -> str:
    """``"fr-FR"``, ``"FR"`` or ``"fr_CA"`` → ``"fr"``; the catalogue folders are bare codes."""
    return language.strip().replace("_", "-").split("-", 1)[0].lower() or FALLBACK_LANGUAGE


def _load_language(folder: Path) -> dict[str, str]:
    texts: dict[str, str] = {}
    origin: dict[str, Path] = {}
    for path in sorted(folder.glob("*.po")):
        for message_id, template in _read_po(path).items():
            if message_id in texts:
                raise CatalogueError(
                    f"{path}: message id {message_id!r} already defined in {origin[message_id]}")
            texts[message_id] = template
            origin[message_id] = path
    return texts


def _read_po(path: Path) -> dict[str, str]:
    try:
        return parse_po(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CatalogueError(f"{path}: {exc}") from exc

"""Message ids with parameters: how the dialog core speaks without holding any text.

User-facing text never lives in code. The core returns a :class:`Message` (an id such as
``"password.too_short"`` plus named parameters); a channel looks the id up in the gettext
catalogue of the person's language (``channels/locale/<lang>/*.po``, msgid = the message id,
msgstr = the text with :meth:`str.format` placeholders such as ``{min}``) and formats it.

This module also holds a deliberately small reader for those ``.po`` files
(:func:`parse_po`) and :func:`placeholders`, so the catalogues can be checked without an extra
dependency. It understands what the project's catalogues use: comments, ``msgid`` / ``msgstr``
with multi-line string continuation and the usual C escapes. Plural forms and ``msgctxt`` are
rejected rather than misread.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ParamValue = str | int


@dataclass(frozen=True)
class Message:
    """A message id and its parameters, as sorted ``(name, value)`` pairs (hashable, immutable)."""

    id: str
    params: tuple[tuple[str, ParamValue], ...] = ()

    def __post_init__(self) -> None:
        if not self.id:
            raise ValueError("a message needs an id")
        names = [name for name, _ in self.params]
        if len(names) != len(set(names)):
            raise ValueError(f"duplicate parameter in message {self.id!r}")

    @classmethod
    def of(cls, id: str, /, **params: ParamValue) -> Message:
        """Build a message; parameters are stored sorted by name so equal messages compare equal."""
        return cls(id, tuple(sorted(params.items())))

    def param_dict(self) -> dict[str, ParamValue]:
        """The parameters as a dict, ready for ``template.format(**message.param_dict())``."""
        return dict(self.params)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: ``{"id": ..., "params": {...}}`` (sessions are stored as JSON)."""
        return {"id": self.id, "params": self.param_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Inverse of :meth:`as_dict`; refuses parameter values that are not ``str`` or ``int``."""
        raw_params = data.get("params", {})
        if not isinstance(raw_params, Mapping):
            raise ValueError("message params must be a mapping")
        params: dict[str, ParamValue] = {}
        for name, value in raw_params.items():
            if not isinstance(name, str) or isinstance(value, bool):
                raise ValueError("message params must map names to str or int")
            if not isinstance(value, str | int):
                raise ValueError("message params must map names to str or int")
            params[name] = value
        ident = data.get("id")
        if not isinstance(ident, str):
            raise ValueError("message id must be a string")
        return cls.of(ident, **params)


def placeholders(template: str) -> frozenset[str]:
    """The named :meth:`str.format` fields of ``template`` (``"{min} to {max}"`` → min, max)."""
    names: set[str] = set()
    for _literal, field, _spec, _conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if field == "" or field.isdigit():
            raise ValueError(f"positional placeholder in {template!r}")
        names.add(field)
    return frozenset(names)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(fragment: str, line_no: int) -> str:
    fragment = fragment.strip()
    if len(fragment) < 2 or not fragment.startswith('"') or not fragment.endswith('"'):
        raise ValueError(f"line {line_no}: expected a quoted string")
    body = fragment[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise ValueError(f"line {line_no}: bad escape")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        if char == '"':
            raise ValueError(f"line {line_no}: unescaped quote")
        out.append(char)
        i += 1
    return "".join(out)


def parse_po(text: str) -> dict[str, str]:
    """Read a gettext catalogue into ``{msgid: msgstr}``; the header entry (empty msgid) is skipped.

    Raises ``ValueError`` on anything it does not understand, on a duplicate msgid, and on
    plural or context entries (the project's catalogues use neither).
    """
    entries: dict[str, str] = {}
    msgid: str | None = None
    msgstr: str | None = None
    current: str | None = None  # "msgid" or "msgstr": where continuation lines go

    def flush() -> None:
        nonlocal msgid, msgstr, current
        if msgid is None and msgstr is None:
            return
        if msgid is None or msgstr is None:
            raise ValueError("an entry needs both msgid and msgstr")
        if msgid:
            if msgid in entries:
                raise ValueError(f"duplicate msgid {msgid!r}")
            entries[msgid] = msgstr
        msgid = msgstr = current = None

    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise ValueError(f"line {line_no}: plural and context entries are not supported")
        if line.startswith("msgid "):
            flush()
            msgid = _unquote(line[len("msgid ") :], line_no)
            current = "msgid"
        elif line.startswith("msgstr "):
            if msgid is None or msgstr is not None:
                raise ValueError(f"line {line_no}: msgstr without msgid")
            msgstr = _unquote(line[len("msgstr ") :], line_no)
            current = "msgstr"
        elif line.startswith('"'):
            piece = _unquote(line, line_no)
            if current == "msgid" and msgid is not None:
                msgid += piece
            elif current == "msgstr" and msgstr is not None:
                msgstr += piece
            else:
                raise ValueError(f"line {line_no}: continuation outside an entry")
        else:
            raise ValueError(f"line {line_no}: unexpected content")
    flush()
    return entries

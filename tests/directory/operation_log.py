"""Counts the LDAP operations the product sends, at the ldap3 ``Connection`` itself.

Every request a connection puts on the wire (search, modify, bind, extended, add, delete,
compare) is recorded with its kind and a short label (the search base's first RDN, or the
filter's first attribute), whoever sent it: the pool, a person's bind, the protected groups'
walk. Counting the pool's ``run`` instead would miss the several searches one ``run`` can
make (issue 13 counted 21 operations where ``run`` said 12).

The product's own service binds (a pool filling up) are counted apart as ``service bind``:
a warm pool sends none, so the per-reset figure is about the work, not the pool's warm-up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from ldap3 import Connection

OPERATIONS = ("search", "modify", "bind", "extended", "add", "delete", "compare")


@dataclass
class OperationLog:
    """The operations sent since ``mark``, by step."""

    service_dn: str = ""
    entries: list[tuple[str, str, str]] = field(default_factory=list)  # step, kind, label
    step: str = ""

    def mark(self, step: str) -> None:
        self.step = step

    def record(self, kind: str, label: str) -> None:
        self.entries.append((self.step, kind, label))

    def operations(self, *, service_binds: bool = False) -> list[tuple[str, str, str]]:
        return [e for e in self.entries if service_binds or e[1] != "service bind"]

    def count(self, step: str | None = None) -> int:
        return sum(1 for e in self.operations() if step is None or e[0] == step)

    def per_step(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {}
        for step, kind, _label in self.operations():
            table.setdefault(step, Counter())[kind] += 1
        return table

    def table(self) -> str:
        """A readable list, for failure messages and the report."""
        lines = []
        for step in dict.fromkeys(e[0] for e in self.operations()):
            ops = [f"{kind}({label})" for s, kind, label in self.operations() if s == step]
            lines.append(f"{step:<24} {len(ops):>2}  {', '.join(ops)}")
        lines.append(f"{'total':<24} {self.count():>2}")
        return "\n".join(lines)


def _label(kind: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    if kind == "search" and len(args) >= 2:
        base, search_filter = str(args[0]), str(args[1])
        attribute = search_filter.lstrip("(&|").split("=", 1)[0]
        return f"{base.split(',', 1)[0]} {attribute}"
    if kind in ("modify", "add", "delete", "compare") and args:
        return str(args[0]).split(",", 1)[0]
    return ""


@contextmanager
def counting_ldap(monkeypatch: pytest.MonkeyPatch, service_dn: str) -> Iterator[OperationLog]:
    """Patch ldap3's ``Connection`` for the duration; yields the log."""
    log = OperationLog(service_dn=service_dn)

    def wrap(kind: str, inner: Callable[..., Any]) -> Callable[..., Any]:
        def counted(connection: Connection, *args: Any, **kwargs: Any) -> Any:
            if kind == "bind" and str(connection.user).lower() == service_dn.lower():
                log.record("service bind", "")
            else:
                log.record(kind, _label(kind, args, kwargs))
            return inner(connection, *args, **kwargs)
        return counted

    for kind in OPERATIONS:
        monkeypatch.setattr(Connection, kind, wrap(kind, getattr(Connection, kind)))
    yield log

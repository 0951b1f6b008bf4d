"""The figures an IT manager asks for (issue 16), computed from the daily activity counts.

Pure: the counts come from :mod:`bot.activity` (what happened, per day, channel and result) and
:mod:`directory.coverage` (who is enrolled). What each figure counts:

- **outcomes** per day and channel: ``reset``, ``unlock``, ``change``, ``enrol`` records with
  result ``ok`` (self-service that worked), ``escalation`` ``raised`` (tickets opened),
  ``proof`` ``failed`` (identity proofs that failed) and throttled proofs (``proof``
  ``throttled`` and every ``rate_limit`` refusal).
- **completion**: for the flows that begin with an identity proof (forgot, unlock), proofs
  started → captcha passed → answers passed → code passed → completed; the step after which
  most people stop is where they give up. Counts are events, not people: someone who
  retries a step counts once per success.
- **help desk**: tickets opened, claimed, resolved; the median wait before a claim and before
  a resolution, read from a fixed-bucket histogram (so "≤ 15 min", not a precise second).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# Upper bounds (seconds) of the waiting-time buckets; the last bucket is "longer".
WAIT_BUCKETS: tuple[int, ...] = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200)
WAITED_EVENTS = {"helpdesk.claim": "claim", "helpdesk.resolve": "resolve"}


def wait_bucket(seconds: int) -> str:
    for bound in WAIT_BUCKETS:
        if seconds <= bound:
            return str(bound)
    return "longer"


@dataclass(frozen=True)
class DayActivity:
    day: str
    events: dict[tuple[str, str, str], int]  # (event, channel, result) -> count
    waits: dict[tuple[str, str], int]  # (claim|resolve, bucket) -> count


@dataclass(frozen=True)
class Person:
    dn: str
    login: str
    name: str


@dataclass(frozen=True)
class Coverage:
    domain: str
    people: int
    enrolled: int
    not_enrolled: tuple[Person, ...]  # sorted by login
    by_ou: tuple[tuple[str, int, int], ...] = ()  # (ou dn, people, enrolled)
    # False when the directory cut a search short (a size or time limit): the counts are a
    # lower bound, and the page says so instead of showing a wrong ratio as if it were true.
    complete: bool = True

    @property
    def ratio(self) -> float:
        return self.enrolled / self.people if self.people else 0.0


OUTCOMES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # (name, event, results)
    ("resets", "reset", ("ok",)),
    ("unlocks", "unlock", ("ok",)),
    ("changes", "change", ("ok",)),
    ("enrolments", "enrol", ("ok",)),
    ("escalations", "escalation", ("raised",)),
    ("failed_proofs", "proof", ("failed",)),
    ("throttled_proofs", "proof", ("throttled",)),
    ("throttled_proofs", "rate_limit", ("*",)),
)
OUTCOME_NAMES: tuple[str, ...] = tuple(dict.fromkeys(name for name, _, _ in OUTCOMES))
PROOF_FLOWS: dict[str, str] = {"forgot": "reset", "unlock": "unlock"}
FUNNEL: tuple[tuple[str, tuple[str, str]], ...] = (
    ("captcha", ("captcha", "ok")),
    ("answers", ("answers", "ok")),
    ("code", ("code", "ok")),
)
HELPDESK_CHANNEL = "helpdesk"


def days_back(count: int, now: float | None = None) -> list[str]:
    """The last ``count`` days (UTC), oldest first, today included."""
    today = time.time() if now is None else now
    return [time.strftime("%Y-%m-%d", time.gmtime(today - 86_400 * back))
            for back in range(count - 1, -1, -1)]


@dataclass(frozen=True)
class FunnelStep:
    name: str
    count: int


@dataclass(frozen=True)
class Report:
    days: tuple[str, ...]
    channels: tuple[str, ...]
    # (day, channel, outcome name) -> count
    outcomes: dict[tuple[str, str, str], int]
    started: dict[str, int]  # flow -> proofs started
    completed: dict[str, int]  # flow -> completed by self-service
    funnel: tuple[FunnelStep, ...]
    tickets_opened: int
    tickets_claimed: int
    tickets_resolved: int
    median_claim: str  # "≤ 300" (seconds bound) or "" when none
    median_resolve: str

    def total(self, outcome: str, channel: str | None = None) -> int:
        return sum(n for (_, ch, name), n in self.outcomes.items()
                   if name == outcome and (channel is None or ch == channel))

    def per_day(self, outcome: str) -> list[int]:
        return [sum(self.outcomes.get((day, ch, outcome), 0) for ch in self.channels)
                for day in self.days]

    def completion(self, flow: str) -> float | None:
        started = self.started.get(flow, 0)
        return self.completed.get(flow, 0) / started if started else None

    @property
    def gives_up_after(self) -> str:
        """The funnel step followed by the largest drop ("" without data)."""
        drops = [(before.count - after.count, before.name)
                 for before, after in zip(self.funnel, self.funnel[1:], strict=False)]
        worst = max(drops, default=(0, ""))
        return worst[1] if worst[0] > 0 else ""


def build_report(activity: Iterable[DayActivity]) -> Report:
    days: list[str] = []
    outcomes: Counter[tuple[str, str, str]] = Counter()
    events: Counter[tuple[str, str]] = Counter()  # (event, result), all channels
    waits: dict[str, Counter[str]] = {"claim": Counter(), "resolve": Counter()}
    channels: set[str] = set()
    for day in activity:
        days.append(day.day)
        for (event, channel, result), n in day.events.items():
            events[(event, result)] += n
            for name, wanted, results in OUTCOMES:
                if event == wanted and ("*" in results or result in results):
                    outcomes[(day.day, channel, name)] += n
                    channels.add(channel)
        for (kind, bucket), n in day.waits.items():
            if kind in waits:
                waits[kind][bucket] += n
    started = {flow: events[(f"proof.start:{flow}", "ok")] for flow in PROOF_FLOWS}
    completed = {flow: events[(outcome, "ok")] for flow, outcome in PROOF_FLOWS.items()}
    funnel = (FunnelStep("started", sum(started.values())),
              *(FunnelStep(name, events[key]) for name, key in FUNNEL),
              FunnelStep("completed", sum(completed.values())))
    channels.discard(HELPDESK_CHANNEL)
    return Report(tuple(days), tuple(sorted(channels)), dict(outcomes), started, completed,
                  funnel, events[("escalation", "raised")], events[("helpdesk.claim", "ok")],
                  events[("helpdesk.resolve", "ok")], median_bucket(waits["claim"]),
                  median_bucket(waits["resolve"]))


def median_bucket(histogram: Counter[str]) -> str:
    """The bucket holding the median: "≤ <seconds>", "longer", or "" when empty."""
    total = sum(histogram.values())
    if not total:
        return ""
    seen = 0
    for bound in (*map(str, WAIT_BUCKETS), "longer"):
        seen += histogram.get(bound, 0)
        if seen * 2 >= total:
            return bound
    return "longer"


def duration_words(bound: str) -> str:
    """A bucket's bound for people: "≤ 5 min", "≤ 2 h", "> 3 days"."""
    if not bound:
        return "–"
    if bound == "longer":
        return f"> {WAIT_BUCKETS[-1] // 86_400} days"
    seconds = int(bound)
    if seconds < 3600:
        return f"≤ {seconds // 60} min"
    if seconds < 86_400:
        return f"≤ {seconds // 3600} h"
    return f"≤ {seconds // 86_400} days" if seconds > 86_400 else "≤ 1 day"


class ReportReader(Protocol):
    """What the reports page and ``sspm report`` read (``bot.reports.ReportSource``)."""

    def report(self, days: int) -> Report: ...

    def coverage(self) -> tuple[Coverage, ...]: ...

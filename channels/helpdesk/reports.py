"""The reports pages of the console (issue 16): ``/helpdesk/reports`` and its CSV exports.

Thin: the figures come from a ``ReportReader`` (``bot.reports.ReportSource``); this module
chooses the window (30 or 90 days), draws the charts (``channels.helpdesk.charts``) and writes
CSV. Every chart has its numbers in a table one click away (a ``<details>`` under it).
Reporters (``helpdesk.reporters_group``) and agents see these pages; nobody else does.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from flask import Blueprint, Response, render_template, request

from channels.helpdesk.charts import bar_chart, line_chart
from dialogs.directory_port import DirectoryUnavailable
from dialogs.helpdesk import Agent
from dialogs.ports import StoreUnavailable
from dialogs.reports import OUTCOME_NAMES, Coverage, Report, ReportReader, duration_words

WINDOWS = (30, 90)


def _window() -> int:
    asked = request.args.get("days", "30")
    return int(asked) if asked.isdecimal() and int(asked) in WINDOWS else WINDOWS[0]


def spreadsheet_safe(cell: Any) -> Any:
    """A text a spreadsheet would run as a formula, made plain text with a leading ``'``.

    Display names come from the directory, often writable by their owner. A formula sign
    counts after blanks and in full width too (``  +cmd``, ``＝1+1``): spreadsheets skip the
    one and fold the other (tests/adversarial/test_no_directory_text_runs_in_a_report.py).
    """
    if not isinstance(cell, str) or not cell:
        return cell
    first = unicodedata.normalize("NFKC", cell.lstrip(" \t\r\n\u3000")[:1])
    if cell[0] in "\t\r\n" or first in ("=", "+", "-", "@"):
        return "'" + cell
    return cell


def write_csv(out: TextIO, rows: Iterable[Sequence[Any]]) -> None:
    """CSV for a spreadsheet: the page's exports and ``sspm report`` write through here."""
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])


def _csv(rows: list[list[Any]], filename: str) -> Response:
    buffer = io.StringIO()
    write_csv(buffer, rows)
    return Response(buffer.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


def activity_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["day", "channel", "outcome", "count"]]
    for day in report.days:
        for channel in report.channels:
            for outcome in OUTCOME_NAMES:
                count = report.outcomes.get((day, channel, outcome), 0)
                if count:
                    rows.append([day, channel, outcome, count])
    return rows


def not_enrolled_rows(coverage: Iterable[Coverage]) -> list[list[Any]]:
    rows: list[list[Any]] = [["domain", "login", "name", "dn"]]
    return rows + [[c.domain, p.login, p.name, p.dn] for c in coverage for p in c.not_enrolled]


def add_report_routes(bp: Blueprint, reports: ReportReader,
                      signed_in: Callable[[Callable[..., Any]], Callable[..., Any]],
                      translate: Callable[..., str]) -> None:

    def unavailable() -> tuple[str, int]:
        return render_template("helpdesk/login.html", error="helpdesk.unavailable"), 503

    @bp.get("/reports")
    @signed_in
    def reports_page(agent: Agent) -> str | tuple[str, int]:
        days = _window()
        try:
            report = reports.report(days)
            coverage = reports.coverage()
        except (StoreUnavailable, DirectoryUnavailable):
            return unavailable()
        names = {name: translate(f"reports.outcome.{name}") for name in OUTCOME_NAMES}
        activity = line_chart(translate("reports.activity_title", days=days), report.days,
                              [(names[name], report.per_day(name)) for name in OUTCOME_NAMES])
        by_channel = bar_chart(translate("reports.by_channel_title"), [
            (f"{channel}: {names[name]}", report.total(name, channel))
            for channel in report.channels for name in ("resets", "unlocks", "changes")
            if report.total(name, channel)])
        funnel = bar_chart(translate("reports.funnel_title"), [
            (translate(f"reports.step.{step.name}"), step.count) for step in report.funnel])
        return render_template(
            "helpdesk/reports.html", agent=agent, days=days, windows=WINDOWS, report=report,
            coverage=coverage, names=names, outcome_names=OUTCOME_NAMES,
            activity_chart=activity, channel_chart=by_channel, funnel_chart=funnel,
            median_claim=duration_words(report.median_claim),
            median_resolve=duration_words(report.median_resolve))

    @bp.get("/reports/activity.csv")
    @signed_in
    def activity_csv(agent: Agent) -> Response | tuple[str, int]:
        days = _window()
        try:
            report = reports.report(days)
        except StoreUnavailable:
            return unavailable()
        return _csv(activity_rows(report), f"sspm-activity-{days}d.csv")

    @bp.get("/reports/not-enrolled.csv")
    @signed_in
    def not_enrolled_csv(agent: Agent) -> Response | tuple[str, int]:
        try:
            coverage = reports.coverage()
        except DirectoryUnavailable:
            return unavailable()
        return _csv(not_enrolled_rows(coverage), "sspm-not-enrolled.csv")

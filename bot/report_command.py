"""``sspm report``: the reports page's figures on the command line, for people and cron jobs.

Text by default; ``--csv`` writes the activity per day, channel and outcome (the same rows as
the page's CSV); ``--not-enrolled`` writes the people not enrolled as CSV. Nothing is
written anywhere: the command only reads Redis and the directory. Exit status: 0, or 69
(EX_UNAVAILABLE) when Redis or the directory cannot be reached.
"""

from __future__ import annotations

import sys
from typing import TextIO

from bot.activity import ActivityLedger
from bot.reports import ReportSource
from bot.services import redis_client
from channels.catalogue import Catalogue
from channels.helpdesk.reports import activity_rows, not_enrolled_rows, write_csv
from config.settings import Settings
from dialogs.directory_port import DirectoryUnavailable
from dialogs.messages import Message
from dialogs.ports import StoreUnavailable
from dialogs.reports import OUTCOME_NAMES, Coverage, Report, duration_words
from directory import LdapDirectory

EX_UNAVAILABLE = 69


def run_report(settings: Settings, *, days: int, as_csv: bool, not_enrolled: bool,
               coverage: bool = True, out: TextIO = sys.stdout, err: TextIO = sys.stderr,
               language: str = "en") -> int:
    if days < 1 or days > settings.reports.retention_days:
        print(f"--days must be between 1 and reports.retention_days "
              f"({settings.reports.retention_days})", file=err)
        return 2
    client = redis_client(settings)
    directories = {d.name: LdapDirectory(d) for d in settings.domains}
    ledger = ActivityLedger(client, settings.redis.key_prefix, settings.reports.retention_days)
    source = ReportSource(client, settings.redis.key_prefix, ledger, directories,
                          settings.reports)
    try:
        if not_enrolled:
            write_csv(out, not_enrolled_rows(source.coverage()))
            return 0
        report = source.report(days)
        if as_csv:
            write_csv(out, activity_rows(report))
            return 0
        found = source.coverage() if coverage else ()
        _print_text(out, report, found, days, Catalogue.load(), language)
        return 0
    except StoreUnavailable:
        print("Redis cannot be reached: no report (check redis.url, `sspm check`)", file=err)
        return EX_UNAVAILABLE
    except DirectoryUnavailable:
        print("The directory cannot be reached: no coverage (use --no-coverage, `sspm check`)",
              file=err)
        return EX_UNAVAILABLE
    finally:
        for directory in directories.values():
            directory.close()
        client.close()


def _print_text(out: TextIO, report: Report, coverage: tuple[Coverage, ...], days: int,
                catalogue: Catalogue, language: str) -> None:
    def t(message_id: str, **params: str | int) -> str:
        return catalogue.render(Message.of(message_id, **params), language)

    first, last = (report.days[0], report.days[-1]) if report.days else ("", "")
    print(f"{t('reports.title')} — {t('reports.last_days', days=days)} ({first} … {last})",
          file=out)
    if coverage:
        print(f"\n{t('reports.coverage')}", file=out)
        for c in coverage:
            print(f"  {c.domain:<12} {c.enrolled:>7} / {c.people:<7} {c.ratio:6.0%}", file=out)
            if not c.complete:
                print("  " + t("reports.coverage_incomplete", domain=c.domain, count=c.people),
                      file=out)
            for ou, people, enrolled in c.by_ou:
                share = enrolled / people if people else 0.0
                print(f"    {ou:<40} {enrolled:>7} / {people:<7} {share:6.0%}", file=out)
    channels = report.channels
    print(f"\n{t('reports.activity')}", file=out)
    print("  " + f"{'':<22}" + "".join(f"{c:>10}" for c in channels) +
          f"{t('reports.total'):>10}", file=out)
    for name in OUTCOME_NAMES:
        cells = "".join(f"{report.total(name, c):>10}" for c in channels)
        print(f"  {t('reports.outcome.' + name):<22}{cells}{report.total(name):>10}", file=out)
    print(f"\n{t('reports.completion')}", file=out)
    for flow in report.started:
        rate = report.completion(flow)
        shown = f"{rate:.0%}" if rate is not None else "–"
        print(f"  {t('menu.' + flow):<36} {report.completed[flow]:>6} / "
              f"{report.started[flow]:<6} {shown:>5}", file=out)
    for step in report.funnel:
        print(f"    {t('reports.step.' + step.name):<34} {step.count:>6}", file=out)
    if report.gives_up_after:
        print("  " + t("reports.gives_up_after",
                       step=t("reports.step." + report.gives_up_after)), file=out)
    print(f"\n{t('reports.helpdesk')}", file=out)
    for label, value in (("reports.tickets_opened", str(report.tickets_opened)),
                         ("reports.tickets_claimed", str(report.tickets_claimed)),
                         ("reports.tickets_resolved", str(report.tickets_resolved)),
                         ("reports.median_claim", duration_words(report.median_claim)),
                         ("reports.median_resolve", duration_words(report.median_resolve))):
        print(f"  {t(label):<40} {value:>10}", file=out)

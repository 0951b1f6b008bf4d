"""The ``sspm`` command: one entry point, one subcommand per role."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from config import ConfigError, load_settings

SUBCOMMANDS = {
    "check": "check the configuration: directories, Redis",
    "demo": "run the product on a throwaway local stack (slapd, Redis) with demo users",
    "console": "talk to the bot in this terminal (or pipe a script into it)",
    "web": "serve the Twilio SMS and voice webhooks, the password page and the help desk",
    "telegram": "run the Telegram bot (long polling, or --webhook)",
    "notifier": "send lock alerts and password expiry reminders on bound channels (issue 15)",
    "report": "print enrolment coverage, activity and help desk figures (text or CSV)",
    "ad-setup": "print the schema LDIF and the delegation commands for an Active Directory "
                "domain (dsacls on Windows, samba-tool on Samba)",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sspm", description="SSPM assistant: conversational self-service password manager.")
    parser.add_argument("--config", metavar="FILE",
                        help="TOML configuration file (default: $SSPM_CONFIG)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, help_text in SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == "demo":
            sub.add_argument("--workdir", metavar="DIR",
                             help="folder for the throwaway servers (default: a new temp folder)")
            sub.add_argument("--no-wait", action="store_true",
                             help="start the stack, check it, print it, then stop (for scripts)")
            sub.add_argument("--no-captcha", action="store_true",
                             help="switch the console's captcha off (for piped scripts)")
            sub.add_argument("--web", type=int, metavar="PORT",
                             help="also serve the web app (help desk console, password page) "
                                  "on 127.0.0.1:PORT")
        if name == "web":
            sub.add_argument("--host", default="127.0.0.1", help="listen address")
            sub.add_argument("--port", type=int, default=8000, help="listen port")
            sub.add_argument("--workers", type=int, default=2,
                             help="gunicorn worker processes (default: 2)")
        if name == "telegram":
            sub.add_argument("--webhook", action="store_true",
                             help="serve POST /telegram/webhook instead of long polling")
            sub.add_argument("--host", default="127.0.0.1", help="webhook listen address")
            sub.add_argument("--port", type=int, default=8081, help="webhook listen port")
            sub.add_argument("--log", metavar="FILE", help="operator log file (default: stderr)")
        if name == "ad-setup":
            _ad_setup_arguments(sub)
        if name == "report":
            sub.add_argument("--days", type=int, default=30,
                             help="how many days back, today included (default: 30)")
            sub.add_argument("--csv", action="store_true",
                             help="activity per day, channel and outcome as CSV")
            sub.add_argument("--not-enrolled", action="store_true",
                             help="the people not enrolled, as CSV")
            sub.add_argument("--no-coverage", action="store_true",
                             help="skip the directory search for enrolment coverage")
            sub.add_argument("--language", default="en", help="language of the text report")
        if name == "notifier":
            sub.add_argument("--once", action="store_true",
                             help="one pass, then exit (for cron or a check)")
        if name in ("demo", "console"):
            sub.add_argument("--sender", default="local",
                             help="who the console speaks as (default: local)")
            sub.add_argument("--captcha-dir", metavar="DIR",
                             help="where captcha images are written (default: a temp folder)")
            sub.add_argument("--log", metavar="FILE", help="operator log file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            from bot.check import print_results, run_checks

            return print_results(run_checks(load_settings(args.config)), sys.stdout)
        if args.command == "console":
            return _console(args)
        if args.command == "ad-setup":
            return _ad_setup(args)
        if args.command == "report":
            from bot.report_command import run_report

            return run_report(load_settings(args.config), days=args.days, as_csv=args.csv,
                              not_enrolled=args.not_enrolled, coverage=not args.no_coverage,
                              language=args.language)
        if args.command == "telegram":
            return _telegram(args)
        if args.command == "notifier":
            from bot.notifier import run_notifier

            return run_notifier(args.config, once=args.once)
        if args.command == "web":
            from bot.web_command import run_web

            return run_web(load_settings(args.config), args.host, args.port, args.workers)
        from bot.demo import run_demo

        return run_demo(workdir=args.workdir, wait=not args.no_wait, sender=args.sender,
                        captcha_dir=args.captcha_dir, log_file=args.log,
                        captcha=not args.no_captcha, web_port=args.web)
    except ConfigError as exc:
        for error in exc.errors:  # every problem of the file, not only the first (issue 12)
            print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _ad_setup_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--domain", metavar="NAME",
                     help="the configured domain (default: the only one with dialect \"ad\")")
    sub.add_argument("--people-ou", metavar="DN",
                     help="the OU that holds the people (default: the domain's users_dn); "
                          "with --forest-root and --service-account no config is read")
    sub.add_argument("--forest-root", metavar="DN",
                     help="the forest root domain's DN (default: the domain's base_dn)")
    sub.add_argument("--service-account", metavar="NAME",
                     help="its sAMAccountName (default: the first RDN of bind_dn)")
    sub.add_argument("--netbios", metavar="NAME",
                     help="the domain's NetBIOS name for dsacls (default: the domain's name)")
    sub.add_argument("--ldif", action="store_true", help="print only the schema LDIF")
    sub.add_argument("--samba-script", action="store_true",
                     help="print only the Samba delegation script (for sh, on a DC)")
    sub.add_argument("--samba-options", metavar="OPTIONS",
                     help="samba-tool's -s/-H options in that script "
                          "(default: the Debian paths)")


def _ad_setup(args: argparse.Namespace) -> int:
    from bot.ad_setup import SAMBA_OPTIONS, AdSetup, render, samba_commands, schema_ldif

    if args.people_ou and args.forest_root and args.service_account:
        setup = AdSetup(forest_root=args.forest_root, people_ou=args.people_ou,
                        service_account=args.service_account,
                        netbios=args.netbios or args.forest_root.split(",")[0][3:].upper())
    else:
        settings = load_settings(args.config)
        ad = [d for d in settings.domains if d.dialect == "ad"]
        chosen = [d for d in ad if d.name == args.domain.upper()] if args.domain else ad
        if len(chosen) != 1:
            names = ", ".join(d.name for d in ad) or "none"
            print(f"sspm ad-setup: name one Active Directory domain with --domain "
                  f"(configured: {names})", file=sys.stderr)
            return 2
        setup = AdSetup.for_domain(chosen[0], forest_root=args.forest_root or "",
                                   service_account=args.service_account or "",
                                   netbios=args.netbios or "")
        if args.people_ou:
            setup = AdSetup(setup.forest_root, args.people_ou, setup.service_account,
                            setup.netbios, setup.attribute)
    if args.ldif:
        sys.stdout.write(schema_ldif(setup))
    elif args.samba_script:
        sys.stdout.write(samba_commands(setup, args.samba_options or SAMBA_OPTIONS))
    else:
        sys.stdout.write(render(setup))
    return 0


def _console(args: argparse.Namespace) -> int:
    from bot.console_command import console_logging, run_console
    from bot.services import build_application

    settings = load_settings(args.config)
    console_logging(args.log)
    app = build_application(settings)
    try:
        return run_console(app, sender=args.sender, captcha_dir=args.captcha_dir)
    finally:
        app.close()


def _telegram(args: argparse.Namespace) -> int:
    from bot.services import build_application
    from bot.telegram_command import run_telegram, startup_problems, telegram_logging

    settings = load_settings(args.config)
    problems = startup_problems(settings, webhook=args.webhook)
    if problems:  # fail closed before anything connects
        for problem in problems:
            print(f"sspm telegram: {problem}", file=sys.stderr)
        return 2
    telegram_logging(args.log)
    app = build_application(settings)
    try:
        return run_telegram(settings, app, webhook=args.webhook, host=args.host,
                            port=args.port)
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main())

"""Mount the agents' console on a Flask app, from the composed application."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask

from bot.helpdesk_agents import LdapAgentDirectory
from bot.helpdesk_sessions import RedisAgentSessions
from bot.services import Application
from channels.helpdesk import HelpdeskDeps, configure_cookies, create_blueprint
from dialogs.helpdesk import Helpdesk
from dialogs.helpdesk_access import AgentAccounts, AgentSignIn, SessionGate
from dialogs.helpdesk_people import People
from dialogs.password_guesses import password_guesses
from dialogs.sealing import Sealer


def register_helpdesk(flask_app: Flask, application: Application,
                      clock: Callable[[], float] = time.time) -> None:
    settings = application.settings
    domain = settings.helpdesk.agents_domain.upper() or settings.default_domain
    agents = LdapAgentDirectory(application.directories[domain], settings.helpdesk.agents_group,
                                settings.helpdesk.reporters_group)
    if not flask_app.secret_key:
        flask_app.secret_key = settings.secret_key.reveal()
    configure_cookies(flask_app, secure=settings.public_url.startswith("https://"))
    flask_app.register_blueprint(create_blueprint(helpdesk_deps(application, agents, clock)))


def helpdesk_deps(application: Application, agents: AgentAccounts,
                  clock: Callable[[], float] = time.time) -> HelpdeskDeps:
    """The console's parts; the tests build theirs here too, with a manual clock."""
    settings, services = application.settings, application.services
    sealer = Sealer(services.settings.secret_key)
    # The same budget (same counters, same key) as the change flow's and the password
    # page's binds: a guess spent at the console is spent everywhere (DESIGN.md 5.3).
    guesses = password_guesses(services)
    desk = settings.helpdesk
    sign_in = AgentSignIn(agents, guesses, services.counters, sealer, services.audit,
                          desk.sign_in_failures_per_client, desk.sign_in_client_window_seconds)
    gate = SessionGate(RedisAgentSessions(application.redis, settings.redis.key_prefix),
                       agents, services.audit, desk.idle_timeout_seconds,
                       desk.membership_check_seconds)
    helpdesk = Helpdesk(services, application.tickets, application.relays, application.outbound)
    people = People(services, application.tickets, application.outbound)
    return HelpdeskDeps(helpdesk=helpdesk, sign_in=sign_in, gate=gate,
                        catalogue=application.catalogue, settings=desk, clock=clock,
                        people=people, reports=application.reports)

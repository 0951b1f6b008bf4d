"""Mount the agents' console on a Flask app, from the composed application."""

from __future__ import annotations

import time

from flask import Flask

from bot.helpdesk_agents import LdapAgentDirectory
from bot.services import Application
from channels.helpdesk import HelpdeskDeps, configure_cookies, create_blueprint
from dialogs.helpdesk import Helpdesk


def register_helpdesk(flask_app: Flask, application: Application) -> None:
    settings = application.settings
    domain = settings.helpdesk.agents_domain.upper() or settings.default_domain
    agents = LdapAgentDirectory(application.directories[domain], settings.helpdesk.agents_group)
    helpdesk = Helpdesk(application.services, application.tickets, application.relays)
    if not flask_app.secret_key:
        flask_app.secret_key = settings.secret_key.reveal()
    configure_cookies(flask_app, secure=settings.public_url.startswith("https://"))
    flask_app.register_blueprint(create_blueprint(HelpdeskDeps(
        helpdesk=helpdesk, agents=agents, dispatch=application.outbound.dispatch,
        catalogue=application.catalogue, settings=settings.helpdesk, clock=time.time)))

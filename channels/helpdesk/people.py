"""The console's people pages: search, a person's enrolment and lock state, clear, ticket.

Thin, like the rest of the console: ``dialogs.helpdesk_people.People`` decides and audits.
The search is a POST (with the CSRF token), so what was typed never lands in a URL, an
access log or the browser's history; pages after that name the account found, not the query.
Clearing an enrolment takes two POSTs: the first shows what will be cleared and asks to
confirm, only the second (``confirm=yes``) changes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from dialogs.directory_port import DirectoryUnavailable
from dialogs.helpdesk import Agent, HelpdeskError
from dialogs.helpdesk_outbox import Outcome
from dialogs.helpdesk_people import People
from dialogs.ports import StoreUnavailable

MAX_QUERY = 256


def add_people_routes(bp: Blueprint, people: People,
                      signed_in: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:

    @bp.route("/people", methods=["GET", "POST"])
    @signed_in
    def people_search(agent: Agent) -> str | tuple[str, int]:
        query = request.form.get("q", "")[:MAX_QUERY] if request.method == "POST" else ""
        try:
            found = people.find(agent, query) if query.strip() else None
        except (DirectoryUnavailable, StoreUnavailable):
            return render_template("helpdesk/people.html", agent=agent, people=None,
                                   searched=False, error="helpdesk.unavailable"), 503
        return render_template("helpdesk/people.html", agent=agent, people=found or [],
                               searched=found is not None, error="")

    @bp.get("/people/<domain>/<username>")
    @signed_in
    def person(agent: Agent, domain: str, username: str) -> str | tuple[str, int]:
        try:
            shown = people.person(agent, domain, username)
        except HelpdeskError:
            abort(404)
        except (DirectoryUnavailable, StoreUnavailable):
            return render_template("helpdesk/people.html", agent=agent, people=None,
                                   searched=False, error="helpdesk.unavailable"), 503
        notice, error = _said()
        return render_template("helpdesk/person.html", agent=agent, person=shown,
                               notice=notice, error=error)

    @bp.post("/people/<domain>/<username>/clear")
    @signed_in
    def clear(agent: Agent, domain: str, username: str) -> str | BaseResponse:
        if request.form.get("confirm") == "yes":
            _remember(_outcome(lambda: people.clear_enrolment(agent, domain, username)))
        else:
            try:
                shown = people.person(agent, domain, username)
            except HelpdeskError:
                abort(404)
            except (DirectoryUnavailable, StoreUnavailable):
                _remember(Outcome("helpdesk.unavailable", warning=True))
            else:
                return render_template("helpdesk/clear.html", agent=agent, person=shown)
        return redirect(url_for("helpdesk.person", domain=domain, username=username))

    @bp.post("/people/<domain>/<username>/ticket")
    @signed_in
    def open_ticket(agent: Agent, domain: str, username: str) -> BaseResponse:
        try:
            ticket = people.open_ticket(agent, domain, username)
        except HelpdeskError as error:
            _remember(Outcome(error.message_id, warning=True))
            return redirect(url_for("helpdesk.person", domain=domain, username=username))
        except (DirectoryUnavailable, StoreUnavailable):
            _remember(Outcome("helpdesk.unavailable", warning=True))
            return redirect(url_for("helpdesk.person", domain=domain, username=username))
        return redirect(url_for("helpdesk.ticket", ticket=ticket))


def _outcome(action: Callable[[], Outcome]) -> Outcome:
    try:
        return action()
    except HelpdeskError as error:
        return Outcome(error.message_id, warning=True)
    except (DirectoryUnavailable, StoreUnavailable):
        return Outcome("helpdesk.unavailable", warning=True)


def _remember(outcome: Outcome) -> None:
    # In the signed cookie, not the URL: a link cannot make the page claim something happened.
    session["said"] = ["", outcome.message_id] if outcome.warning else [outcome.message_id, ""]


def _said() -> tuple[str, str]:
    said = session.pop("said", None)
    if not isinstance(said, list) or len(said) != 2:
        return "", ""
    return str(said[0]), str(said[1])

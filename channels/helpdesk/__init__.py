"""The agents' console: a Flask blueprint under ``/helpdesk``.

Thin: CSRF is enforced here; who may sign in and whether a session still holds is decided by
``dialogs.helpdesk_access`` (``AgentSignIn``, ``SessionGate``), every decision on a ticket
(who may claim, verify, unlock, reset) by ``dialogs.helpdesk.Helpdesk``. The cookie is
signed by Flask with the server's secret key, HttpOnly, SameSite=Strict, Secure behind https;
it holds a random server-side session id, a CSRF token and the language, nothing secret, and
is worth nothing once the server-side session is gone (logout, idle timeout, an agent removed
from the agents' group). The client address the sign-in throttles is ``request.remote_addr``:
behind a reverse proxy, wrap the app in werkzeug's ``ProxyFix``; ``X-Forwarded-For`` is never
read here, since any client can write it.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from channels.catalogue import Catalogue
from channels.helpdesk.people import add_people_routes
from channels.helpdesk.reports import add_report_routes
from config.settings import HelpdeskSettings
from dialogs.directory_port import DirectoryUnavailable
from dialogs.helpdesk import Agent, Helpdesk, HelpdeskError
from dialogs.helpdesk_access import AgentSignIn, SessionGate
from dialogs.helpdesk_outbox import Outcome
from dialogs.helpdesk_people import People
from dialogs.messages import Message
from dialogs.ports import StoreUnavailable
from dialogs.reports import ReportReader

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class HelpdeskDeps:
    helpdesk: Helpdesk
    sign_in: AgentSignIn
    gate: SessionGate
    catalogue: Catalogue
    settings: HelpdeskSettings
    clock: Callable[[], float] = time.time
    people: People | None = None  # the people pages (find, enrolment, clear) when given
    reports: ReportReader | None = None  # the reports pages (issue 16) when given


def configure_cookies(app: Flask, secure: bool) -> None:
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      SESSION_COOKIE_SECURE=secure, SESSION_COOKIE_NAME="sspm_helpdesk")


def create_blueprint(deps: HelpdeskDeps) -> Blueprint:
    bp = Blueprint("helpdesk", __name__, url_prefix="/helpdesk", template_folder="templates")

    @bp.after_request
    def headers(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'")
        return response

    @bp.app_template_global("t")
    def translate(message_id: str, **params: str | int) -> str:
        return deps.catalogue.render(Message.of(message_id, **params), _language())

    @bp.app_template_global("reason_text")
    def reason_text(reason: str) -> str:
        """An escalation's reason in words; a reason no catalogue knows yet still reads."""
        message_id = "helpdesk.reason." + reason
        if deps.catalogue.knows(message_id):
            return translate(message_id)
        return translate("helpdesk.reason_other", reason=reason)

    @bp.app_template_global("people_pages")
    def people_pages() -> bool:
        return deps.people is not None

    @bp.app_template_global("report_pages")
    def report_pages() -> bool:
        return deps.reports is not None

    @bp.app_template_filter("when")
    def when(timestamp: float) -> str:
        return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))

    @bp.app_template_global("csrf_token")
    def csrf_token() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return str(session["csrf"])

    @bp.before_request
    def check_csrf() -> None:
        if request.method == "POST":
            sent = request.form.get("csrf", "")
            expected = str(session.get("csrf", ""))
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                abort(403)

    def signed_in(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            sid = str(session.get("sid", ""))
            try:
                admitted = deps.gate.admit(sid, deps.clock())
            except (DirectoryUnavailable, StoreUnavailable):
                return _unavailable()
            if not isinstance(admitted, Agent):
                _forget_agent()
                return redirect(url_for("helpdesk.login", expired="1" if sid else None))
            return view(admitted, *args, **kwargs)
        return wrapper  # type: ignore[return-value]

    def agents_only(view: F) -> F:
        """Tickets and people are for agents; a reporter is sent to the reports."""
        @wraps(view)
        def wrapper(agent: Agent, *args: Any, **kwargs: Any) -> Any:
            if agent.reports_only:
                if deps.reports is None:
                    abort(403)
                return redirect(url_for("helpdesk.reports_page"))
            return view(agent, *args, **kwargs)
        return signed_in(wrapper)  # type: ignore[return-value]

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> str | BaseResponse:
        error = ""
        if request.method == "POST":
            try:
                result = deps.sign_in.attempt(request.form.get("username", "").strip(),
                                              request.form.get("password", ""),
                                              request.remote_addr or "")
                agent = result.agent
                sid = deps.gate.open(agent, deps.clock()) if agent is not None else ""
            except StoreUnavailable:
                agent, sid = None, ""
            if agent is not None:
                language = session.get("lang")
                session.clear()  # a fresh cookie at every sign-in: no session fixation
                session.update(sid=sid, csrf=secrets.token_urlsafe(32))
                if language:
                    session["lang"] = language
                return redirect(url_for("helpdesk.queue"))
            # One message for every refusal (wrong password, not an agent, throttled).
            error = "helpdesk.sign_in_refused"
        elif request.args.get("expired"):
            error = "helpdesk.signed_out_idle"
        return render_template("helpdesk/login.html", error=error)

    @bp.post("/logout")
    def logout() -> BaseResponse | tuple[str, int]:
        sid = str(session.get("sid", ""))
        session.clear()  # this browser forgets the session whatever the store says
        try:
            deps.gate.close(sid)
        except StoreUnavailable:
            return _unavailable()
        return redirect(url_for("helpdesk.login"))

    @bp.get("/")
    @agents_only
    def queue(agent: Agent) -> str:
        return render_template("helpdesk/queue.html", agent=agent,
                               tickets=deps.helpdesk.queue())

    @bp.get("/ticket/<ticket>")
    @agents_only
    def ticket(agent: Agent, ticket: str) -> str:
        try:
            view = deps.helpdesk.ticket(ticket)
        except HelpdeskError:
            abort(404)
        # What the last action did is carried in the (signed) cookie, not in the URL: a link
        # cannot make the page claim that something happened.
        said = session.pop("said", None)
        notice, error = ("", "") if not isinstance(said, list) or len(said) != 2 \
            else (str(said[0]), str(said[1]))
        return render_template("helpdesk/ticket.html", agent=agent, view=view,
                               notice=notice, error=error)

    @bp.post("/ticket/<ticket>/<action>")
    @agents_only
    def act(agent: Agent, ticket: str, action: str) -> BaseResponse:
        handler = ACTIONS.get(action)
        if handler is None:
            abort(404)
        try:
            outcome = handler(deps.helpdesk, agent, ticket, request.form)
        except HelpdeskError as error:
            outcome = Outcome(error.message_id, warning=True)
        except (DirectoryUnavailable, StoreUnavailable):
            outcome = Outcome("helpdesk.unavailable", warning=True)
        session["said"] = ["", outcome.message_id] if outcome.warning \
            else [outcome.message_id, ""]
        return redirect(url_for("helpdesk.ticket", ticket=ticket))

    @bp.get("/language/<code>")
    def language(code: str) -> BaseResponse:
        if code in deps.catalogue.languages:
            session["lang"] = code
        # Back to the page it was asked from, only if that page is ours (no open redirect).
        back = request.referrer or ""
        return redirect(back if back.startswith(request.host_url + "helpdesk/")
                        else url_for("helpdesk.queue"))

    if deps.people is not None:
        add_people_routes(bp, deps.people, agents_only)
    if deps.reports is not None:
        add_report_routes(bp, deps.reports, signed_in, translate)
    return bp


def _language() -> str:
    return str(session.get("lang", "en"))


def _forget_agent() -> None:
    for key in ("sid", "said"):
        session.pop(key, None)


def _unavailable() -> tuple[str, int]:
    return render_template("helpdesk/login.html", error="helpdesk.unavailable"), 503


Handler = Callable[[Helpdesk, Agent, str, Any], Outcome]


def _simple(method: str, notice: str) -> Handler:
    def handle(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> Outcome:
        getattr(helpdesk, method)(agent, ticket)
        return Outcome(notice)
    return handle


def _note(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> Outcome:
    helpdesk.note(agent, ticket, str(form.get("text", "")))
    return Outcome("helpdesk.noted")


def _username(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> Outcome:
    helpdesk.set_username(agent, ticket, str(form.get("username", "")))
    return Outcome("helpdesk.username_set")


def _say(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> Outcome:
    return helpdesk.say(agent, ticket, str(form.get("text", "")))


def _check(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> Outcome:
    if helpdesk.check_code(agent, ticket, str(form.get("code", ""))):
        return Outcome("helpdesk.verified")
    return Outcome("helpdesk.code_wrong", warning=True)


def _told(method: str) -> Handler:
    """Actions whose outcome says what really reached the person."""
    def handle(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> Outcome:
        outcome: Outcome = getattr(helpdesk, method)(agent, ticket)
        return outcome
    return handle


ACTIONS: dict[str, Handler] = {
    "claim": _simple("claim", "helpdesk.claimed"),
    "resolve": _simple("resolve", "helpdesk.resolved"),
    "note": _note,
    "username": _username,
    "relay_start": _told("start_relay"),
    "relay_stop": _told("stop_relay"),
    "say": _say,
    "send_code": _told("send_code"),
    "check_code": _check,
    "unlock": _told("unlock"),
    "reset": _told("reset"),
}

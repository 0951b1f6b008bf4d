"""The agents' console: a Flask blueprint under ``/helpdesk``.

Thin: sign-in, CSRF and the idle timeout are enforced here; every decision (who may claim,
verify, unlock, reset) is ``dialogs.helpdesk.Helpdesk``'s. The session cookie is signed by
Flask with the server's secret key, HttpOnly, SameSite=Strict, Secure behind https; it holds
the agent's username, a CSRF token and the time of the last request, nothing secret.
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
from config.settings import HelpdeskSettings
from dialogs.actions import Action, Notify, SendSms
from dialogs.directory_port import DirectoryUnavailable
from dialogs.helpdesk import Agent, AgentDirectory, Helpdesk, HelpdeskError
from dialogs.messages import Message
from dialogs.ports import StoreUnavailable

F = TypeVar("F", bound=Callable[..., Any])
Dispatch = Callable[[SendSms | Notify, str], bool]


@dataclass(frozen=True)
class HelpdeskDeps:
    helpdesk: Helpdesk
    agents: AgentDirectory
    dispatch: Dispatch
    catalogue: Catalogue
    settings: HelpdeskSettings
    clock: Callable[[], float] = time.time


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
            now = deps.clock()
            last = float(session.get("seen", 0))
            if "agent" not in session or now - last > deps.settings.idle_timeout_seconds:
                session.pop("agent", None)
                return redirect(url_for("helpdesk.login", expired="1" if last else None))
            session["seen"] = now
            return view(_agent(), *args, **kwargs)
        return wrapper  # type: ignore[return-value]

    @bp.route("/login", methods=["GET", "POST"])
    def login() -> str | BaseResponse:
        error = ""
        if request.method == "POST":
            agent = deps.agents.authenticate(request.form.get("username", "").strip(),
                                             request.form.get("password", ""))
            if agent is not None:
                session.clear()
                session.update(agent=agent.username, name=agent.display_name,
                               seen=deps.clock(), csrf=secrets.token_urlsafe(32))
                deps.helpdesk.services.audit.record("helpdesk.sign_in", result="ok",
                                                    channel="helpdesk", who=agent.username)
                return redirect(url_for("helpdesk.queue"))
            deps.helpdesk.services.audit.record("helpdesk.sign_in", result="refused",
                                                channel="helpdesk", who="")
            error = "helpdesk.sign_in_refused"
        elif request.args.get("expired"):
            error = "helpdesk.signed_out_idle"
        return render_template("helpdesk/login.html", error=error)

    @bp.post("/logout")
    def logout() -> BaseResponse:
        session.clear()
        return redirect(url_for("helpdesk.login"))

    @bp.get("/")
    @signed_in
    def queue(agent: Agent) -> str:
        return render_template("helpdesk/queue.html", agent=agent,
                               tickets=deps.helpdesk.queue())

    @bp.get("/ticket/<ticket>")
    @signed_in
    def ticket(agent: Agent, ticket: str) -> str:
        try:
            view = deps.helpdesk.ticket(ticket)
        except HelpdeskError:
            abort(404)
        return render_template("helpdesk/ticket.html", agent=agent, view=view,
                               notice=request.args.get("notice", ""),
                               error=request.args.get("error", ""))

    @bp.post("/ticket/<ticket>/<action>")
    @signed_in
    def act(agent: Agent, ticket: str, action: str) -> BaseResponse:
        handler = ACTIONS.get(action)
        if handler is None:
            abort(404)
        try:
            notice, actions = handler(deps.helpdesk, agent, ticket, request.form)
        except HelpdeskError as error:
            return redirect(url_for("helpdesk.ticket", ticket=ticket, error=error.message_id))
        except (DirectoryUnavailable, StoreUnavailable):
            return redirect(url_for("helpdesk.ticket", ticket=ticket,
                                    error="helpdesk.unavailable"))
        for outbound in actions:
            if isinstance(outbound, SendSms | Notify):
                deps.dispatch(outbound, deps.helpdesk.services.settings.default_language)
        return redirect(url_for("helpdesk.ticket", ticket=ticket, notice=notice))

    @bp.get("/language/<code>")
    def language(code: str) -> BaseResponse:
        if code in deps.catalogue.languages:
            session["lang"] = code
        return redirect(request.referrer or url_for("helpdesk.queue"))

    return bp


def _agent() -> Agent:
    return Agent(str(session["agent"]), str(session.get("name", "")))


def _language() -> str:
    return str(session.get("lang", "en"))


Handler = Callable[[Helpdesk, Agent, str, Any], tuple[str, list[Action]]]


def _simple(method: str, notice: str) -> Handler:
    def handle(helpdesk: Helpdesk, agent: Agent, ticket: str,
               form: Any) -> tuple[str, list[Action]]:
        getattr(helpdesk, method)(agent, ticket)
        return notice, []
    return handle


def _note(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> tuple[str, list[Action]]:
    helpdesk.note(agent, ticket, str(form.get("text", "")))
    return "helpdesk.noted", []


def _username(helpdesk: Helpdesk, agent: Agent, ticket: str,
              form: Any) -> tuple[str, list[Action]]:
    helpdesk.set_username(agent, ticket, str(form.get("username", "")))
    return "helpdesk.username_set", []


def _say(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> tuple[str, list[Action]]:
    return "helpdesk.sent", helpdesk.say(agent, ticket, str(form.get("text", "")))


def _check(helpdesk: Helpdesk, agent: Agent, ticket: str, form: Any) -> tuple[str, list[Action]]:
    ok = helpdesk.check_code(agent, ticket, str(form.get("code", "")))
    if not ok:
        raise HelpdeskError("helpdesk.code_wrong")
    return "helpdesk.verified", []


def _returning(method: str, notice: str) -> Handler:
    def handle(helpdesk: Helpdesk, agent: Agent, ticket: str,
               form: Any) -> tuple[str, list[Action]]:
        return notice, list(getattr(helpdesk, method)(agent, ticket))
    return handle


ACTIONS: dict[str, Handler] = {
    "claim": _simple("claim", "helpdesk.claimed"),
    "resolve": _simple("resolve", "helpdesk.resolved"),
    "note": _note,
    "username": _username,
    "relay_start": _returning("start_relay", "helpdesk.relay_on"),
    "relay_stop": _returning("stop_relay", "helpdesk.relay_off"),
    "say": _say,
    "send_code": _returning("send_code", "helpdesk.code_sent"),
    "check_code": _check,
    "unlock": _returning("unlock", "helpdesk.unlocked"),
    "reset": _returning("reset", "helpdesk.reset_sent"),
}

"""The secure password page: ``GET/POST /password/<token>``, ``POST /password/<token>/rate``.

Renders and protects only; ``dialogs.password_page.PasswordPage`` decides (link validity,
rules, strength, the reset, the change or the sign-in). The form shows what the link's
purpose asks for: a new password (reset), the current one and a new one (change), the
current one only (sign-in, for an enrolment over SMS). Every response: ``Cache-Control: no-store``,
``Referrer-Policy: no-referrer`` (the token is in the URL), a strict CSP (no inline script or
style, no external asset), no framing. Every POST carries the CSRF token bound to the link.
A password never reaches a log: errors are logged by type only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from channels.catalogue import Catalogue, normalise_language
from channels.web.csrf import CsrfGuard
from dialogs.actions import Notify, SendSms
from dialogs.directory_port import DirectoryUnavailable
from dialogs.messages import Message, ParamValue
from dialogs.password_page import PageResult, PageView, PasswordPage
from dialogs.ports import StoreUnavailable

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
STRENGTH_LABELS = ("web.strength.0", "web.strength.1", "web.strength.2", "web.strength.3",
                   "web.strength.4")

Dispatch = Callable[[SendSms | Notify, str], bool]
ErrorHook = Callable[[str, BaseException], None]


@dataclass(frozen=True)
class PageTexts:
    """The page's words in one language (the catalogue owns them)."""

    catalogue: Catalogue
    language: str
    contact: dict[str, ParamValue]

    def __call__(self, message_id: str, **params: ParamValue) -> str:
        return self.catalogue.render(Message.of(message_id, **{**self.contact, **params}),
                                     self.language)

    def message(self, message: Message) -> str:
        return self.catalogue.render(message, self.language)


@dataclass(frozen=True)
class PasswordSite:
    page: PasswordPage
    catalogue: Catalogue
    dispatch: Dispatch
    csrf: CsrfGuard
    contact: dict[str, ParamValue]
    max_length: int
    default_language: str

    def texts(self, language: str) -> PageTexts:
        code = normalise_language(language)
        if code not in self.catalogue.languages:
            code = self.default_language
        return PageTexts(self.catalogue, code, self.contact)


def password_blueprint(site: PasswordSite, on_error: ErrorHook) -> Blueprint:
    blueprint = Blueprint("password", __name__, template_folder="templates",
                          static_folder="static", static_url_path="/static/password")

    @blueprint.get("/password/<token>")
    def show(token: str) -> Response:
        view = site.page.open(token)
        if not view.valid:
            return _message_page(site.texts(site.default_language), "gone", 410)
        nonce = site.csrf.nonce(request) or site.csrf.new_nonce()
        texts = site.texts(view.language)
        response = _form_page(site, texts, token, site.csrf.token(nonce, token), view)
        site.csrf.set_cookie(response, nonce)
        return response

    @blueprint.post("/password/<token>")
    def submit(token: str) -> Response:
        if not site.csrf.valid(request, token, request.form.get("csrf", "")):
            return _message_page(site.texts(site.default_language), "csrf", 403)
        result = site.page.submit(token, request.form.get("password", ""),
                                  request.form.get("confirm", ""),
                                  current=request.form.get("current", ""))
        return _result_page(site, token, result)

    @blueprint.post("/password/<token>/rate")
    def rate(token: str) -> Response:
        if not site.csrf.valid(request, token, request.headers.get("X-CSRF-Token", "")):
            return _json({"error": "csrf"}, 403)
        data: Any = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
        password = str(data.get("password", ""))[:site.max_length + 1]
        verdict = site.page.rate(token, password)
        if verdict is None:
            return _json({"gone": True}, 410)
        texts = site.texts(str(data.get("language", "")))
        return _json({"ok": verdict.ok, "score": verdict.score,
                      "label": texts(STRENGTH_LABELS[max(0, min(verdict.score, 4))]),
                      "problems": [texts.message(p) for p in verdict.problems]}, 200)

    @blueprint.after_request
    def protect(response: Response) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    @blueprint.errorhandler(Exception)
    def failed(exc: Exception) -> Response | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        texts = site.texts(site.default_language)
        if isinstance(exc, DirectoryUnavailable | StoreUnavailable):
            return _message_page(texts, "unavailable", 503)
        on_error("web", exc)
        return _message_page(texts, "error", 500)

    return blueprint


def _result_page(site: PasswordSite, token: str, result: PageResult) -> Response:
    texts = site.texts(result.language)
    if result.link_gone:
        return _message_page(texts, "gone", 410)
    if result.stopped:
        # The link is used up (e.g. the budget of password guesses is spent): say why.
        body = texts.message(result.problems[0]) if result.problems else None
        return _message_page(texts, "stopped", 403, body=body)
    if result.done:
        for notice in result.notices:
            if isinstance(notice, SendSms | Notify):
                site.dispatch(notice, result.language)
        return _message_page(texts, "signed_in" if result.purpose == "enrol_sign_in"
                             else "done", 200)
    problems = tuple(texts.message(p) for p in result.problems)
    view = site.page.open(token)
    nonce = site.csrf.nonce(request) or ""
    return _form_page(site, texts, token, site.csrf.token(nonce, token), view,
                      problems=problems, status=422)


TITLES = {"reset": "web.form.title", "change": "web.change.title",
          "enrol_sign_in": "web.sign_in.title"}


def _form_page(site: PasswordSite, texts: PageTexts, token: str, csrf: str, view: PageView, *,
               problems: tuple[str, ...] = (), status: int = 200) -> Response:
    html = render_template("sspm_web/password_form.html", t=texts, lang=texts.language,
                           title=texts(TITLES[view.purpose]), csrf=csrf,
                           rules=tuple(texts.message(rule) for rule in view.rules),
                           problems=problems, max_length=site.max_length,
                           asks_current=view.asks_current, asks_new=view.asks_new,
                           submit=texts("web.sign_in.submit" if not view.asks_new
                                        else "web.form.submit"),
                           action=url_for("password.submit", token=token),
                           rate_url=url_for("password.rate", token=token))
    return Response(html, status=status, mimetype="text/html")


def _message_page(texts: PageTexts, kind: str, status: int, *,
                  body: str | None = None) -> Response:
    html = render_template("sspm_web/password_message.html", t=texts, lang=texts.language,
                           title=texts(f"web.{kind}.title"),
                           body=body if body is not None else texts(f"web.{kind}.body"))
    return Response(html, status=status, mimetype="text/html")


def _json(payload: dict[str, Any], status: int) -> Response:
    response = jsonify(payload)
    response.status_code = status
    return response

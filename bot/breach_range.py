"""The breached-password corpus over HTTP: the k-anonymity range API (``GET <base>/<prefix>``).

Compatible with the public Pwned Passwords API and with an on-premises mirror serving the
same files. Each answer line is ``SUFFIX:COUNT``; padded answers (``Add-Padding``) carry
fake suffixes with a count of 0, which hides the real answer's size on the wire and never
matches. Only the five-digit prefix is sent: the path is the whole request, no body, no
cookie.

The corpus is a third party, or a mirror nobody watches: whatever it sends (a byte at a time,
garbage, a redirect elsewhere) ends as :class:`BreachCheckUnavailable` within
``timeout_seconds`` for the whole lookup, never as an exception out of the person's turn
(tests/adversarial/test_a_hostile_breach_corpus_cannot_stall_or_crash_a_turn.py).
"""

from __future__ import annotations

import contextlib
import http.client
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

from dialogs.breached_passwords import PREFIX_LENGTH, BreachCheckUnavailable

_PREFIX = re.compile(f"[0-9A-F]{{{PREFIX_LENGTH}}}")
MAX_BODY = 4 * 1024 * 1024  # a real range answer is ~30 KiB; padded ~40 KiB
MAX_COUNT_DIGITS = 12  # the most-seen password is in the tens of millions
USER_AGENT = "sspm-assistant breached-password check"


class HttpBreachRange:
    def __init__(self, base_url: str, timeout_seconds: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout_seconds

    def suffixes(self, prefix: str) -> Mapping[str, int]:
        if not _PREFIX.fullmatch(prefix):
            raise ValueError("a range prefix is exactly five upper-case hex digits")
        # base_url is checked to be http(s) when the settings load.
        request = urllib.request.Request(  # noqa: S310
            f"{self.base_url}/{prefix}",
            headers={"User-Agent": USER_AGENT, "Add-Padding": "true"})
        # A socket timeout bounds each read, not the lookup: a server dripping a byte just
        # inside it would hold the turn for hours. The watch shuts the lookup's sockets down
        # when its time is up, whatever phase it is in (connect, TLS, headers, body).
        watch = _Watch()
        opener = urllib.request.build_opener(_HttpHandler(watch), _HttpsHandler(watch),
                                             _HttpRedirects())
        timer = threading.Timer(self.timeout, watch.expire)
        timer.daemon = True
        timer.start()
        try:
            with opener.open(request, timeout=self.timeout) as response:
                body = response.read(MAX_BODY + 1)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            raise BreachCheckUnavailable(type(exc).__name__) from None
        finally:
            timer.cancel()
            watch.close()  # nothing of this lookup stays open
        if watch.cut_short:
            raise BreachCheckUnavailable("no whole answer in time")
        if len(body) > MAX_BODY:
            raise BreachCheckUnavailable("answer too large")
        return _parse(body)


class _Watch:
    """The sockets of one lookup, shut down together when its time is up."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._done = False
        self.cut_short = False  # the time ran out before the lookup ended

    def wrap(self, create: Callable[..., socket.socket]) -> Callable[..., socket.socket]:
        def connect(*args: Any, **kwargs: Any) -> socket.socket:
            sock = create(*args, **kwargs)
            with self._lock:
                self._sockets.append(sock)
                if self._done:
                    _shut(sock)
            return sock
        return connect

    def expire(self) -> None:
        """The timer's: time is up."""
        self._shut_all(cut_short=True)

    def close(self) -> None:
        """The lookup's own end."""
        self._shut_all(cut_short=False)

    def _shut_all(self, *, cut_short: bool) -> None:
        with self._lock:
            if not self._done:
                self._done = True
                self.cut_short = cut_short
            for sock in self._sockets:
                _shut(sock)
            self._sockets.clear()


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read at once


class _WatchedHttp(http.client.HTTPConnection):
    def __init__(self, host: str, *, watch: _Watch, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = watch.wrap(self._create_connection)  # type: ignore[has-type]


class _WatchedHttps(http.client.HTTPSConnection):
    def __init__(self, host: str, *, watch: _Watch, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = watch.wrap(self._create_connection)  # type: ignore[has-type]


class _HttpHandler(urllib.request.HTTPHandler):
    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self._watch = watch

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHttp, req, watch=self._watch)  # type: ignore[arg-type]


class _HttpsHandler(urllib.request.HTTPSHandler):
    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self._watch = watch

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHttps, req, watch=self._watch,  # type: ignore[arg-type]
                            context=self._context)  # type: ignore[attr-defined]


class _HttpRedirects(urllib.request.HTTPRedirectHandler):
    """A mirror may move (http to https, another host); it may not send us to ftp:// or
    file://, which the default handler would follow or try."""

    max_redirections = 3

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        if urllib.parse.urlsplit(newurl).scheme not in ("http", "https"):
            return None  # the 3xx becomes an HTTPError: unavailable
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _parse(body: bytes) -> dict[str, int]:
    found: dict[str, int] = {}
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise BreachCheckUnavailable("answer is not ASCII") from None
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        suffix, _, count = line.partition(":")
        count = count.strip()
        # isdigit alone let a 5,000-digit count through to int(), which refuses it (ValueError).
        if not count.isdigit() or len(count) > MAX_COUNT_DIGITS:
            raise BreachCheckUnavailable("answer line is not SUFFIX:COUNT")
        found[suffix.strip().upper()] = int(count)
    return found

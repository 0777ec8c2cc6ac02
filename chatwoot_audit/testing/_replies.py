"""The answers the server and the proxies in front of it give, as plain data.

A ``Reply`` is what one request gets: status, headers (lower-case names) and body, plus what a transport
must do besides sending it (wait first, send the body short, or send nothing at all).
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field, replace

from ._json import dumps

JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"

_NGINX_TITLES = {
    500: "500 Internal Server Error",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}

# What a misrouted request gets from the dashboard: the single-page app's shell, with status 200.
DASHBOARD_HTML = (
    b'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Chatwoot</title>\n'
    b'<meta name="viewport" content="width=device-width, initial-scale=1">\n</head>\n'
    b'<body>\n<div id="app"></div>\n<noscript>Please enable JavaScript to use Chatwoot.</noscript>\n'
    b'<script src="/vite/assets/dashboard.js" type="module"></script>\n</body>\n</html>\n'
)

# Rails' own 404 page: unknown routes and other methods than GET never reach the API controllers.
NOT_FOUND_HTML = (
    b"<!DOCTYPE html>\n<html>\n<head>\n<title>The page you were looking for doesn't exist (404)</title>\n"
    b'</head>\n<body>\n<div class="dialog">\n<h1>The page you were looking for doesn\'t exist.</h1>\n'
    b"<p>You may have mistyped the address or the page may have moved.</p>\n</div>\n</body>\n</html>\n"
)

# Rails keeps a caller's X-Request-Id after stripping anything but word characters, '-' and '@'.
_REQUEST_ID_DROP = re.compile(r"[^\w\-@]", re.ASCII)


@dataclass(frozen=True)
class Reply:
    """One answer. ``status`` is 0 and ``body`` empty when the connection is dropped instead.

    ``delay`` is how long to wait before answering (latency, or a ``slow`` fault). For a ``truncate``
    fault, ``body`` is already cut short while ``content-length`` announces the whole body.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    fault: str | None = None
    delay: float = 0.0

    @property
    def dropped(self) -> bool:
        """The connection is closed without an answer."""
        return self.fault == "drop"

    @property
    def truncated(self) -> bool:
        """The body is shorter than its ``content-length``; the connection closes after it."""
        return self.fault == "truncate"


def dated(reply: Reply, now: float) -> Reply:
    """``reply`` with the ``date`` header every answer that reaches the client carries (nginx adds it)."""
    if reply.dropped:
        return reply
    return replace(reply, headers={"date": email.utils.formatdate(now, usegmt=True), **reply.headers})


def request_id(sent: str | None, fallback: str) -> str:
    """The ``x-request-id`` Rails answers with: the caller's, cleaned, or a fresh one."""
    if sent:
        cleaned = _REQUEST_ID_DROP.sub("", sent)[:255]
        if cleaned:
            return cleaned
    return fallback


def json_reply(status: int, payload: object, rid: str) -> Reply:
    """An answer from the Rails app with a JSON body."""
    body = payload if isinstance(payload, bytes) else dumps(payload)
    cache = "max-age=0, private, must-revalidate" if status == 200 else "no-cache"
    headers = {"content-type": JSON_TYPE, "cache-control": cache, "x-request-id": rid, "content-length": str(len(body))}
    return Reply(status, headers, body)


def throttled(rid: str) -> Reply:
    """Rack::Attack's answer: plain text, no Retry-After, no rate-limit headers."""
    body = b"Retry later\n"
    return Reply(429, {"content-type": "text/plain", "x-request-id": rid, "content-length": str(len(body))}, body)


def html_reply(status: int, body: bytes, rid: str | None = None) -> Reply:
    """An HTML answer: Rails' static pages (with a request id) or the SPA shell."""
    headers = {"content-type": HTML_TYPE, "content-length": str(len(body))}
    if rid is not None:
        headers["x-request-id"] = rid
    return Reply(status, headers, body)


def proxy_error(status: int) -> Reply:
    """An error page written by nginx in front of the app: HTML, no request id."""
    title = _NGINX_TITLES.get(status, f"{status} Error")
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()
    headers = {"server": "nginx", "content-type": "text/html", "content-length": str(len(body))}
    return Reply(status, headers, body)

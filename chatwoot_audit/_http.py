"""Requests from the generated client, and answers into pages or errors. No I/O: the clients send.

The generated client is the only code that knows the endpoint's URL and parameters; this module asks it
for them and only puts the base URL in front, so that a caller's own httpx client (with no base_url of
its own) works too.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
from chatwoot_audit_generated.api.audit_logs import get_account_audit_logs

from . import _errors
from ._config import Settings
from ._convert import ValidationFailure, parse_page
from ._models import AuditLogPage
from ._version import __version__

__all__ = [
    "PageRequest",
    "TransientBody",
    "build_request",
    "connection_error",
    "page_from_response",
    "redact",
    "request_headers",
]

REDACTED = "<redacted>"
USER_AGENT = f"chatwoot-audit/{__version__}"


TransientBody = _errors.TransientBody


class PageRequest:
    """The method, absolute URL and query of one page request, as the generated client builds it."""

    __slots__ = ("method", "params", "url")

    def __init__(self, settings: Settings, page: int) -> None:
        kwargs: dict[str, Any] = get_account_audit_logs._get_kwargs(account_id=settings.account_id, page=page)
        self.method: str = str(kwargs["method"]).upper()
        self.url = _absolute(settings.base_url, str(kwargs["url"]))
        self.params: dict[str, Any] = dict(kwargs.get("params") or {})


@functools.lru_cache(maxsize=64)
def _absolute(base: httpx.URL, path: str) -> httpx.URL:
    # Parsing a URL costs as much as parsing a page's worth of entries; the path is the same every page.
    return base.copy_with(raw_path=base.raw_path.rstrip(b"/") + path.encode("ascii"))


def request_headers(settings: Settings) -> dict[str, str]:
    """The headers every page request carries: the token, and what it is and wants."""
    return {settings.token_header: settings.token, "accept": "application/json", "user-agent": USER_AGENT}


def build_request(
    client: httpx.Client | httpx.AsyncClient, settings: Settings, page: int, *, own_client: bool = False
) -> httpx.Request:
    """The httpx request for ``page``, with the token header and the configured timeout.

    A client the SDK built already carries both as defaults (merging them again costs a fair share of a
    page's time); a caller's own client gets them on every request.
    """
    if client.is_closed:
        # httpx would raise a RuntimeError of its own when the request is sent.
        raise _errors.ChatwootError(
            "this client has been closed (close(), or the end of its `with` block); create a new one"
        )
    spec = PageRequest(settings, page)
    if own_client:
        return client.build_request(spec.method, spec.url, params=spec.params)
    return client.build_request(
        spec.method, spec.url, params=spec.params, headers=request_headers(settings), timeout=settings.timeout
    )


def scrub(text: str, settings: Settings) -> str:
    """``text`` with the token blanked: servers and proxies may echo request headers in an error page."""
    return text.replace(settings.token, REDACTED) if settings.token in text else text


def scrub_parsed(body: object, settings: Settings) -> object:
    """A parsed JSON ``body`` with the token blanked in every string, keys included, however deep.

    The raw text is scrubbed before decoding, but a proxy may echo the token JSON-escaped (``\\/`` for
    a slash, ``\\u0074`` for a letter), which only decoding reveals. Only error paths pay for this walk.
    """
    return _scrubbed_parsed(body, settings.token)[0]


def _scrubbed_parsed(body: object, token: str) -> tuple[object, bool]:
    """``body`` with the token blanked, and whether there was any to blank.

    The body is fresh from json.loads (no container in it twice), so lists and dicts are changed in
    place, without recursion: nesting as deep as json.loads allows cannot overflow the stack.
    """
    if isinstance(body, str):
        return (body.replace(token, REDACTED), True) if token in body else (body, False)
    found = False
    pending = [body]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            if any(isinstance(key, str) and token in key for key in node):
                found = True
                items = [(k.replace(token, REDACTED) if isinstance(k, str) else k, v) for k, v in node.items()]
                node.clear()
                node.update(items)
            for key, value in node.items():
                if isinstance(value, str):
                    if token in value:
                        found = True
                        node[key] = value.replace(token, REDACTED)
                elif isinstance(value, dict | list):
                    pending.append(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, str):
                    if token in value:
                        found = True
                        node[index] = value.replace(token, REDACTED)
                elif isinstance(value, dict | list):
                    pending.append(value)
    return body, found


def redact(request: httpx.Request | None, settings: Settings) -> None:
    """Blank the token in a request that an error will carry, so no repr or traceback can show it."""
    if request is not None and settings.token_header in request.headers:
        request.headers[settings.token_header] = REDACTED


def _text(response: httpx.Response) -> str:
    try:
        return response.text
    except Exception:  # a declared charset such as rot13 or hex fails inside the codec machinery, any way
        return response.content.decode("utf-8", errors="replace")


def _loads(data: str | bytes) -> object:
    """json.loads, with absurd nesting reported as the bad JSON it is."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _body(response: httpx.Response, settings: Settings) -> object:
    """The answer's JSON, or its text, with the token blanked before anything else reads it."""
    text = scrub(_text(response), settings)
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = _loads(text)
        except (ValueError, UnicodeDecodeError):
            return text
        return scrub_parsed(parsed, settings)
    return text


def _server_message(body: object) -> str | None:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(str(e) for e in errors)
    return None


def _short(text: str, size: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= size else text[: size - 3] + "..."


def status_error(response: httpx.Response, settings: Settings, *, attempts: int = 1) -> _errors.APIStatusError:
    """The error for a non-200 answer: the class by status, a message that says what to do."""
    body = _body(response, settings)
    status = response.status_code
    reason = response.reason_phrase or "status"
    said = _server_message(body)
    if said is None and isinstance(body, str) and body.strip():
        said = _short(body)
    parts = [f"{status} {reason}".strip()]
    if said:
        parts.append(f": {said}")
    if status == 401 and isinstance(body, dict) and "errors" in body:
        parts.append(
            f". The server saw no token although one was sent: a proxy in front of Chatwoot may be dropping "
            f"the {settings.token_header!r} header (nginx drops header names with underscores unless "
            f"'underscores_in_headers on;'). Pass token_header='Api-Access-Token' to send it with dashes."
            if settings.token_header == "api_access_token"
            else f". The server saw no token although one was sent in the {settings.token_header!r} header: "
            "check what the proxies in front of Chatwoot pass on."
        )
    elif status == 401:
        parts.append(f". Check the token, and that its user is an administrator of account {settings.account_id}")
    elif status == 404:
        parts.append(
            f". Account {settings.account_id} does not exist at {settings.base_url}, or the server has no "
            "audit-log endpoint (it needs Chatwoot's Enterprise edition)"
        )
    elif status == 429:
        parts.append(f". Still throttled after {attempts} attempts; lower the request rate or raise the retry budget")
    elif 300 <= status < 400:
        location = response.headers.get("location")
        parts.append(
            f". Redirects are not followed, so that the token never goes to another origin; "
            f"set base_url to where the server redirects ({location})"
            if location
            else ". Redirects are not followed"
        )
    request_id = response.headers.get("x-request-id")
    if request_id:
        parts.append(f" (request id {request_id})")
    redact(response.request, settings)
    error = _errors.status_error_class(status)(scrub("".join(parts), settings), response=response, body=body)
    if error.request_id is not None:
        error.request_id = scrub(error.request_id, settings)
    return error


def page_from_response(response: httpx.Response, settings: Settings, *, attempts: int = 1) -> AuditLogPage:
    """A 200 answer's page, or the error the answer stands for."""
    if response.status_code != 200:
        raise status_error(response, settings, attempts=attempts)
    try:
        body = _loads(response.content)
    except (ValueError, UnicodeDecodeError):
        redact(response.request, settings)
        text = scrub(_text(response), settings)
        content_type = response.headers.get("content-type", "unknown")
        raise TransientBody(
            f"the server answered 200 with a body that is not JSON (content-type {content_type}): "
            f"{_short(text, 120)!r}",
            response=response,
            body=text,
        ) from None
    try:
        return parse_page(body)
    except ValidationFailure as exc:
        redact(response.request, settings)
        failure = exc
        echoed = settings.token.encode() in response.content
        if echoed:
            text = scrub(_text(response), settings)
            try:
                body = _loads(text)
            except ValueError:
                body = text
        # A token sent back JSON-escaped shows only now, decoded.
        body, escaped = _scrubbed_parsed(body, settings.token)
        if echoed or escaped:
            # Describe the body with the token blanked, so no part of it reaches the message.
            try:
                parse_page(body)
            except ValidationFailure as scrubbed:
                failure = scrubbed
        raise _errors.APIResponseValidationError(
            scrub(f"the server's answer is not an audit-log page: {failure}", settings), response=response, body=body
        ) from None


def connection_error(exc: httpx.HTTPError, request: httpx.Request | None, settings: Settings) -> _errors.ChatwootError:
    """Our error for an httpx failure; the token is blanked in the request it carries."""
    redact(request, settings)
    where = f"{request.method} {request.url.copy_with(query=None)}" if request is not None else "the request"
    detail = scrub(str(exc) or type(exc).__name__, settings)
    if isinstance(exc, httpx.TimeoutException):
        return _errors.APITimeoutError(f"{where} timed out ({type(exc).__name__}: {detail})", request=request)
    # Transport failures and any other httpx error (a bad header value, a broken gzip) read the same.
    return _errors.APIConnectionError(f"{where} failed: {type(exc).__name__}: {detail}", request=request)

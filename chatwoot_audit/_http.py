"""Requests from the generated client, and answers into pages or errors. The clients send and read.

The generated client is the only code that knows the endpoint's URL and parameters; this module asks it
for them and only puts the base URL in front, so that a caller's own httpx client (with no base_url of
its own) works too. :class:`AttemptLimits` holds one attempt to its deadline and its answer to a size;
the clients feed it the body as it arrives.
"""

from __future__ import annotations

import email.utils
import functools
import json
import math
import time
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import quote

import anyio
import attrs
import httpx
from chatwoot_audit_generated import spec_table

from . import _errors
from ._config import Settings
from ._convert import ValidationFailure, parse_page
from ._errors import Hint, HintCode
from ._models import AuditLogPage
from ._redact import redact_request, scrub, scrub_bytes, scrub_parsed, scrubbed_parsed
from ._version import __version__

__all__ = [
    "AttemptLimits",
    "PageRequest",
    "TransientBody",
    "aread_body",
    "asked",
    "build_request",
    "connection_error",
    "gave_up",
    "page_from_response",
    "read_body",
    "request_headers",
]

USER_AGENT = f"chatwoot-audit/{__version__}"


TransientBody = _errors.TransientBody


# Besides page, the generated client sends the default of every query parameter the spec gives one.
_QUERY_DEFAULTS: Final = {
    p.name: p.default for p in spec_table.PARAMETERS if p.location == "query" and p.has_default and p.name != "page"
}


class PageRequest:
    """The method, absolute URL and query of one page request, as the generated client builds it.

    The generated package's spec_table, written with its modules from the same merged spec, gives the
    operation's method, path and parameters.
    """

    __slots__ = ("method", "params", "url")

    def __init__(self, settings: Settings, page: int) -> None:
        self.method: str = spec_table.METHOD
        # Filled in as the generated client fills in a path parameter.
        path = spec_table.PATH.format(account_id=quote(str(settings.account_id), safe=""))
        self.url = _absolute(settings.base_url, path)
        self.params: dict[str, Any] = {**_QUERY_DEFAULTS, "page": page}


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


_BOM_ENCODINGS: Final = frozenset({"utf-8-sig", "utf-16", "utf-32"})


def _text(response: httpx.Response, settings: Settings) -> str:
    """The body as text with the token blanked: by its BOM, its declared charset, or its NUL pattern.

    httpx reads a body without a charset as UTF-8, which turns UTF-16 into letters between NULs.
    """
    raw = scrub_bytes(response.content, settings.token)
    detected = json.detect_encoding(raw)
    # A byte-order mark outranks the declared charset, as it does in browsers.
    declared = None if detected in _BOM_ENCODINGS else response.charset_encoding
    try:
        text = raw.decode(declared or detected, errors="replace")
    except Exception:  # a declared charset such as rot13 or hex fails inside the codec machinery, any way
        text = raw.decode(detected, errors="replace")
    return scrub(text, settings.token)


def _loads(data: str | bytes) -> object:
    """json.loads, with absurd nesting reported as the bad JSON it is."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def _body(response: httpx.Response, settings: Settings) -> object:
    """The answer's JSON, or its text, with the token blanked before anything else reads it."""
    text = _text(response, settings)
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = _loads(text)
        except (ValueError, UnicodeDecodeError):
            return text
        return scrub_parsed(parsed, settings.token)
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
    """The error for a non-200 answer: the class by status, what went wrong, and a :class:`Hint`."""
    body = _body(response, settings)
    status = response.status_code
    reason = response.reason_phrase or "status"
    said = _server_message(body)
    if said is None and isinstance(body, str) and body.strip():
        said = _short(body)
    problem = f"{status} {reason}".strip() + (f": {said}" if said else "")
    if status == 401 and isinstance(body, dict) and "errors" in body:
        # Devise's shape: the request reached Chatwoot without a token.
        problem += (
            f"{'' if problem.endswith('.') else '.'} The server saw no token although one was sent in the "
            f"{settings.token_header!r} header"
        )
    elif 300 <= status < 400:
        location = response.headers.get("location")
        problem += f" to {location}" if location else ""
        problem += ": redirects are not followed, so that the token never goes to another origin"
    elif status == 404:
        problem += f", in answer to {asked(response.request)} ({tries(attempts)})"
    elif status == 429:
        problem += f"{'' if problem.endswith('.') else '.'} Still throttled after {tries(attempts)}"
    request_id = response.headers.get("x-request-id")
    if request_id:
        problem += f" (request id {request_id})"
    redact_request(response.request, settings.token_header)
    hint = _status_hint(response, settings, body)
    error = _errors.status_error_class(status)(
        scrub(problem, settings.token),
        response=response,
        body=body,
        hint=_scrubbed(hint, settings) if hint is not None else None,
    )
    if error.request_id is not None:
        error.request_id = scrub(error.request_id, settings.token)
    return error


def _scrubbed(hint: Hint, settings: Settings) -> Hint:
    # The advice quotes headers the server chose (Location): blank the token there too.
    fix = {key: scrub(value, settings.token) if isinstance(value, str) else value for key, value in hint.fix.items()}
    return attrs.evolve(hint, advice=scrub(hint.advice, settings.token), fix=fix)


def _status_hint(response: httpx.Response, settings: Settings, body: object) -> Hint | None:
    """What to do about a non-200 answer, by its status (and, for a 401, by its body's shape)."""
    status = response.status_code
    if status == 401 and isinstance(body, dict) and "errors" in body:
        if settings.token_header == "api_access_token":
            return Hint(
                HintCode.TOKEN_HEADER,
                "A proxy in front of Chatwoot may be dropping it (nginx drops header names with underscores unless "
                "'underscores_in_headers on;'): pass token_header='Api-Access-Token' to send it with dashes",
                {"token_header": "Api-Access-Token"},
            )
        return Hint(HintCode.TOKEN_HEADER, "Check what the proxies in front of Chatwoot pass on")
    if status == 401:
        return Hint(
            HintCode.TOKEN,
            f"Check the token, and that its user is an administrator of account {settings.account_id}",
        )
    if status == 404:
        return Hint(
            HintCode.ACCOUNT,
            f"Account {settings.account_id} does not exist at {settings.base_url}, or that is not the Chatwoot "
            "server's root (base_url is the address the dashboard opens at, like https://chat.example.com), or the "
            "server has no audit-log endpoint (it needs Chatwoot's Enterprise edition)",
        )
    if status == 422:
        return Hint(HintCode.FEATURE, "The audit log is not enabled for this account (Chatwoot's Enterprise edition)")
    if status == 429:
        return Hint(
            HintCode.RATE_LIMIT,
            "Send fewer requests at once (a lower concurrency), try again later, or give the retry policy a larger "
            "rate_limit_budget",
        )
    if 300 <= status < 400:
        location = response.headers.get("location")
        moved = _moved_base_url(location, response.request) if location else None
        if moved is not None:
            return Hint(HintCode.BASE_URL, f"Use base_url={moved!r}", {"base_url": moved})
        return Hint(HintCode.BASE_URL, "Set base_url to the server's root, where it answers without a redirect")
    return None


def _moved_base_url(location: str, request: httpx.Request) -> str | None:
    """The base URL a redirect points at: its target with the API's own path taken off, when it ends so."""
    try:
        target = request.url.join(location)
    except (httpx.InvalidURL, ValueError, TypeError):
        return None
    asked_path = request.url.path
    suffix = asked_path[asked_path.index("/api/") :] if "/api/" in asked_path else None
    if suffix is None or not target.path.endswith(suffix):
        return None
    return str(target.copy_with(path=target.path[: -len(suffix)] or "/", query=None, fragment=None)).rstrip("/")


def page_from_response(response: httpx.Response, settings: Settings, *, attempts: int = 1) -> AuditLogPage:
    """A 200 answer's page, or the error the answer stands for.

    Each error is raised outside the ``except`` that found the fault, so its ``__context__`` is empty:
    the json or validation error behind it quotes the body, token and all.
    """
    if response.status_code != 200:
        raise status_error(response, settings, attempts=attempts)
    try:
        body = _loads(response.content)
    except (ValueError, UnicodeDecodeError):
        body = _NOT_JSON
    if body is _NOT_JSON:
        raise _not_json(response, settings)
    try:
        return parse_page(body, server_time(response.headers.get("date")))
    except ValidationFailure as exc:
        failure = exc
    raise _not_a_page(response, settings, body, failure)


@functools.lru_cache(maxsize=4)
def server_time(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None when absent or not a date.

    Cached: the header changes once a second, and parsing it costs as much as a few entries do.
    """
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # An HTTP date is GMT by definition; one without a zone is read as such.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


_NOT_JSON: Final = object()
_NOT_THE_API: Final = Hint(
    HintCode.BASE_URL, "Check that base_url is the Chatwoot server itself, not a login page or a proxy's error page"
)


def _not_json(response: httpx.Response, settings: Settings) -> TransientBody:
    redact_request(response.request, settings.token_header)
    text = _text(response, settings)
    content_type = response.headers.get("content-type", "unknown")
    return TransientBody(
        f"the server answered 200 with a body that is not JSON (content-type {content_type}): {_short(text, 120)!r}",
        response=response,
        body=text,
        hint=_NOT_THE_API,
    )


def _not_a_page(
    response: httpx.Response, settings: Settings, body: object, failure: ValidationFailure
) -> _errors.APIResponseValidationError:
    redact_request(response.request, settings.token_header)
    raw = response.content
    echoed = scrub_bytes(raw, settings.token) != raw
    if echoed:
        text = _text(response, settings)
        try:
            body = _loads(text)
        except ValueError:
            body = text
    # A token sent back JSON-escaped shows only now, decoded.
    body, escaped = scrubbed_parsed(body, settings.token)
    if echoed or escaped:
        # Describe the body with the token blanked, so no part of it reaches the message.
        try:
            parse_page(body)
        except ValidationFailure as scrubbed:
            failure = scrubbed
    return _errors.APIResponseValidationError(
        scrub(f"the server's answer is not an audit-log page: {failure}", settings.token), response=response, body=body
    )


def asked(request: httpx.Request) -> str:
    """The method and URL of a request, for a message: no credentials (the token travels in a header), and no
    query, which holds only the page number and the defaults the generated client adds."""
    url = request.url.copy_with(query=None)
    if url.userinfo:
        url = url.copy_with(username=None, password=None)
    return f"{request.method} {url}"


def tries(attempts: int) -> str:
    """``1 attempt``, ``3 attempts``."""
    return f"{attempts} attempt{'' if attempts == 1 else 's'}"


def gave_up(error: _errors.ChatwootError, attempts: int) -> _errors.ChatwootError:
    """``error`` as the final one of a request: a connection error says how many attempts were made, and
    the internal mark of a retryable body gives way to the public class."""
    # The same error object can be handed on more than once (a concurrent walk re-raises it).
    if isinstance(error, _errors.APIConnectionError) and "(gave up after " not in _errors.problem(error):
        _errors.amend(error, f" (gave up after {tries(attempts)})")
    return _errors.final(error)


def connection_error(exc: httpx.HTTPError, request: httpx.Request | None, settings: Settings) -> _errors.ChatwootError:
    """Our error for an httpx failure; the token is blanked in the request it carries."""
    redact_request(request, settings.token_header)
    where = asked(request) if request is not None else "the request"
    detail = scrub(str(exc) or type(exc).__name__, settings.token)
    if isinstance(exc, httpx.TimeoutException):
        return _errors.APITimeoutError(
            f"{where} timed out ({type(exc).__name__}: {detail})", request=request, hint=_SLOW
        )
    # Transport failures and any other httpx error (a bad header value, a broken gzip) read the same.
    return _errors.APIConnectionError(
        f"{where} failed: {type(exc).__name__}: {detail}", request=request, hint=_NO_ANSWER
    )


_SLOW: Final = Hint(HintCode.TIMEOUT, "A slow server needs a larger timeout (or attempt_timeout), or more max_retries")
_NO_ANSWER: Final = Hint(HintCode.CONNECTION, "Check base_url and the network")


class AttemptLimits:
    """One attempt held to ``attempt_timeout`` from its start, and its answer to ``max_body_size`` bytes.

    The async client enforces the deadline with a cancel scope, exactly. The sync client cannot interrupt
    a read, so it checks the clock as the body arrives (:meth:`check_time`): an attempt ends at most one
    read timeout past its deadline, however slowly the body trickles. httpx hands over no bytes before the
    headers are complete, so there the sync client has only the read timeout.
    """

    __slots__ = ("_chunks", "_size", "deadline", "limit", "seconds", "settings")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.seconds = settings.attempt_timeout
        self.limit = settings.max_body_size
        self.deadline = time.monotonic() + self.seconds if self.seconds is not None else math.inf
        self._chunks: list[bytes] = []
        self._size = 0

    def check_time(self, request: httpx.Request) -> None:
        """Raise :class:`APITimeoutError` once the deadline has passed (the sync client's clock)."""
        if time.monotonic() > self.deadline:
            raise self.timed_out(request)

    def start(self, response: httpx.Response) -> None:
        """Refuse at once an answer whose declared length is over the limit."""
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            raise self.too_large(response)

    def add(self, chunk: bytes) -> bool:
        """Keep the next piece of the (decompressed) body; False, keeping nothing, once past the limit."""
        self._size += len(chunk)
        if self._size > self.limit:
            self._chunks.clear()
            return False
        self._chunks.append(chunk)
        return True

    def finish(self, response: httpx.Response) -> None:
        """Hand the body to ``response``, as its own ``read()`` would, for ``.content`` and ``.text``."""
        response._content = b"".join(self._chunks)
        self._chunks.clear()

    def timed_out(self, request: httpx.Request) -> _errors.APITimeoutError:
        """The error for an attempt that ran past its deadline; the token blanked in the request it carries."""
        redact_request(request, self.settings.token_header)
        where = f"{request.method} {request.url.copy_with(query=None)}"
        allowed = f"{self.seconds:g}s" if self.seconds is not None else "none"
        return _errors.APITimeoutError(
            f"{where} took longer than attempt_timeout={allowed} (the request and the whole answer must "
            "arrive within it)",
            request=request,
            hint=_SLOW,
        )

    def too_large(self, response: httpx.Response) -> _errors.ResponseTooLargeError:
        """The error for an answer whose body is over the limit."""
        redact_request(response.request, self.settings.token_header)
        return _errors.ResponseTooLargeError(
            f"the server's answer ({response.status_code} {response.reason_phrase}) is larger than "
            f"max_body_size={self.limit} bytes",
            response=response,
            limit=self.limit,
            hint=_TOO_LARGE,
        )


def read_body(response: httpx.Response, limits: AttemptLimits) -> None:
    """Read a streamed answer's body under ``limits`` (sync); the caller closes the response."""
    limits.start(response)
    request = response.request
    limits.check_time(request)
    for chunk in response.iter_bytes():
        if not limits.add(chunk):
            raise limits.too_large(response)
        limits.check_time(request)
    limits.finish(response)


async def aread_body(response: httpx.Response, limits: AttemptLimits) -> None:
    """Read a streamed answer's body under ``limits`` (async: the caller's cancel scope keeps the time)."""
    limits.start(response)
    spilled: int | None = None
    with anyio.CancelScope() as scope:
        async for chunk in response.aiter_bytes():
            if spilled is not None:
                # Bytes already buffered before the next read takes the cancellation. Should no read come
                # (a stream that never waits), stop anyway; trio may then warn of a generator left behind.
                spilled += len(chunk)
                if spilled > _MAX_SPILL:
                    break
            elif not limits.add(chunk):
                # httpx reads through a chain of async generators: leaving the loop would strand the inner
                # ones (trio warns of each), while a cancellation raised in the next read unwinds them all.
                spilled = 0
                scope.cancel()
    if spilled is not None:
        raise limits.too_large(response)
    limits.finish(response)


_TOO_LARGE: Final = Hint(
    HintCode.BODY_SIZE,
    "A page of audit logs is tens of kilobytes: check that base_url is the Chatwoot server, or raise max_body_size",
)

# More than a network read buffers (h11 reads 64 KiB at a time).
_MAX_SPILL: Final = 1024 * 1024

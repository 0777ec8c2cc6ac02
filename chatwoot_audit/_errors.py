"""The errors chatwoot-audit raises. Nothing from httpx, json or the generated client leaks out.

Exception tree::

    ChatwootError
    ├── InvalidArgumentError (also a ValueError: raised before any request)
    │   └── ConfigurationError (missing or unsafe base_url, token or account id)
    ├── APIConnectionError (the request did not get an answer)
    │   └── APITimeoutError (no answer within timeout, or the whole answer not within attempt_timeout)
    ├── APIResponseValidationError (an answer that is not what the API promises: HTML, bad JSON, wrong types)
    │   └── ResponseTooLargeError (a body over max_body_size)
    ├── APIStatusError (an HTTP status other than 200; .status_code, .body, .request_id, .response)
    │   ├── AuthenticationError (401)
    │   ├── PermissionDeniedError (403)
    │   ├── NotFoundError (404)
    │   ├── FeatureNotEnabledError (422)
    │   ├── RateLimitError (429)
    │   └── InternalServerError (5xx)
    └── IncompleteWalkError (a full walk could not account for every entry the server reported)

Match on the class (that is, on the status), not on the message: Chatwoot localizes its messages. What
to do about an error is in ``error.hint`` (a :class:`Hint`, or None): a stable :class:`HintCode` and the
settings to use, for a program (the command line among them) to say in its own terms.
"""

# No ``from __future__ import annotations``: the annotations of Hint stay objects, so that
# typing.get_type_hints() resolves them although the classes report chatwoot_audit as their module.
import enum
from typing import Any

import attrs
import httpx

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ChatwootError",
    "ConfigurationError",
    "FeatureNotEnabledError",
    "Hint",
    "HintCode",
    "IncompleteWalkError",
    "InternalServerError",
    "InvalidArgumentError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseTooLargeError",
    "status_error_class",
]


class HintCode(enum.StrEnum):
    """What a :class:`Hint` advises looking at. The values are stable: match on them, never on the text."""

    BASE_URL = "base_url"
    """``base_url`` is missing, malformed or not the server's root (the answer was a login page, say)."""
    CREDENTIALS = "credentials"
    """``base_url`` holds a user name or password; the token goes in ``api_access_token``."""
    INSECURE_HTTP = "insecure_http"
    """The token would travel in clear: plain http to another host, or through a proxy."""
    TOKEN = "token"
    """The token is missing or malformed, or the server refused it (401)."""
    TOKEN_HEADER = "token_header"
    """The server saw no token although one was sent: a proxy dropped the header."""
    ACCOUNT = "account"
    """``account_id`` is missing or malformed, or the server has no such account (404)."""
    FEATURE = "feature"
    """The server says the audit log is not enabled for the account (422)."""
    RATE_LIMIT = "rate_limit"
    """Still throttled once the retry policy's ``rate_limit_budget`` was spent: fewer requests, or later."""
    CONNECTION = "connection"
    """No answer at all: ``base_url`` or the network."""
    TIMEOUT = "timeout"
    """The server was too slow for ``timeout`` or ``attempt_timeout`` (or one of them is malformed)."""
    RETRIES = "retries"
    """``max_retries`` is not a count of retries."""
    BODY_SIZE = "body_size"
    """An answer over ``max_body_size`` (or a malformed ``max_body_size``)."""


@attrs.frozen
class Hint:
    """What to do about an error, for programs: ``error.hint``, None when the SDK has no advice.

    ``code`` says what to look at, and stays the same from one version to the next. ``advice`` is the
    same advice in the SDK's words (keyword arguments), and ends ``str(error)``. ``fix`` maps keyword
    arguments of the client to the value to use instead, when the SDK knows it: a pasted dashboard URL
    gives ``{"base_url": "https://chat.example.com", "account_id": 3}``. Treat it as read-only.

    Args:
        code: a :class:`HintCode` value.
        advice: the advice as a sentence, or ``""``.
        fix: keyword argument -> the value to use.
    """

    code: HintCode
    advice: str = ""
    fix: dict[str, Any] = attrs.field(factory=dict, hash=False)


def _advised(problem: str, hint: Hint | None) -> str:
    """The whole message: what went wrong, then the advice as a sentence of its own."""
    if hint is None or not hint.advice:
        return problem
    problem = problem.rstrip()
    # A server's own text may already end its sentence ("... before continuing.").
    return f"{problem} {hint.advice}" if problem.endswith((".", "!", "?")) else f"{problem}. {hint.advice}"


def _rebuild(cls: type["ChatwootError"], args: tuple[object, ...], state: dict[str, object]) -> "ChatwootError":
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class ChatwootError(Exception):
    """The base of every error chatwoot-audit raises.

    ``message`` is ``str(error)``: what went wrong, then the hint's advice. ``hint`` is a :class:`Hint`
    when the SDK knows what to change, else None.
    """

    def __init__(self, message: str, *, hint: Hint | None = None) -> None:
        whole = _advised(message, hint)
        super().__init__(whole)
        self.message = whole
        self.hint = hint
        self._problem = message

    def __reduce__(self) -> tuple[object, ...]:
        # Exception's own reduce calls cls(*args), which the keyword-only arguments below refuse: rebuild
        # from the state instead, so that every error pickles (multiprocessing, pytest-xdist) and copies.
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def problem(error: ChatwootError) -> str:
    """What went wrong, without the hint's advice: for a program that gives advice in its own terms."""
    return str(error.__dict__.get("_problem", error))


def amend(error: ChatwootError, more: str) -> None:
    """Add ``more`` to what went wrong (before the advice), in ``message`` and ``str(error)`` alike."""
    error._problem = problem(error) + more
    error.message = _advised(error._problem, error.hint)
    error.args = (error.message,)


class InvalidArgumentError(ChatwootError, ValueError):
    """An argument is out of range or of the wrong kind; raised before any request is sent."""


class ConfigurationError(InvalidArgumentError):
    """The client cannot be configured: a missing setting, a malformed or an unsafe base URL."""


class APIConnectionError(ChatwootError):
    """The request got no usable answer: the connection failed, dropped, or the body was cut short."""

    def __init__(self, message: str, *, request: httpx.Request | None = None, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.request = request


class APITimeoutError(APIConnectionError):
    """The server did not answer within ``timeout``, or one attempt took longer than ``attempt_timeout``."""


class APIResponseValidationError(ChatwootError):
    """The server answered 200 with a body that is not what the API promises."""

    def __init__(
        self, message: str, *, response: httpx.Response | None = None, body: object = None, hint: Hint | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.response = response
        self.body = body
        self.status_code = response.status_code if response is not None else None


class ResponseTooLargeError(APIResponseValidationError):
    """An answer's body was larger than ``max_body_size`` bytes; it was not read to the end.

    A real page is tens of kilobytes, so this is a proxy or server gone wrong (an endless stream, say), and
    retried like other transient failures. ``limit`` is the cap in bytes; ``body`` is None.
    """

    def __init__(
        self, message: str, *, response: httpx.Response | None = None, limit: int, hint: Hint | None = None
    ) -> None:
        super().__init__(message, response=response, body=None, hint=hint)
        self.limit = limit


class APIStatusError(ChatwootError):
    """The server answered with a status other than 200.

    ``body`` is the parsed JSON when the answer was JSON, else its text. ``message`` gives the status and
    the server's ``error`` or ``errors`` text when it sent one. ``request_id`` is the ``X-Request-Id``
    header, if any.
    """

    def __init__(self, message: str, *, response: httpx.Response, body: object, hint: Hint | None = None) -> None:
        super().__init__(message, hint=hint)
        self.response = response
        self.body = body
        self.status_code: int = response.status_code
        self.request_id: str | None = response.headers.get("x-request-id")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, message={self.message!r})"


class AuthenticationError(APIStatusError):
    """401: Chatwoot's answer to every authentication and authorisation failure (it never sends 403)."""


class PermissionDeniedError(APIStatusError):
    """403: listed by the spec; real Chatwoot servers answer 401 instead, proxies may send it."""


class NotFoundError(APIStatusError):
    """404: the account does not exist, or the server has no audit-log endpoint (a Community build)."""


class FeatureNotEnabledError(APIStatusError):
    """422: listed by the spec for a disabled feature; real servers answer an empty 200 page instead."""


class RateLimitError(APIStatusError):
    """429: throttled, and retrying did not get through (or the server asked for too long a wait)."""


class InternalServerError(APIStatusError):
    """5xx: the server or a proxy in front of it failed."""


class IncompleteWalkError(ChatwootError):
    """A full walk yielded fewer distinct entries than the server reported when the walk started."""

    def __init__(self, message: str, *, expected: int, found: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found

    @property
    def missing(self) -> int:
        """How many entries the walk could not find."""
        return self.expected - self.found


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: FeatureNotEnabledError,
    429: RateLimitError,
}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The one place a status becomes an error class; a status nobody lists is a plain APIStatusError."""
    if 500 <= status_code < 600:
        return InternalServerError
    return _STATUS_CLASSES.get(status_code, APIStatusError)


class TransientBody(APIResponseValidationError):
    """A 200 whose body is not JSON at all (a proxy's HTML page, a cut-off body): worth one more try.

    Internal: it marks an attempt to retry. A request that gives up raises it as a plain
    :class:`APIResponseValidationError` (see :func:`final`), which :func:`passes` still recognises.
    """


def final(error: ChatwootError) -> ChatwootError:
    """``error`` as a caller may see it: a :class:`TransientBody` becomes a plain APIResponseValidationError."""
    if type(error) is not TransientBody:
        return error
    public = APIResponseValidationError(problem(error), response=error.response, body=error.body, hint=error.hint)
    public._transient = True  # type: ignore[attr-defined]
    return public


# What a follower waits out until its next poll, rather than stopping: outages, and a first sync that
# could not account for every entry (the next poll reads again). Shared by follow() and the CLI.
PASSING_ERRORS: tuple[type[ChatwootError], ...] = (
    APIConnectionError,
    InternalServerError,
    RateLimitError,
    TransientBody,
    ResponseTooLargeError,
    IncompleteWalkError,
)


def passes(error: BaseException) -> bool:
    """Whether a follower waits ``error`` out until its next poll (see PASSING_ERRORS)."""
    return isinstance(error, PASSING_ERRORS) or getattr(error, "_transient", False) is True


# Tracebacks, reprs and pickles name the public path, not the module that happens to define the class.
for _name in __all__:
    _public = globals()[_name]
    if isinstance(_public, type):
        _public.__module__ = "chatwoot_audit"
del _name, _public

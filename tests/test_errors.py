"""The exception tree, the one status -> class table, and the error classes' own behaviour."""

from __future__ import annotations

import httpx
import pytest

import chatwoot_audit
from chatwoot_audit import _errors
from chatwoot_audit._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    ChatwootError,
    ConfigurationError,
    FeatureNotEnabledError,
    IncompleteWalkError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseTooLargeError,
    status_error_class,
)

# (class, its direct parent in the tree drawn in design.md and in the module docstring)
TREE: list[tuple[type[Exception], type[Exception]]] = [
    (ChatwootError, Exception),
    (InvalidArgumentError, ChatwootError),
    (ConfigurationError, InvalidArgumentError),
    (APIConnectionError, ChatwootError),
    (APITimeoutError, APIConnectionError),
    (APIResponseValidationError, ChatwootError),
    (ResponseTooLargeError, APIResponseValidationError),
    (APIStatusError, ChatwootError),
    (AuthenticationError, APIStatusError),
    (PermissionDeniedError, APIStatusError),
    (NotFoundError, APIStatusError),
    (FeatureNotEnabledError, APIStatusError),
    (RateLimitError, APIStatusError),
    (InternalServerError, APIStatusError),
    (IncompleteWalkError, ChatwootError),
]

ALL_CLASSES = [cls for cls, _ in TREE]


def _response(status: int, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "https://chat.example.com/x"))


@pytest.mark.parametrize(("cls", "parent"), TREE, ids=lambda c: c.__name__)
def test_tree_parent(cls: type[Exception], parent: type[Exception]) -> None:
    """Each class sits directly under the parent the design draws."""
    assert parent in cls.__bases__


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_every_class_is_a_chatwoot_error(cls: type[Exception]) -> None:
    """One base catches everything the SDK raises."""
    assert issubclass(cls, ChatwootError)


def test_invalid_argument_is_value_error() -> None:
    """Bad arguments are ValueErrors, ConfigurationError included."""
    assert issubclass(InvalidArgumentError, ValueError)
    assert issubclass(ConfigurationError, ValueError)


@pytest.mark.parametrize(
    "cls",
    [APIConnectionError, APIResponseValidationError, APIStatusError, IncompleteWalkError],
    ids=lambda c: c.__name__,
)
def test_runtime_errors_are_not_value_errors(cls: type[Exception]) -> None:
    """Only argument errors are ValueErrors: a server failure is not the caller's bad argument."""
    assert not issubclass(cls, ValueError)


def test_status_classes_are_siblings() -> None:
    """No status class is a subclass of another (catching 404 never catches 401)."""
    status_classes = [
        AuthenticationError,
        PermissionDeniedError,
        NotFoundError,
        FeatureNotEnabledError,
        RateLimitError,
        InternalServerError,
    ]
    for a in status_classes:
        for b in status_classes:
            if a is not b:
                assert not issubclass(a, b), (a, b)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, FeatureNotEnabledError),
        (429, RateLimitError),
    ],
)
def test_status_table(status: int, cls: type[APIStatusError]) -> None:
    """The listed statuses map to their own classes."""
    assert status_error_class(status) is cls


@pytest.mark.parametrize("status", range(500, 600))
def test_status_table_5xx(status: int) -> None:
    """Every 5xx, listed or not (520, 522...), is an InternalServerError."""
    assert status_error_class(status) is InternalServerError


@pytest.mark.parametrize("status", [100, 200, 204, 301, 302, 304, 400, 402, 405, 408, 409, 410, 418, 451, 499])
def test_status_table_others(status: int) -> None:
    """Any other status is a plain APIStatusError, not a subclass."""
    assert status_error_class(status) is APIStatusError


def test_api_status_error_attributes() -> None:
    """status_code, body, request_id and response come from the answer."""
    response = _response(404, {"X-Request-Id": "req-42"})
    error = NotFoundError("404 Not Found", response=response, body={"error": "Resource could not be found"})
    assert error.status_code == 404
    assert error.body == {"error": "Resource could not be found"}
    assert error.request_id == "req-42"
    assert error.response is response
    assert error.message == "404 Not Found"
    assert str(error) == "404 Not Found"


def test_api_status_error_without_request_id() -> None:
    """No X-Request-Id header gives request_id None."""
    error = APIStatusError("x", response=_response(418), body="teapot")
    assert error.request_id is None


def test_api_status_error_repr() -> None:
    """The repr names the class, status and message (and nothing from the request)."""
    error = RateLimitError("429 Too Many Requests", response=_response(429), body="Retry later\n")
    assert repr(error) == "RateLimitError(status_code=429, message='429 Too Many Requests')"


def test_validation_error_attributes() -> None:
    """APIResponseValidationError keeps the response, body and status."""
    response = _response(200)
    error = APIResponseValidationError("bad", response=response, body=[1])
    assert (error.response, error.body, error.status_code, error.message) == (response, [1], 200, "bad")
    bare = APIResponseValidationError("bad")
    assert bare.status_code is None
    assert bare.response is None


def test_connection_error_attributes() -> None:
    """APIConnectionError keeps the message and the request."""
    request = httpx.Request("GET", "https://chat.example.com/")
    error = APITimeoutError("timed out", request=request)
    assert error.request is request
    assert error.message == "timed out"
    assert APIConnectionError("x").request is None


@pytest.mark.parametrize(("expected", "found", "missing"), [(10, 7, 3), (5, 5, 0), (1, 0, 1)])
def test_incomplete_walk_missing(expected: int, found: int, missing: int) -> None:
    """IncompleteWalkError.missing is expected minus found."""
    error = IncompleteWalkError("incomplete", expected=expected, found=found)
    assert error.missing == missing
    assert (error.expected, error.found, error.message) == (expected, found, "incomplete")


def test_all_public_classes_listed() -> None:
    """Every error class in the tree is in the module's __all__ and exported by the package."""
    for cls in ALL_CLASSES:
        assert cls.__name__ in _errors.__all__
        assert getattr(chatwoot_audit, cls.__name__) is cls
        assert cls.__name__ in chatwoot_audit.__all__


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_docstrings(cls: type[Exception]) -> None:
    """Every public error class has its own docstring."""
    doc = cls.__dict__.get("__doc__")
    assert isinstance(doc, str)
    assert doc.strip()


def test_tree_drawn_in_module_docstring() -> None:
    """The module docstring draws every class of the tree."""
    doc = _errors.__doc__
    assert doc is not None
    for cls in ALL_CLASSES:
        assert cls.__name__ in doc

"""Public classes report ``chatwoot_audit`` as their module, still pickle and copy; no internal class escapes."""

from __future__ import annotations

import copy
import inspect
import logging
import pickle
import traceback
from datetime import UTC, datetime
from typing import Any

import attrs
import httpx
import pytest
from _support import sync_client

import chatwoot_audit
from chatwoot_audit import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AsyncChatwootAudit,
    AuditAction,
    AuditLog,
    AuditLogPage,
    ChatwootAudit,
    Checkpoint,
    ConfigurationError,
    IncompleteWalkError,
    NotFoundError,
    ResponseTooLargeError,
    RetryPolicy,
)
from chatwoot_audit.testing import Emulator


def unpickled(value: Any) -> Any:
    """``value`` through pickle and back (our own bytes, so nothing untrusted is loaded)."""
    return pickle.loads(pickle.dumps(value))  # noqa: S301


PUBLIC_CLASSES = [value for name in chatwoot_audit.__all__ if isinstance(value := getattr(chatwoot_audit, name), type)]
RESPONSE = httpx.Response(
    404,
    json={"error": "Resource could not be found"},
    headers={"x-request-id": "r-1"},
    request=httpx.Request("GET", "https://chat.example.com/api/v1/accounts/1/audit_logs"),
)
ERRORS: list[Exception] = [
    ConfigurationError("base_url is required"),
    APIConnectionError("GET https://x failed", request=httpx.Request("GET", "https://x")),
    APIResponseValidationError("not a page", response=RESPONSE, body={"a": 1}),
    ResponseTooLargeError("too large", response=RESPONSE, limit=10),
    NotFoundError("404 Not Found", response=RESPONSE, body={"error": "Resource could not be found"}),
    IncompleteWalkError("missing", expected=10, found=7),
]


@pytest.mark.parametrize("cls", PUBLIC_CLASSES, ids=lambda cls: cls.__name__)
def test_every_public_class_reports_the_package(cls: type) -> None:
    """Errors, clients, models, Checkpoint and RetryPolicy all say chatwoot_audit, the path users import."""
    assert cls.__module__ == "chatwoot_audit"
    assert getattr(chatwoot_audit, cls.__qualname__) is cls


def test_a_traceback_shows_the_public_path() -> None:
    """An error's traceback line names chatwoot_audit.ConfigurationError, not the private module."""
    with pytest.raises(ConfigurationError) as caught:
        ChatwootAudit(base_url="https://chat.example.com/api/v1", api_access_token="t", account_id=1)
    line = traceback.format_exception_only(caught.type, caught.value)[-1]
    assert line.startswith("chatwoot_audit.ConfigurationError: ")


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_errors_pickle_and_copy_with_their_attributes(error: Exception) -> None:
    """Every error survives pickle, copy and deepcopy, keyword-only arguments and all."""
    for again in (unpickled(error), copy.copy(error), copy.deepcopy(error)):
        assert type(again) is type(error)
        assert str(again) == str(error)
        kept = {k: v for k, v in vars(again).items() if not isinstance(v, httpx.Response | httpx.Request)}
        assert kept == {k: v for k, v in vars(error).items() if k in kept}
    if isinstance(error, APIStatusError):
        again = unpickled(error)
        assert isinstance(again, APIStatusError)
        assert (again.status_code, again.request_id, again.response.status_code) == (404, "r-1", 404)
    if isinstance(error, IncompleteWalkError):
        assert unpickled(error).missing == 3


def test_models_and_settings_pickle_and_attrs_still_work() -> None:
    """attrs helpers and pickling work on the models, the checkpoint and the retry policy."""
    log = AuditLog(id=1, action=AuditAction.SIGN_IN, created_at=datetime(2026, 6, 1, tzinfo=UTC))
    page = AuditLogPage(items=(log,), current_page=1, per_page=25, total_entries=1)
    policy = RetryPolicy(base_delay=2.0)
    checkpoint = Checkpoint(high_water=1_781_602_887)
    for value in (log, page, policy, checkpoint, AuditAction.UPDATE):
        assert unpickled(value) == value
        assert copy.deepcopy(value) == value
    assert attrs.evolve(log, id=2).id == 2
    assert attrs.asdict(policy)["base_delay"] == 2.0
    assert [f.name for f in attrs.fields(AuditLogPage)][:2] == ["items", "current_page"]


def test_a_non_json_body_reaches_the_caller_as_the_documented_class() -> None:
    """A 200 HTML page that outlasts the retries is a plain APIResponseValidationError, never TransientBody."""
    emu = Emulator(seed=1, entries=3, faults=dict.fromkeys(range(1, 4), "html200"))
    with sync_client(emu, "memory", max_retries=2) as client, pytest.raises(APIResponseValidationError) as caught:
        client.page(1)
    assert type(caught.value) is APIResponseValidationError
    assert "not JSON" in str(caught.value)
    assert type(unpickled(caught.value)) is APIResponseValidationError


def test_follow_still_waits_out_a_non_json_body(caplog: pytest.LogCaptureFixture) -> None:
    """follow() treats an HTML page as an outage, as before: logged, then the next poll delivers."""
    emu = Emulator(seed=1, entries=3, faults={1: "html200"})
    with caplog.at_level(logging.WARNING, logger="chatwoot_audit"), sync_client(emu, "memory", max_retries=0) as c:
        followed = c.follow(Checkpoint(), interval=0.001)
        got = [next(followed).id for _ in range(3)]
        followed.close()
    assert sorted(got) == sorted(entry["id"] for entry in emu.entries)
    assert any("polling audit logs failed" in r.getMessage() for r in caplog.records)


ARGS = ["base_url", "api_access_token", "account_id", "timeout", "attempt_timeout", "max_body_size"]
ARGS += ["max_retries", "retry_policy", "token_header", "allow_insecure_http", "http_client"]


@pytest.mark.parametrize("cls", [ChatwootAudit, AsyncChatwootAudit])
def test_the_class_docstring_documents_every_constructor_argument(cls: type) -> None:
    """help(ChatwootAudit) shows an Args: entry for each constructor parameter, in order."""
    params = list(inspect.signature(cls).parameters)
    assert params == ARGS
    doc = inspect.getdoc(cls) or ""
    section = doc.split("\nArgs:\n", 1)[1]
    listed = [line.split(":", 1)[0].strip() for line in section.splitlines() if line.startswith("    ") and ":" in line]
    assert [name for name in listed if name in ARGS] == ARGS


CLIENT_METHODS = ["page", "pages", "logs", "logs_after", "follow", "with_options"]
CHECKPOINT_METHODS = ["__init__", "starting_at", "advance", "from_dict", "from_json", "save", "load"]
METHODS: list[tuple[type, str]] = [(c, name) for c in (ChatwootAudit, AsyncChatwootAudit) for name in CLIENT_METHODS]
METHODS += [(Checkpoint, name) for name in CHECKPOINT_METHODS] + [(AuditLog, "from_dict")]


@pytest.mark.parametrize(("cls", "method"), METHODS, ids=lambda v: getattr(v, "__name__", v))
def test_public_methods_name_every_parameter(cls: type, method: str) -> None:
    """Each public method's docstring (a constructor's: its class's) mentions each of its parameters."""
    function: Any = getattr(cls, method)
    doc = (inspect.getdoc(cls) or "") if method == "__init__" else (inspect.getdoc(function) or "")
    missing = [p for p in inspect.signature(function).parameters if p not in ("self", "cls") and p not in doc]
    assert missing == []


@pytest.mark.parametrize("cls", [AuditLog, AuditLogPage], ids=lambda cls: cls.__name__)
def test_model_fields_are_each_documented(cls: type) -> None:
    """Each public field of a model has its own entry in the class docstring's Args: list."""
    doc = (inspect.getdoc(cls) or "").split("\nArgs:\n", 1)[1]
    listed = {line.split(":", 1)[0].strip() for line in doc.splitlines() if line.startswith("    ") and ":" in line}
    assert {f.name for f in attrs.fields(cls) if not f.name.startswith("_")} <= listed

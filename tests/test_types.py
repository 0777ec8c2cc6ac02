"""Types that match the real server: fields it always sends hold no None; one way to set retries."""

from __future__ import annotations

import copy
import types
import typing
from typing import Any

import attrs
import pytest
from _rows import ACCOUNT_USER_UPDATE, SIGN_IN
from hypothesis import given, settings
from test_convert import valid_rows

from chatwoot_audit import (
    AuditLog,
    AuditLogPage,
    ChatwootAudit,
    ConfigurationError,
    Hint,
    InternalServerError,
    RetryPolicy,
)
from chatwoot_audit._models import FIELDS
from chatwoot_audit.testing import Emulator

# The keys chatwoot-server.md lists as always present and never null.
ALWAYS = ("auditable_id", "auditable_type", "associated_id", "associated_type", "version", "request_uuid")
# The keys the server sends as null when there is nothing to say.
NULLABLE = ("auditable", "user_id", "user_type", "username", "audited_changes", "comment", "remote_address")
HINTS = typing.get_type_hints(AuditLog)


def holds(value: object, hint: Any) -> bool:
    """Whether ``value`` is of the annotation ``hint`` (the shapes AuditLog uses)."""
    if hint is Any:
        return True
    if isinstance(hint, types.UnionType):
        return any(holds(value, arm) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    origin = typing.get_origin(hint) or hint
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, origin)


@pytest.mark.parametrize("cls", [AuditLog, AuditLogPage, Hint, RetryPolicy], ids=lambda cls: cls.__name__)
def test_type_hints_resolve_under_the_public_module(cls: type) -> None:
    """typing.get_type_hints works on the public classes, although they report chatwoot_audit as their module."""
    assert cls.__module__ == "chatwoot_audit"
    assert set(typing.get_type_hints(cls)) >= {f.name for f in attrs.fields(cls) if not f.name.startswith("_")}


def test_fields_the_server_always_sends_hold_no_none() -> None:
    """auditable_id, version, request_uuid, associated_* ... are int or str; only the nullable ones allow None."""
    for name in ALWAYS:
        assert HINTS[name] in (int, str), name
    for name in NULLABLE:
        assert type(None) in typing.get_args(HINTS[name]), name
    assert set(ALWAYS) | set(NULLABLE) | {"id", "action", "created_at"} == set(FIELDS)


def test_a_real_entry_reads_with_its_types() -> None:
    """An entry as the server renders it: every always-present field is the value it sent."""
    log = AuditLog.from_dict(ACCOUNT_USER_UPDATE)
    assert (log.auditable_id, log.auditable_type) == (ACCOUNT_USER_UPDATE["auditable_id"], "AccountUser")
    assert (log.associated_id, log.associated_type) == (ACCOUNT_USER_UPDATE["associated_id"], "Account")
    assert log.version == ACCOUNT_USER_UPDATE["version"]
    assert log.request_uuid == ACCOUNT_USER_UPDATE["request_uuid"]


@pytest.mark.parametrize("name", ALWAYS)
def test_a_server_that_leaves_one_out_still_parses(name: str) -> None:
    """A missing always-present key reads as 0 or "" and stays missing in to_dict()."""
    row = {key: value for key, value in SIGN_IN.items() if key != name}
    log = AuditLog.from_dict(row)
    assert getattr(log, name) == HINTS[name]()
    assert log.to_dict() == row
    assert name not in log.to_dict()


@pytest.mark.parametrize("name", ALWAYS)
def test_a_null_where_the_server_never_sends_one_reads_as_empty(name: str) -> None:
    """A null ("in theory" only) reads as 0 or "" too, and to_dict() gives the null back."""
    row = {**SIGN_IN, name: None}
    log = AuditLog.from_dict(row)
    assert getattr(log, name) == HINTS[name]()
    assert log.to_dict() == row
    assert AuditLog.from_dict(log.to_dict()) == log


def test_an_entry_built_by_hand_defaults_to_empty_values() -> None:
    """Only id, action and created_at are needed; the others take their documented empty value."""
    log = AuditLog.from_dict({"id": 1, "action": "sign_in", "created_at": 1_781_602_887})
    assert (log.auditable_id, log.auditable_type, log.version, log.request_uuid) == (0, "", 0, "")
    assert log.user_id is None


@given(valid_rows())
@settings(max_examples=300, deadline=None)
def test_every_parsed_value_has_its_declared_type(row: dict[str, Any]) -> None:
    """Whatever keys are left out or null, each attribute holds its annotation's type, and the JSON round-trips."""
    original = copy.deepcopy(row)
    log = AuditLog.from_dict(row)
    for name in FIELDS:
        assert holds(getattr(log, name), HINTS[name]), (name, getattr(log, name))
    assert log.to_dict() == original


# -- one way to set retries ----------------------------------------------------------------------


def test_retries_are_counted_by_the_client_alone() -> None:
    """max_retries is the client's; the policy has no count and says so when asked for one."""
    assert "max_retries" not in attrs.fields_dict(RetryPolicy)
    with pytest.raises(TypeError, match=r"pass max_retries= to the client"):
        RetryPolicy(max_retries=8)  # type: ignore[call-arg]
    policy = RetryPolicy(rate_limit_budget=300.0)
    with ChatwootAudit("https://chat.example.com", "t", 1, max_retries=8, retry_policy=policy) as client:
        assert (client.max_retries, client.retry_policy) == (8, policy)
        assert client.with_options(max_retries=0).max_retries == 0
        assert client.with_options(timeout=5.0).max_retries == 8
    with ChatwootAudit("https://chat.example.com", "t", 1) as client:
        assert (client.max_retries, client.retry_policy) == (4, RetryPolicy())


def test_max_retries_bounds_the_attempts() -> None:
    """max_retries=N makes N + 1 attempts at a failing page, whatever the policy."""
    emu = Emulator(seed=3, entries=5, faults=dict.fromkeys(range(1, 10), "500"))
    with emu.client(max_retries=2) as client, pytest.raises(InternalServerError):
        client.page(1)
    assert len(emu.requests) == 3


@pytest.mark.parametrize("value", [-1, 1.5, True, "4"])
def test_a_bad_max_retries_is_a_configuration_error(value: object) -> None:
    """A count that is not an int >= 0 is refused before any request, with its hint."""
    with pytest.raises(ConfigurationError, match="max_retries") as caught:
        ChatwootAudit("https://chat.example.com", "t", 1, max_retries=value)  # type: ignore[arg-type]
    assert caught.value.hint is not None
    assert caught.value.hint.code == "retries"

"""Server JSON (or a generated model) to the public models, checking what the API promises on the way."""

from __future__ import annotations

import math
import operator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dateutil.parser import isoparse

from ._models import FIELDS, AuditLog, AuditLogPage

if TYPE_CHECKING:
    from chatwoot_audit_generated.models import AuditLog as GeneratedAuditLog

__all__ = ["ValidationFailure", "from_generated", "parse_created_at", "parse_entry", "parse_page"]


class ValidationFailure(Exception):
    """A body that does not match the API; the client turns it into APIResponseValidationError."""


_INT = (int,)
_STR = (str,)
_DICT = (dict,)
# Which JSON types each optional field may hold besides null.
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "auditable_id": _INT,
    "auditable_type": _STR,
    "auditable": _DICT,
    "associated_id": _INT,
    "associated_type": _STR,
    "user_id": _INT,
    "user_type": _STR,
    "username": _STR,
    "audited_changes": _DICT,
    "version": _INT,
    "comment": _STR,
    "request_uuid": _STR,
    "remote_address": _STR,
}
_KNOWN = frozenset(FIELDS)
_OPTIONAL_ITEMS = tuple(_OPTIONAL.items())
_OPTIONAL_NAMES = tuple(_OPTIONAL)
_GET_OPTIONAL = operator.itemgetter(*_OPTIONAL_NAMES)
_ALLOWED = tuple(frozenset({types[0], type(None)}) for types in _OPTIONAL.values())
_ALL_KEYS = len(_KNOWN)
_MISSING = object()
_NO_EXTRA: dict[str, Any] = {}
_NONE_ABSENT: frozenset[str] = frozenset()


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_created_at(value: object) -> datetime:
    """Unix seconds (int or float), or an ISO-8601 string as servers before mid-2023 sent, to aware UTC.

    An ISO string without an offset is read as UTC, the zone Chatwoot stores.
    """
    if isinstance(value, bool):
        raise ValidationFailure(f"created_at is {_describe(value)}, not a time")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationFailure(f"created_at is {_describe(value)}, not a time")
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValidationFailure(f"created_at {_describe(value)} is out of range") from exc
    if isinstance(value, str):
        try:
            parsed = isoparse(value.strip())
        except (ValueError, OverflowError) as exc:
            raise ValidationFailure(f"created_at {_describe(value)} is not an ISO-8601 time") from exc
        if parsed.tzinfo is None:
            return parsed.replace(tzinfo=UTC)
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise ValidationFailure(f"created_at {_describe(value)} is out of range") from exc
    raise ValidationFailure(f"created_at is {_describe(value)}, not Unix seconds or an ISO-8601 string")


def parse_entry(raw: object, position: int) -> AuditLog:
    """One entry of ``audit_logs``; ``position`` names it in errors when its id is unusable."""
    if not isinstance(raw, dict):
        raise ValidationFailure(f"audit_logs[{position}] is {_describe(raw)}, not an object")
    entry_id = raw.get("id")
    if isinstance(entry_id, bool) or not isinstance(entry_id, int):
        raise ValidationFailure(f"audit_logs[{position}] has id {_describe(entry_id)}, not an integer")
    action = raw.get("action")
    if not isinstance(action, str):
        raise ValidationFailure(f"entry {entry_id}: action is {_describe(action)}, not a string")
    if "created_at" not in raw:
        raise ValidationFailure(f"entry {entry_id}: created_at is missing")
    raw_created_at = raw["created_at"]
    try:
        created_at = parse_created_at(raw_created_at)
    except ValidationFailure as exc:
        raise ValidationFailure(f"entry {entry_id}: {exc}") from None
    # The per-entry hot path of every walk. A real server sends every key with exactly these types: check
    # all of them in one C-level pass, and leave missing keys and odd values to the general loop below.
    try:
        found = _GET_OPTIONAL(raw)
    except KeyError:
        found = None
    if found is not None and all(map(frozenset.__contains__, _ALLOWED, map(type, found))):
        (
            auditable_id,
            auditable_type,
            auditable,
            associated_id,
            associated_type,
            user_id,
            user_type,
            username,
            audited_changes,
            version,
            comment,
            request_uuid,
            remote_address,
        ) = found
        more = len(raw) > _ALL_KEYS
        return AuditLog(
            id=entry_id,
            action=action,
            created_at=created_at,
            auditable_id=auditable_id,
            auditable_type=auditable_type,
            auditable=auditable,
            associated_id=associated_id,
            associated_type=associated_type,
            user_id=user_id,
            user_type=user_type,
            username=username,
            audited_changes=audited_changes,
            version=version,
            comment=comment,
            request_uuid=request_uuid,
            remote_address=remote_address,
            extra={k: v for k, v in raw.items() if k not in _KNOWN} if more else {},
            _raw_created_at=raw_created_at,
            _order=tuple(raw) if more else None,
            _timestamp=raw_created_at if type(raw_created_at) is int else None,
        )
    values: dict[str, Any] = {}
    absent: list[str] = []
    for name, types in _OPTIONAL_ITEMS:
        value = raw.get(name, _MISSING)
        if value is None or type(value) is types[0]:
            values[name] = value
        elif value is _MISSING:
            absent.append(name)
        elif isinstance(value, types) and not isinstance(value, bool):
            values[name] = value
        else:
            raise ValidationFailure(f"entry {entry_id}: {name} is {_describe(value)}, not {types[0].__name__} or null")
    extra = {k: v for k, v in raw.items() if k not in _KNOWN} if len(raw) > len(values) + 3 else _NO_EXTRA
    return AuditLog(
        _order=tuple(raw) if extra else None,
        id=entry_id,
        action=action,
        created_at=created_at,
        extra=dict(extra),
        _raw_created_at=raw_created_at,
        _absent=frozenset(absent) if absent else _NONE_ABSENT,
        _timestamp=raw_created_at if type(raw_created_at) is int else None,
        **values,
    )


def _count(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailure(f"{key} is {_describe(value)}, not an integer >= 0")
    return value


def parse_page(body: object) -> AuditLogPage:
    """The decoded JSON of a 200 answer to a page."""
    if isinstance(body, list):
        raise ValidationFailure(
            "the server sent a bare list of entries: it predates paginated audit logs (Chatwoot before "
            "mid-2023), which this client does not support"
        )
    if not isinstance(body, dict):
        raise ValidationFailure(f"the body is {_describe(body)}, not an object")
    items = body.get("audit_logs")
    if not isinstance(items, list):
        raise ValidationFailure(f"audit_logs is {_describe(items)}, not a list")
    per_page = _count(body, "per_page")
    total_entries = _count(body, "total_entries")
    current_page = _count(body, "current_page")
    return AuditLogPage(
        items=tuple(parse_entry(raw, i) for i, raw in enumerate(items)),
        current_page=current_page,
        per_page=per_page,
        total_entries=total_entries,
    )


def from_generated(model: GeneratedAuditLog) -> AuditLog:
    """A model of the generated client to the public AuditLog."""
    return parse_entry(model.to_dict(), 0)

"""Server JSON (or a generated model) to the public models, checking what the API promises on the way.

Which keys an entry has is FIELDS (``_models.py``); which JSON types each may hold, and whether it may be
left out, is the merged spec's word, read from the table regeneration writes into the generated package.
So a type that changes in openapi/ changes what the parser accepts at the next regeneration, and a field
the spec has but FIELDS lacks (yet) is kept in ``extra``, like any key this version does not know.

A field the spec lets a server leave out but not send as null (``auditable_id``, ``version``, ...: the
real server always sends them) is typed without None on AuditLog. Left out, or null after all, it reads
as its type's empty value (``0``, ``""``), and the entry remembers which, so that ``to_dict()`` gives the
JSON back as it came: a server that drops a key parses, and strict code needs no None checks.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from chatwoot_audit_generated.spec_table import AUDIT_LOG_FIELDS, Field
from dateutil.parser import isoparse

from ._models import FIELDS, AuditLog, AuditLogPage

if TYPE_CHECKING:
    from chatwoot_audit_generated.models import AuditLog as GeneratedAuditLog

__all__ = ["ValidationFailure", "entry_parser", "from_generated", "parse_created_at", "parse_entry", "parse_page"]


class ValidationFailure(Exception):
    """A body that does not match the API; the client turns it into APIResponseValidationError."""


# parse_entry reads these itself, whatever the table says: the id names an entry in every message, and
# created_at becomes a datetime. scripts/_contract.py checks that the spec agrees.
_BY_HAND = ("id", "action", "created_at")
# The Python types json.loads gives each JSON type.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (float, int),
    "string": (str,),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}
_ANY_JSON = frozenset(t for types in _JSON_TYPES.values() for t in types)
# What a field reads as when the server leaves it out (or sends null) and its type has no room for None.
_EMPTY: dict[str, Callable[[], object]] = {
    "integer": int,
    "number": int,
    "string": str,
    "boolean": bool,
    "object": dict,
    "array": list,
}
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


class _Check:
    """What one field may hold: ``exact``, the types json.loads gives, for the fast path; ``types`` for the rest.

    ``empty`` makes the value of a field that is not nullable but may be left out, when it is (or is null).
    """

    __slots__ = ("empty", "exact", "nullable", "required", "types", "wanted")

    exact: frozenset[type]
    types: tuple[type, ...]
    empty: Callable[[], object] | None

    def __init__(self, spec: Field | None) -> None:
        named = [t for t in (spec.types if spec else ()) if t != "null"]
        self.required = spec is not None and spec.required
        if not named or any(t not in _JSON_TYPES for t in named):
            # No type, one JSON does not have, or a field the spec no longer lists: any value will do.
            self.nullable, self.types, self.exact, self.wanted = True, (object,), _ANY_JSON, "any value"
            self.empty = None
            return
        assert spec is not None
        self.nullable = "null" in spec.types
        self.types = tuple(t for name in named for t in _JSON_TYPES[name])
        self.exact = frozenset(self.types) | ({type(None)} if self.nullable else set())
        self.wanted = " or ".join([*named, *(["null"] if self.nullable else [])])
        self.empty = None if self.nullable else _EMPTY[named[0]]

    def admits(self, value: object) -> bool:
        if value is None:
            return self.nullable
        # bool is an int to isinstance, never to JSON.
        return isinstance(value, self.types) and (not isinstance(value, bool) or bool in self.types)


def _builder(names: tuple[str, ...]) -> Callable[..., AuditLog]:
    """A function that passes a tuple of values to AuditLog as the keyword arguments ``names``.

    Built once from FIELDS, the way attrs builds __init__: ``AuditLog(**dict(zip(names, values)))``
    costs a sixth of an entry's parse time more, and parsing is what every walk does per entry.
    """
    if not all(name.isidentifier() and not name.startswith("_") for name in names):
        raise ValueError(f"FIELDS holds a name that cannot be an AuditLog attribute: {names}")
    unpack = "".join(f"{name}, " for name in names)
    keywords = "".join(f"{name}={name}, " for name in names)
    source = (
        "def build(_found, _id, _action, _created_at, _extra, _raw, _order, _timestamp, _absent, _nulls):\n"
        f"    ({unpack}) = _found\n"
        f"    return AuditLog(id=_id, action=_action, created_at=_created_at, {keywords}extra=_extra, "
        "_raw_created_at=_raw, _order=_order, _timestamp=_timestamp, _absent=_absent, _nulls=_nulls)\n"
    )
    namespace: dict[str, Any] = {"AuditLog": AuditLog}
    exec(compile(source, f"<{__name__} AuditLog builder>", "exec"), namespace)  # noqa: S102 (source above)
    build: Callable[..., AuditLog] = namespace["build"]
    return build


def entry_parser(fields: tuple[str, ...], spec: Iterable[Field]) -> Callable[[object, int], AuditLog]:
    """A parse_entry for the keys ``fields``, each typed as ``spec`` (a table of the merged spec) says."""
    by_name = {f.name: f for f in spec}
    names = tuple(name for name in fields if name not in _BY_HAND)
    checks = tuple(_Check(by_name.get(name)) for name in names)
    exact = tuple(check.exact for check in checks)
    build = _builder(names)
    known = frozenset(fields)
    all_keys = len(fields)
    getter = operator.itemgetter(*names) if len(names) > 1 else lambda raw: tuple(raw[name] for name in names)

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
        timestamp = raw_created_at if type(raw_created_at) is int else None
        # The per-entry hot path of every walk. A real server sends every key with exactly the spec's types:
        # check all of them in one C-level pass, and leave missing keys and odd values to the loop below.
        try:
            found = getter(raw)
        except KeyError:
            found = None
        if found is not None and all(map(frozenset.__contains__, exact, map(type, found))):
            more = len(raw) > all_keys
            extra = {k: v for k, v in raw.items() if k not in known} if more else {}
            order = tuple(raw) if more else None
            return build(
                found, entry_id, action, created_at, extra, raw_created_at, order, timestamp, _NONE_ABSENT, _NONE_ABSENT
            )
        values: list[Any] = []
        absent: list[str] = []
        nulls: list[str] = []
        for name, check in zip(names, checks, strict=True):
            value = raw.get(name, _MISSING)
            if value is _MISSING:
                if check.required:
                    raise ValidationFailure(f"entry {entry_id}: {name} is missing")
                absent.append(name)
                value = None if check.empty is None else check.empty()
            elif value is None and check.empty is not None and not check.required:
                # The spec lets the server leave it out: a null reads the same, and to_dict gives it back.
                nulls.append(name)
                value = check.empty()
            elif not check.admits(value):
                raise ValidationFailure(f"entry {entry_id}: {name} is {_describe(value)}, not {check.wanted}")
            values.append(value)
        present = len(names) - len(absent) + len(_BY_HAND)
        extra = {k: v for k, v in raw.items() if k not in known} if len(raw) > present else _NO_EXTRA
        order = tuple(raw) if extra else None
        gone = frozenset(absent) if absent else _NONE_ABSENT
        null = frozenset(nulls) if nulls else _NONE_ABSENT
        return build(
            tuple(values), entry_id, action, created_at, dict(extra), raw_created_at, order, timestamp, gone, null
        )

    return parse_entry


parse_entry = entry_parser(FIELDS, AUDIT_LOG_FIELDS)


def _count(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailure(f"{key} is {_describe(value)}, not an integer >= 0")
    return value


def parse_page(body: object, server_time: datetime | None = None) -> AuditLogPage:
    """The decoded JSON of a 200 answer to a page (``server_time``: its ``Date`` header)."""
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
        server_time=server_time,
    )


def from_generated(model: GeneratedAuditLog) -> AuditLog:
    """A model of the generated client to the public AuditLog."""
    return parse_entry(model.to_dict(), 0)

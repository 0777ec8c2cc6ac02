"""The public data types: AuditLog, AuditLogPage and AuditAction, and the names of Chatwoot's enum values."""

# No ``from __future__ import annotations``: the classes report chatwoot_audit as their module, where
# typing.get_type_hints() could not find datetime or Any to resolve annotations kept as strings.
import enum
import math
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import attrs

__all__ = ["AVAILABILITY", "ENUMS", "FIELDS", "ROLES", "AuditAction", "AuditLog", "AuditLogPage"]

# The keys a Chatwoot server renders for each entry, in its order: the merged spec's audit_log properties,
# each an AuditLog attribute below. Written out because attributes are; tests/test_contract.py and
# scripts/update_spec.py name the edit when the spec and these differ, and the parser reads each field's
# types from the spec's table in the generated package.
FIELDS = (
    "id",
    "auditable_id",
    "auditable_type",
    "auditable",
    "associated_id",
    "associated_type",
    "user_id",
    "user_type",
    "username",
    "action",
    "audited_changes",
    "version",
    "comment",
    "request_uuid",
    "created_at",
    "remote_address",
)


ROLES: Final[Mapping[int, str]] = MappingProxyType({0: "agent", 1: "administrator"})
"""An AccountUser's ``role``, as ``audited_changes`` stores it: 0 agent, 1 administrator."""

AVAILABILITY: Final[Mapping[int, str]] = MappingProxyType({0: "online", 1: "offline", 2: "busy"})
"""An AccountUser's ``availability``, as ``audited_changes`` stores it: 0 online, 1 offline, 2 busy."""

ENUMS: Final[Mapping[str, Mapping[str, Mapping[int, str]]]] = MappingProxyType(
    {
        "AccountUser": MappingProxyType({"role": ROLES, "availability": AVAILABILITY}),
        "Conversation": MappingProxyType(
            {"status": MappingProxyType({0: "open", 1: "resolved", 2: "pending", 3: "snoozed"})}
        ),
        "Inbox": MappingProxyType({"sender_name_type": MappingProxyType({0: "friendly", 1: "professional"})}),
        "Macro": MappingProxyType({"visibility": MappingProxyType({0: "personal", 1: "global"})}),
    }
)
"""The names of the integers Chatwoot's enums are stored as: ``ENUMS[auditable_type][field][value]``.

``audited_changes`` holds an enum as its integer (``{"role": [0, 1]}``), except in some destroy rows,
which hold the name; ``auditable`` shows names. :meth:`AuditLog.changes` gives names with ``named=True``.
A value missing here (a newer Chatwoot's) has no name: read it as the integer it is.
"""


class AuditAction(enum.StrEnum):
    """The actions Chatwoot writes today. ``AuditLog.action`` is a plain str: new values pass through."""

    CREATE = "create"
    UPDATE = "update"
    DESTROY = "destroy"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"


@attrs.frozen(kw_only=True, slots=True)
class AuditLog:
    """One audit-log entry, with the API's own field names.

    ``created_at`` is a timezone-aware UTC datetime; every other field is as the server sent it, ``None``
    where it sent null. The fields a real server always sends (``auditable_id``, ``auditable_type``,
    ``associated_id``, ``associated_type``, ``version``, ``request_uuid``) are typed without ``None``: one
    a server leaves out, or sends as null, reads as ``0`` or ``""`` (ids and versions start at 1, so 0
    never names a record), and :meth:`to_dict` leaves it out or gives the null back. Keys this version does
    not know are kept in ``extra``, and :meth:`to_dict` gives back the server's JSON exactly.

    Frozen means the fields cannot be reassigned; the nested ``auditable``, ``audited_changes`` and
    ``extra`` are the parsed JSON itself, shared with what ``to_dict()`` returns, so copy them before
    changing them. Building one by hand, pass an aware ``created_at``; to read an exported entry back,
    use :meth:`from_dict`, which checks it as the parser does.

    Args:
        id: the entry's id, unique and growing over time.
        action: ``create``, ``update``, ``destroy``, ``sign_in``, ``sign_out`` (see :class:`AuditAction`),
            or a value a newer server writes.
        created_at: when the entry was written, an aware datetime (whole seconds from the server).
        auditable_id: the id of the record changed (0 if the server left it out).
        auditable_type: its type: ``AccountUser``, ``Inbox``, ``Team``, ``User``, ... (``""`` if left out).
        auditable: the record as it is now, or None (gone, or a type the server never renders).
        associated_id: the account's id (0 if left out).
        associated_type: ``"Account"`` (``""`` if left out).
        user_id: who made the change; None for a system or background change.
        user_type: ``"User"``, or None with ``user_id``.
        username: the acting user's email, or None.
        audited_changes: what changed: ``{field: [old, new]}`` for an update (see :meth:`changes`), the
            values for a create or destroy, None for sign-in and sign-out.
        version: the record's own change counter, 1 on create (0 if left out).
        comment: Chatwoot's comment, None in practice.
        request_uuid: the request's id (the caller's ``X-Request-Id`` when one was sent; ``""`` if left out).
        remote_address: the client's IP address, or None outside a web request.
        extra: keys this version does not know, as the server sent them.
    """

    id: int
    action: str
    created_at: datetime
    auditable_id: int = 0
    auditable_type: str = ""
    # The mutable fields stay out of the hash (id and the scalars identify an entry), so entries can go
    # in sets and be dict keys.
    auditable: dict[str, Any] | None = attrs.field(default=None, hash=False)
    associated_id: int = 0
    associated_type: str = ""
    user_id: int | None = None
    user_type: str | None = None
    username: str | None = None
    audited_changes: dict[str, Any] | None = attrs.field(default=None, hash=False)
    version: int = 0
    comment: str | None = None
    request_uuid: str = ""
    remote_address: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict, hash=False)
    # How the server wrote created_at (int seconds, float, or an ISO string on old servers), which known
    # keys it left out or sent as a null the field's type has no room for, and its key order when unknown
    # keys came along: what to_dict needs to give the JSON back exactly.
    _raw_created_at: int | float | str | None = attrs.field(default=None, eq=False, repr=False, alias="_raw_created_at")
    _absent: frozenset[str] = attrs.field(default=frozenset(), eq=False, repr=False, alias="_absent")
    _nulls: frozenset[str] = attrs.field(default=frozenset(), eq=False, repr=False, alias="_nulls")
    _order: tuple[str, ...] | None = attrs.field(default=None, eq=False, repr=False, alias="_order")
    # Walks compare whole seconds many times per entry; worked out once.
    _timestamp: int | None = attrs.field(default=None, eq=False, repr=False, hash=False, alias="_timestamp")

    @property
    def timestamp(self) -> int:
        """``created_at`` as whole Unix seconds, the unit the server orders by."""
        if self._timestamp is None:
            object.__setattr__(self, "_timestamp", math.floor(self.created_at.timestamp()))
        return self._timestamp  # type: ignore[return-value]

    def changes(self, *, named: bool = False) -> dict[str, tuple[Any, Any]]:
        """An update's changes as ``{field: (old, new)}``; empty for any other action.

        Read by ``action``, not by shape: a create or destroy row may hold plain lists as values.

        Args:
            named: give the enum values Chatwoot stores as integers by their names (see :data:`ENUMS`):
                an AccountUser's ``{"role": (0, 1)}`` reads ``{"role": ("agent", "administrator")}``. A
                value with no known name is left as it is.
        """
        if self.action != AuditAction.UPDATE or not self.audited_changes:
            return {}
        names = ENUMS.get(self.auditable_type, {}) if named else {}
        out: dict[str, tuple[Any, Any]] = {}
        for key, value in self.audited_changes.items():
            if isinstance(value, list) and len(value) == 2:
                old, new = value
            else:
                # Not the [old, new] pair updates are written with: keep the value rather than drop it.
                old, new = None, value
            values = names.get(key)
            out[key] = (_named(values, old), _named(values, new)) if values else (old, new)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AuditLog":
        """An entry from its JSON object: the inverse of :meth:`to_dict`, checked as the API parser checks.

        For reading exports back: each line of a JSON Lines export (``json.loads(line)``) or each element of
        a JSON one. ``created_at`` may be Unix seconds (int or float) or an ISO-8601 string (one without an
        offset is UTC); it becomes an aware UTC datetime, and ``to_dict()`` gives back the value as it was
        passed. Keys this version does not know are kept in ``extra``; a known key left out reads as None,
        or as ``0`` or ``""`` for a field typed without None (see the class), and stays out of ``to_dict()``.

        A CSV export's rows hold text, so they need turning back into JSON types first: ``""`` is null, the
        integer columns (``id``, ``auditable_id``, ``associated_id``, ``user_id``, ``version``) go through
        ``int``, ``auditable`` and ``audited_changes`` are JSON text (``json.loads``), and the last column,
        ``extra``, is a JSON object of keys to merge into the row (then drop the column). With
        ``--spreadsheet-safe``, strip the ``'`` put before cells that start with ``= + - @``.

        Args:
            data: the entry's JSON object, with the API's keys.

        Raises:
            InvalidArgumentError: a ``ValueError`` naming the field that is missing or of the wrong type
                (``id``, ``action`` and ``created_at`` are required).
        """
        # Imported here: the parser builds AuditLog objects, so it imports this module.
        from ._convert import ValidationFailure, parse_entry
        from ._errors import InvalidArgumentError

        if not isinstance(data, Mapping):
            raise InvalidArgumentError(f"an audit-log entry is read from a mapping, not {type(data).__name__}")
        try:
            return parse_entry(data if isinstance(data, dict) else dict(data), 0)
        except ValidationFailure as exc:
            why = str(exc).replace("audit_logs[0]", "the entry")
            raise InvalidArgumentError(f"not an audit-log entry: {why}") from None

    def to_dict(self) -> dict[str, Any]:
        """The entry as the API's JSON: the same keys, in the server's order, with the same values."""
        out: dict[str, Any] = {}
        for name in FIELDS:
            if name in self._absent:
                continue
            if name == "created_at":
                out[name] = self._raw_created_at if self._raw_created_at is not None else self.timestamp
            elif name in self._nulls:
                out[name] = None
            else:
                out[name] = getattr(self, name)
        out.update(self.extra)
        if self._order is not None and len(self._order) == len(out):
            return {key: out[key] for key in self._order}
        return out


@attrs.frozen(kw_only=True, slots=True)
class AuditLogPage:
    """One page of entries, newest first, as the server numbered it.

    ``per_page`` is the server's own (25 on current Chatwoot, 15 on v4.14.0 and older). Chatwoot sends no
    page count: ``total_pages`` is worked out from ``total_entries``. Iterating a page yields its entries.

    ``server_time`` is the answer's ``Date`` header as an aware UTC datetime (whole seconds), the server's
    idea of when the page was read; None when the header was absent or unparseable, or for a page built
    by hand. It is what ``Checkpoint.advance(log, now=...)`` measures clock skew against. It is not part
    of equality or ``to_dict()``: two reads of the same page are equal whenever they were made.

    Args:
        items: the page's entries, newest first.
        current_page: the page number the server answered for (it echoes a page past the end).
        per_page: the server's page size.
        total_entries: the entries the account holds, as the server counted them.
        server_time: the answer's ``Date``, or None.
    """

    items: tuple[AuditLog, ...]
    current_page: int
    per_page: int
    total_entries: int
    server_time: datetime | None = attrs.field(default=None, eq=False)

    @property
    def total_pages(self) -> int:
        """``ceil(total_entries / per_page)``; 0 for an empty account."""
        if self.per_page <= 0:
            return 0
        return -(-self.total_entries // self.per_page)

    @property
    def has_next_page(self) -> bool:
        """Whether the server reports entries past this page."""
        return self.current_page < self.total_pages

    def __iter__(self) -> Iterator[AuditLog]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def to_dict(self) -> dict[str, Any]:
        """The page as the API's JSON."""
        return {
            "per_page": self.per_page,
            "total_entries": self.total_entries,
            "current_page": self.current_page,
            "audit_logs": [item.to_dict() for item in self.items],
        }


def _named(values: Mapping[int, str], value: Any) -> Any:
    # bool is an int to Python, never an enum value to Chatwoot.
    if type(value) is int:
        return values.get(value, value)
    return value


# Reprs, tracebacks and pickles name the public path, not the module that defines the classes.
AuditAction.__module__ = AuditLog.__module__ = AuditLogPage.__module__ = "chatwoot_audit"

# Do not edit: written by `python scripts/regenerate.py` from openapi/ (see generated/README.md).
"""What the merged spec (openapi/ with its overrides) says about the audit-log operation, as data.

Written from the same merged spec the generator reads, for the chatwoot_audit facade: the request it
builds (method, path, parameters, each parameter's default) and the fields of an entry, each with its
JSON types ("null" last when nullable, () for any value) and whether the spec requires it, in the
spec's order.
"""

from typing import Any, Final, NamedTuple


class Field(NamedTuple):
    """A property of a schema."""

    name: str
    types: tuple[str, ...]
    required: bool


class Parameter(NamedTuple):
    """A parameter of the operation; the generated client sends ``default`` when ``has_default``."""

    name: str
    location: str
    types: tuple[str, ...]
    required: bool
    has_default: bool
    default: Any


OPERATION_ID: Final = "get-account-audit-logs"
METHOD: Final = "GET"
PATH: Final = "/api/v1/accounts/{account_id}/audit_logs"
PARAMETERS: Final[tuple[Parameter, ...]] = (
    Parameter(
        name="account_id",
        location="path",
        types=("integer",),
        required=True,
        has_default=False,
        default=None,
    ),
    Parameter(
        name="page",
        location="query",
        types=("integer",),
        required=False,
        has_default=True,
        default=1,
    ),
)
ENTRY_SCHEMA: Final = "audit_log"
PAGE_FIELDS: Final[tuple[Field, ...]] = (
    Field(name="per_page", types=("integer",), required=True),
    Field(name="total_entries", types=("integer",), required=True),
    Field(name="current_page", types=("integer",), required=True),
    Field(name="audit_logs", types=("array",), required=True),
)
AUDIT_LOG_FIELDS: Final[tuple[Field, ...]] = (
    Field(name="id", types=("integer",), required=True),
    Field(name="auditable_id", types=("integer",), required=False),
    Field(name="auditable_type", types=("string",), required=False),
    Field(name="auditable", types=("object", "null"), required=False),
    Field(name="associated_id", types=("integer",), required=False),
    Field(name="associated_type", types=("string",), required=False),
    Field(name="user_id", types=("integer", "null"), required=False),
    Field(name="user_type", types=("string", "null"), required=False),
    Field(name="username", types=("string", "null"), required=False),
    Field(name="action", types=("string",), required=True),
    Field(name="audited_changes", types=("object", "null"), required=False),
    Field(name="version", types=("integer",), required=False),
    Field(name="comment", types=("string", "null"), required=False),
    Field(name="request_uuid", types=("string",), required=False),
    Field(name="created_at", types=("integer", "number", "string"), required=True),
    Field(name="remote_address", types=("string", "null"), required=False),
)

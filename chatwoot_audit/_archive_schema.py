"""The archive's SQLite layout, its versions and migrations, and the mapping of an entry to a row and back.

No I/O beyond the connection it is given. A file carries its layout's version in ``PRAGMA user_version``
and this package's mark in ``PRAGMA application_id``; :func:`prepare` creates a new file, migrates an older
one forward (in one transaction) and refuses one written by a newer version.

Version 1 (the first release): ``sources`` (one row per server and account: its checkpoint) and
``audit_logs`` (one row per entry), with their indexes. Version 2 adds the ``audit_changes`` view.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from ._errors import ChatwootError
from ._models import FIELDS, AuditLog

__all__ = [
    "APPLICATION_ID",
    "COLUMNS",
    "SCHEMA_VERSION",
    "ArchiveError",
    "ArchiveVersionError",
    "entry_row",
    "prepare",
    "row_entry",
    "safe_row",
]

# "CWAU": set on every archive, so that another program's SQLite file is not taken for an empty archive.
APPLICATION_ID: Final = 0x43574155
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
SCHEMA_VERSION: Final = 2


class ArchiveError(ChatwootError):
    """The archive file cannot be used: not an archive, unreadable, locked, or its disk is full."""


class ArchiveVersionError(ArchiveError):
    """The archive was written by a newer chatwoot-audit, with a layout this version does not know."""

    def __init__(self, message: str, *, found: int, supported: int) -> None:
        super().__init__(message)
        self.found = found
        self.supported = supported


# The columns of audit_logs, in order: the key (server, account_id), then the API's fields in the server's
# order, created_at twice (ISO-8601 text and Unix seconds), then the keys this version does not know.
COLUMNS: Final = (
    "server",
    "account_id",
    *(name for name in FIELDS if name != "created_at"),
    "created_at",
    "created_at_unix",
    "extra",
)
_JSON_COLUMNS: Final = frozenset({"auditable", "audited_changes", "extra"})
_JSON_POSITIONS: Final = tuple(i for i, name in enumerate(COLUMNS) if name in _JSON_COLUMNS)
_INT_COLUMNS: Final = frozenset({"id", "auditable_id", "associated_id", "user_id", "version", "created_at_unix"})

_V1: Final = """
CREATE TABLE sources (
    server TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    checkpoint TEXT NOT NULL,
    first_synced_at TEXT NOT NULL,
    last_synced_at TEXT NOT NULL,
    PRIMARY KEY (server, account_id)
);
CREATE TABLE audit_logs (
    server TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    id INTEGER NOT NULL,
    auditable_id INTEGER,
    auditable_type TEXT,
    auditable TEXT,
    associated_id INTEGER,
    associated_type TEXT,
    user_id INTEGER,
    user_type TEXT,
    username TEXT,
    action TEXT NOT NULL,
    audited_changes TEXT,
    version INTEGER,
    comment TEXT,
    request_uuid TEXT,
    remote_address TEXT,
    created_at TEXT NOT NULL,
    created_at_unix INTEGER NOT NULL,
    extra TEXT,
    PRIMARY KEY (server, account_id, id)
);
CREATE INDEX audit_logs_created_at ON audit_logs (created_at);
CREATE INDEX audit_logs_auditable ON audit_logs (auditable_type, auditable_id);
CREATE INDEX audit_logs_user_id ON audit_logs (user_id);
CREATE INDEX audit_logs_action ON audit_logs (action);
"""

# One row per changed field. An update's value is [old, new]; a create's is the new value and a destroy's
# the old one (read by action, not by shape: a create may hold a plain list). JSON values come out as SQL
# values where they are scalars, and as JSON text where they are arrays or objects.
_V2: Final = """
CREATE VIEW audit_changes AS
SELECT
    l.server, l.account_id, l.id, l.created_at, l.created_at_unix, l.action,
    l.auditable_type, l.auditable_id, l.user_id, l.username, l.remote_address,
    c.key AS field,
    CASE
        WHEN l.action = 'update' AND c.type = 'array' AND json_array_length(c.value) = 2
            THEN json_extract(c.value, '$[0]')
        WHEN l.action = 'destroy' THEN c.value
    END AS old,
    CASE
        WHEN l.action = 'update' AND c.type = 'array' AND json_array_length(c.value) = 2
            THEN json_extract(c.value, '$[1]')
        WHEN l.action = 'destroy' THEN NULL
        ELSE c.value
    END AS new
FROM audit_logs AS l, json_each(l.audited_changes) AS c
WHERE json_type(l.audited_changes) = 'object';
"""

# MIGRATIONS[n] takes a file from version n to n + 1; a new file runs them all.
MIGRATIONS: Final[dict[int, str]] = {0: _V1, 1: _V2}


def _version_of(conn: sqlite3.Connection) -> tuple[int, int, bool]:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    application = conn.execute("PRAGMA application_id").fetchone()[0]
    empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    return int(version), int(application), bool(empty)


def _check(name: str, version: int, application: int, empty: bool) -> None:
    if application != APPLICATION_ID and not (application == 0 and empty):
        raise ArchiveError(
            f"{name} is not a chatwoot-audit archive (it is another program's SQLite database): "
            "give --into a new file, or one chatwoot-audit sync wrote"
        )
    if version > SCHEMA_VERSION:
        raise ArchiveVersionError(
            f"{name} was written by a newer chatwoot-audit (archive schema {version}; this version reads "
            f"schema {SCHEMA_VERSION} and older): upgrade chatwoot-audit to use it",
            found=version,
            supported=SCHEMA_VERSION,
        )


def prepare(conn: sqlite3.Connection, name: str) -> int:
    """Create the layout in a new file or migrate an older one to :data:`SCHEMA_VERSION`; the version found.

    ``conn`` is in autocommit mode (``isolation_level=None``). A migration runs in one write transaction,
    so that a crash during it leaves the older layout whole, and two processes opening an old file at once
    migrate it once.
    """
    version, application, empty = _version_of(conn)
    _check(name, version, application, empty)
    if version == SCHEMA_VERSION:
        return version
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated the file meanwhile.
        version, application, empty = _version_of(conn)
        _check(name, version, application, empty)
        found = version
        while version < SCHEMA_VERSION:
            for statement in MIGRATIONS[version].split(";"):
                if statement.strip():
                    conn.execute(statement)
            version += 1
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return found


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities (which Python's JSON reads but JSON has not) as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


# One encoder for every value: json.dumps with options builds a new one on each call.
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def _json(value: Any) -> str | None:
    if value is None:
        return None
    try:
        return _encode(value)
    except ValueError:
        return _encode(_finite(value))


@functools.lru_cache(maxsize=256)
def _iso_seconds(seconds: int) -> str:
    # Entries come oldest first, many to a second: the cache answers most of them.
    return (_EPOCH + timedelta(seconds=seconds)).isoformat()[:19] + "Z"


def _iso(moment: datetime, seconds: int) -> str:
    if moment.microsecond:
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return _iso_seconds(seconds)


def entry_row(server: str, account_id: int, log: AuditLog) -> tuple[Any, ...]:
    """``log`` as a row of ``audit_logs`` (the values of :data:`COLUMNS`)."""
    seconds = log.timestamp
    return (
        server,
        account_id,
        log.id,
        log.auditable_id,
        log.auditable_type,
        _json(log.auditable),
        log.associated_id,
        log.associated_type,
        log.user_id,
        log.user_type,
        log.username,
        log.action,
        _json(log.audited_changes),
        log.version,
        log.comment,
        log.request_uuid,
        log.remote_address,
        _iso(log.created_at, seconds),
        seconds,
        _json(log.extra) if log.extra else None,
    )


def _safe_value(column: str, value: Any) -> Any:
    if column in _JSON_COLUMNS and isinstance(value, str):
        # Exact, in ASCII: a lone surrogate stays the escape JSON wrote it as.
        return json.dumps(json.loads(value), ensure_ascii=True, separators=(",", ":"))
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # SQLite text is UTF-8: a lone surrogate is kept as its JSON escape, as a CSV export writes it.
            return value.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        return value
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        # Beyond SQLite's integers (and Chatwoot's bigint ids): its digits as a BLOB, which no column
        # affinity turns into an inexact REAL as it would the same digits as text.
        return str(value).encode("ascii")
    return value


def safe_row(row: Sequence[Any]) -> tuple[Any, ...]:
    """``row`` with what SQLite cannot bind (lone surrogates, integers past 64 bits) made bindable."""
    return tuple(_safe_value(column, value) for column, value in zip(COLUMNS, row, strict=True))


def _int(value: Any) -> Any:
    return int(value) if isinstance(value, bytes) else value


def row_entry(row: Sequence[Any]) -> dict[str, Any]:
    """A row of ``audit_logs`` (its :data:`COLUMNS`, in order) as the API's JSON object of the entry.

    ``created_at`` comes back as Unix seconds, as today's servers send it (ISO-8601 text when the entry's
    time had a fraction of a second). :meth:`AuditLog.from_dict` reads the result.
    """
    values = dict(zip(COLUMNS, row, strict=True))
    out: dict[str, Any] = {}
    for name in FIELDS:
        if name == "created_at":
            text = values["created_at"]
            out[name] = text if "." in text else _int(values["created_at_unix"])
        elif name in _JSON_COLUMNS:
            raw = values[name]
            out[name] = None if raw is None else json.loads(raw)
        elif name in _INT_COLUMNS:
            out[name] = _int(values[name])
        else:
            out[name] = values[name]
    if values["extra"] is not None:
        out.update(json.loads(values["extra"]))
    return out

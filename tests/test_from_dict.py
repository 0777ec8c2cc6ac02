"""AuditLog.from_dict: the inverse of to_dict, checked like the parser, for reading exports back."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import pytest
from _rows import ACCOUNT_USER_UPDATE, DESTROY_STRING_ENUMS, SIGN_IN, SYSTEM_UPDATE, UNKNOWN_ACTION
from hypothesis import given, settings
from test_convert import valid_rows

from chatwoot_audit import AuditLog, InvalidArgumentError
from chatwoot_audit._cli._formats import csv_header, csv_row, jsonl_line
from chatwoot_audit._convert import parse_entry

ROWS = [ACCOUNT_USER_UPDATE, SIGN_IN, SYSTEM_UPDATE, DESTROY_STRING_ENUMS, UNKNOWN_ACTION]
INT_COLUMNS = ("id", "auditable_id", "associated_id", "user_id", "version")
JSON_COLUMNS = ("auditable", "audited_changes")


@given(valid_rows())
@settings(max_examples=200, deadline=None)
def test_from_dict_inverts_to_dict(row: dict[str, Any]) -> None:
    """Any row of the real shape reads as the parser reads it, and to_dict gives it back key for key."""
    original = copy.deepcopy(row)
    log = AuditLog.from_dict(row)
    assert log == parse_entry(copy.deepcopy(original), 0)
    assert log.created_at.tzinfo is UTC
    assert log.to_dict() == original
    assert list(log.to_dict()) == list(original)
    assert AuditLog.from_dict(log.to_dict()) == log


@given(valid_rows())
@settings(max_examples=100, deadline=None)
def test_a_jsonl_export_reads_back(row: dict[str, Any]) -> None:
    """A line of a JSON Lines export, decoded, is the entry that was written."""
    log = parse_entry(row, 0)
    assert AuditLog.from_dict(json.loads(jsonl_line(log))) == log


@pytest.mark.parametrize(
    ("created_at", "expected"),
    [
        (1781602887, datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)),
        ("2026-06-16T09:41:27Z", datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)),
        ("2026-06-16T11:41:27+02:00", datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)),
        ("2026-06-16T09:41:27", datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)),
    ],
)
def test_created_at_becomes_an_aware_utc_datetime(created_at: object, expected: datetime) -> None:
    """Unix seconds or ISO-8601 (an offset-less one is UTC) becomes an aware UTC datetime, given back as it was."""
    log = AuditLog.from_dict({**SIGN_IN, "created_at": created_at})
    assert log.created_at == expected
    assert log.created_at.tzinfo is UTC
    assert log.to_dict()["created_at"] == created_at


def test_any_mapping_is_read() -> None:
    """A read-only mapping (not a dict) is read like its dict, and left unchanged."""
    proxy = MappingProxyType(dict(SIGN_IN))
    assert AuditLog.from_dict(proxy) == parse_entry(dict(SIGN_IN), 0)
    assert dict(proxy) == SIGN_IN


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"id": "4119"}, "id '4119'"),
        ({"id": True}, "id True"),
        ({"action": None}, "action is None"),
        ({"created_at": "yesterday"}, "created_at 'yesterday' is not an ISO-8601 time"),
        ({"created_at": True}, "created_at is True"),
        ({"user_id": "1"}, "user_id is '1'"),
        ({"audited_changes": "{}"}, "audited_changes is '{}'"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_field(change: dict[str, Any], named: str) -> None:
    """A value of the wrong type is an InvalidArgumentError (a ValueError) whose message names the field."""
    with pytest.raises(InvalidArgumentError, match=named) as caught:
        AuditLog.from_dict({**ACCOUNT_USER_UPDATE, **change})
    assert isinstance(caught.value, ValueError)


def test_a_missing_required_field_is_refused() -> None:
    """created_at has no default: a row without it is refused, naming it."""
    row = {k: v for k, v in SIGN_IN.items() if k != "created_at"}
    with pytest.raises(InvalidArgumentError, match="created_at is missing"):
        AuditLog.from_dict(row)


@pytest.mark.parametrize("data", [None, [("id", 1)], "{}"])
def test_not_a_mapping_is_refused(data: Any) -> None:
    """Something that is not a mapping is refused with the type it is."""
    with pytest.raises(InvalidArgumentError, match="from a mapping"):
        AuditLog.from_dict(data)


def row_from_csv(cells: Mapping[str, str]) -> dict[str, Any]:
    """A CSV export's record as from_dict's docstring says to turn it back into JSON types."""
    row: dict[str, Any] = {}
    for name, cell in cells.items():
        if name == "extra":
            continue
        if cell.startswith(("'=", "'+", "'-", "'@")):
            cell = cell[1:]
        if cell == "":
            row[name] = None
        elif name in INT_COLUMNS:
            row[name] = int(cell)
        elif name in JSON_COLUMNS:
            row[name] = json.loads(cell)
        else:
            row[name] = cell
    if cells.get("extra"):
        row.update(json.loads(cells["extra"]))
    return row


@pytest.mark.parametrize("safe", [False, True], ids=["plain", "spreadsheet-safe"])
@pytest.mark.parametrize("raw", ROWS, ids=[str(row["action"]) + str(row["id"]) for row in ROWS])
def test_a_csv_export_reads_back_with_the_documented_recipe(raw: dict[str, Any], safe: bool) -> None:
    """Each CSV record, converted as documented, reads back to the entry that was written."""
    log = parse_entry({**raw, "username": "=cmd@x.example", "hint": {"new": [1]}}, 0)
    text = (csv_header() + csv_row(log, spreadsheet_safe=safe)).decode("utf-8")
    (record,) = csv.DictReader(io.StringIO(text, newline=""))
    assert AuditLog.from_dict(row_from_csv(record)) == log

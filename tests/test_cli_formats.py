"""Output formats: JSONL is the API's JSON, CSV has fixed columns and survives any text, JSON is one array."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from _rows import ACCOUNT_USER_UPDATE as REALISTIC
from hypothesis import given
from hypothesis import strategies as st

from chatwoot_audit import AuditLog
from chatwoot_audit._cli._formats import (
    CSV_COLUMNS,
    Encoder,
    csv_cell,
    csv_header,
    csv_row,
    format_from_path,
    json_array,
    jsonl_line,
)
from chatwoot_audit._cli._resume import iter_records
from chatwoot_audit._convert import parse_entry
from chatwoot_audit._models import FIELDS


def realistic(**changes: Any) -> AuditLog:
    """The server document's example entry, parsed as the SDK parses it."""
    return parse_entry({**REALISTIC, **changes}, 0)


def test_jsonl_line_is_the_api_object_on_one_line() -> None:
    """A JSONL line is compact JSON of exactly to_dict(), unknown keys included, ending in a newline."""
    log = realistic(new_key={"a": "é"})
    line = jsonl_line(log)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {**REALISTIC, "new_key": {"a": "é"}}
    assert list(json.loads(line)) == [*FIELDS, "new_key"]


def test_csv_has_one_column_per_field_in_the_servers_order() -> None:
    """The header is the API's keys in order; nested objects are compact JSON; times ISO-8601 UTC; null empty."""
    assert csv_header() == (",".join(FIELDS) + "\r\n").encode()
    assert CSV_COLUMNS == FIELDS
    row = next(csv.reader(io.StringIO(csv_row(realistic()).decode(), newline="")))
    cells = dict(zip(FIELDS, row, strict=True))
    assert cells["id"] == "4119"
    assert cells["auditable"] == '{"id":5,"availability":"online","role":"administrator","user_id":4}'
    assert cells["audited_changes"] == '{"role":[0,1]}'
    assert cells["created_at"] == "2026-06-16T09:41:27Z"
    assert cells["comment"] == ""


def test_csv_leaves_out_keys_the_api_added_later() -> None:
    """The header is fixed, so keys this version does not know stay in JSONL only."""
    row = next(csv.reader(io.StringIO(csv_row(realistic(new_key=1)).decode(), newline="")))
    assert len(row) == len(FIELDS)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (0, "0"),
        ("plain", "plain"),
        ({"a": [1, None]}, '{"a":[1,null]}'),
        ([1, "x"], '[1,"x"]'),
        (True, "true"),
        (datetime(2026, 6, 1, tzinfo=UTC), "2026-06-01T00:00:00Z"),
    ],
)
def test_csv_cells(value: Any, cell: str) -> None:
    """Each kind of value becomes the documented text."""
    assert csv_cell(value) == cell


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)", "\tx"])
def test_spreadsheet_safe_defuses_formulas(text: str) -> None:
    """With --spreadsheet-safe a text cell a spreadsheet would run gets a leading quote; numbers do not."""
    assert csv_cell(text) == text
    assert csv_cell(text, spreadsheet_safe=True) == "'" + text
    assert csv_cell(-1, spreadsheet_safe=True) == "-1"


texts = st.text(st.characters(codec="utf-8"), max_size=30)


@given(username=texts, comment=texts, request_uuid=texts, changes=st.dictionaries(texts, texts, max_size=3))
def test_csv_rows_read_back_whatever_the_text(username: str, comment: str, request_uuid: str, changes: Any) -> None:
    """Quotes, commas and newlines in any field survive a CSV round trip, one record per entry."""
    log = realistic(username=username, comment=comment, request_uuid=request_uuid, audited_changes=changes)
    data = csv_header() + csv_row(log) + csv_row(realistic(id=1))
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    assert len(rows) == 3
    cells = dict(zip(FIELDS, rows[1], strict=True))
    assert (cells["username"], cells["comment"], cells["request_uuid"]) == (username, comment, request_uuid)
    assert json.loads(cells["audited_changes"]) == changes
    assert [record for record, _ in iter_records(io.BytesIO(data).readlines(), quoted=True)] == [
        csv_header(),
        csv_row(log),
        csv_row(realistic(id=1)),
    ]


@given(username=texts, comment=texts, cut=st.integers(0, 10_000))
def test_a_cut_csv_keeps_exactly_its_whole_records(username: str, comment: str, cut: int) -> None:
    """Cut anywhere, a CSV output's complete records are exactly the rows written entirely before the cut."""
    rows = [csv_header(), csv_row(realistic(id=2, username=username, comment=comment)), csv_row(realistic(id=3))]
    data = b"".join(rows)
    cut = min(cut, len(data))
    lines = io.BytesIO(data[:cut]).readlines()
    records = [record for record, _ in iter_records(lines, quoted=True)]
    ends, offset = [], 0
    for row in rows:
        offset += len(row)
        ends.append(offset)
    assert records == [row for row, end in zip(rows, ends, strict=True) if end <= cut]


def test_json_array_wraps_staged_lines() -> None:
    """Staged JSONL lines become a valid JSON array; none become []."""
    lines = [jsonl_line(realistic(id=1)), jsonl_line(realistic(id=2))]
    assert json.loads(b"".join(json_array(lines))) == [realistic(id=1).to_dict(), realistic(id=2).to_dict()]
    assert b"".join(json_array([])) == b"[]\n"
    assert b"".join(json_array([b"\n"])) == b"[]\n"


def test_encoder_per_format() -> None:
    """CSV has a header; JSON is staged as JSONL; unknown formats are refused."""
    log = realistic()
    assert Encoder("csv").header == csv_header()
    assert Encoder("jsonl").header == b""
    assert Encoder("json").staged
    assert Encoder("json").encode(log) == Encoder("jsonl").encode(log) == jsonl_line(log)
    assert Encoder("csv", spreadsheet_safe=True).encode(realistic(comment="=1")).count(b"'=1") == 1
    with pytest.raises(ValueError, match="unknown format"):
        Encoder("xml")


@pytest.mark.parametrize(
    ("path", "fmt"),
    [("a.jsonl", "jsonl"), ("A.NDJSON", "jsonl"), ("x/y.csv", "csv"), ("out.json", "json"), ("audit.log", None)],
)
def test_format_from_path(path: str, fmt: str | None) -> None:
    """The output's suffix names its format when --format is not given."""
    assert format_from_path(path) == fmt

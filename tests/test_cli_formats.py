"""Output formats: JSONL is the API's JSON, CSV has fixed columns and survives any text, JSON is one array."""

from __future__ import annotations

import csv
import io
import json
import math
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
    """The header is the API's keys in order, then extra; nested objects compact JSON, times ISO-8601 UTC."""
    assert csv_header() == (",".join(FIELDS) + ",extra\r\n").encode()
    assert list(CSV_COLUMNS) == [*FIELDS, "extra"]
    row = next(csv.reader(io.StringIO(csv_row(realistic()).decode(), newline="")))
    cells = dict(zip(CSV_COLUMNS, row, strict=True))
    assert cells["id"] == "4119"
    assert cells["auditable"] == '{"id":5,"availability":"online","role":"administrator","user_id":4}'
    assert cells["audited_changes"] == '{"role":[0,1]}'
    assert cells["created_at"] == "2026-06-16T09:41:27Z"
    assert cells["comment"] == ""


def test_csv_keeps_keys_the_api_added_later_in_its_extra_column() -> None:
    """The header is fixed, so keys this version does not know go together in the last column."""
    row = next(csv.reader(io.StringIO(csv_row(realistic(new_key=1)).decode(), newline="")))
    assert len(row) == len(CSV_COLUMNS)
    assert row[-1] == '{"new_key":1}'


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
    cells = dict(zip(CSV_COLUMNS, rows[1], strict=True))
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


# -- what UTF-8 and JSON cannot hold -------------------------------------------------------------------


def strict_loads(data: bytes | str) -> Any:
    """json.loads that refuses NaN and the infinities, as every parser but Python's does."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(data, parse_constant=refuse)


def test_a_lone_surrogate_is_written_as_its_json_escape() -> None:
    """A string the server sent as "\\ud800" is written as that escape: valid UTF-8, and it reads back exactly."""
    log = realistic(username="a\ud800b", comment="\udc00", auditable={"k\udbff": ["v\ud800", "é"]})
    line = jsonl_line(log)
    line.decode("utf-8")
    assert json.loads(line) == log.to_dict()
    assert b'"username":"a\\ud800b"' in line
    assert b'"comment":"\\udc00"' in line
    # Everything UTF-8 can hold is written as it is, unescaped.
    assert "é".encode() in line
    assert (
        jsonl_line(realistic(username="é"))
        == (json.dumps(realistic(username="é").to_dict(), ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    )


def test_a_lone_surrogate_in_csv_is_a_backslash_escape() -> None:
    """In CSV a text cell shows the escape's six characters; a JSON cell holds the JSON escape."""
    log = realistic(username="a\ud800b", auditable={"k": "v\udfff"})
    row = next(csv.reader(io.StringIO(csv_row(log).decode("utf-8"), newline="")))
    cells = dict(zip(CSV_COLUMNS, row, strict=True))
    assert cells["username"] == "a\\ud800b"
    assert json.loads(cells["auditable"]) == {"k": "v\udfff"}


# Lone surrogates among any other characters (joined by hand: st.text never draws surrogates). High ones
# only: in text json.loads produced, a high surrogate is never followed by a low one (that pair would be
# one character), so the text reads back as the same code points.
any_text = st.lists(st.characters() | st.sampled_from(["\ud800", "\udbff"]), max_size=12).map("".join)


@given(username=any_text, comment=any_text, key=any_text, value=any_text)
def test_any_text_is_written_as_utf_8_and_reads_back(username: str, comment: str, key: str, value: str) -> None:
    """Whatever strings an entry holds, JSONL and CSV are valid UTF-8; JSONL reads back as the entry."""
    log = realistic(username=username, comment=comment, audited_changes={key: [value, None]})
    line = jsonl_line(log)
    assert json.loads(line.decode("utf-8")) == log.to_dict()
    data = csv_header() + csv_row(log)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 2
    assert json.loads(dict(zip(CSV_COLUMNS, rows[1], strict=True))["audited_changes"]) == {key: [value, None]}


def test_nan_and_infinity_are_written_as_null() -> None:
    """NaN and the infinities (which Python's parser accepts) come out as null, never as non-standard JSON;
    the entry itself keeps them."""
    nan, inf = float("nan"), float("inf")
    log = realistic(auditable={"score": nan, "range": [inf, -inf, 1.5]}, audited_changes={"x": [nan, 2]}, later=inf)
    line = jsonl_line(log)
    written = strict_loads(line)
    assert written["auditable"] == {"score": None, "range": [None, None, 1.5]}
    assert written["audited_changes"] == {"x": [None, 2]}
    assert written["later"] is None
    assert list(written) == list(log.to_dict())
    assert log.auditable is not None
    assert math.isnan(log.auditable["score"])

    row = next(csv.reader(io.StringIO(csv_row(log).decode(), newline="")))
    cells = dict(zip(CSV_COLUMNS, row, strict=True))
    assert strict_loads(cells["auditable"]) == {"score": None, "range": [None, None, 1.5]}
    assert csv_cell(nan) == csv_cell(-inf) == ""


def test_nan_deep_inside_is_written_as_null() -> None:
    """As deep as the JSON parser lets a server nest, a NaN becomes null."""
    nested: Any = [float("nan")]
    for _ in range(400):
        nested = {"a": nested}
    written = strict_loads(jsonl_line(realistic(auditable=nested)))["auditable"]
    for _ in range(400):
        written = written["a"]
    assert written == [None]


def test_a_container_that_holds_itself_is_still_an_error() -> None:
    """Only a hand-built entry can hold itself; it is refused, not looped over."""
    looped: dict[str, Any] = {"score": float("nan")}
    looped["self"] = looped
    with pytest.raises(ValueError, match="Circular"):
        jsonl_line(AuditLog(id=1, action="update", created_at=datetime(2026, 6, 1, tzinfo=UTC), auditable=looped))

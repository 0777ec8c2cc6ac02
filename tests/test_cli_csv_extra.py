"""CSV loses no key: what this version does not know rides in the extra column, as JSONL carries it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from _rows import SIGN_IN
from hypothesis import given
from hypothesis import strategies as st

from chatwoot_audit._cli._formats import CSV_COLUMNS, csv_header, csv_row, jsonl_line
from chatwoot_audit._convert import parse_entry
from chatwoot_audit._models import FIELDS

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
unknown_keys = st.dictionaries(st.text(max_size=10).filter(lambda k: k not in FIELDS), json_values, max_size=4)


def cells(row: dict[str, Any], **options: bool) -> dict[str, str]:
    """The CSV record of ``row``, by column."""
    record = next(csv.reader(io.StringIO(csv_row(parse_entry(row, 0), **options).decode("utf-8"), newline="")))
    return dict(zip(CSV_COLUMNS, record, strict=True))


@given(unknown_keys)
def test_every_key_of_the_jsonl_object_is_in_the_csv_record(extra: dict[str, Any]) -> None:
    """The keys JSONL writes are the CSV columns plus the keys of the extra object, with the same values."""
    row = {**SIGN_IN, **extra}
    written = json.loads(jsonl_line(parse_entry(row, 0)))
    by_column = cells(row)
    kept = json.loads(by_column["extra"]) if by_column["extra"] else {}
    assert kept == {k: v for k, v in written.items() if k not in FIELDS}
    assert set(written) == set(FIELDS) | set(kept)


def test_a_server_key_named_extra_is_kept_inside_the_extra_object() -> None:
    """A key the server itself calls "extra" is one unknown key among others, not the column."""
    by_column = cells({**SIGN_IN, "extra": "theirs", "tenant": {"region": "eu"}})
    assert json.loads(by_column["extra"]) == {"extra": "theirs", "tenant": {"region": "eu"}}


def test_no_unknown_keys_leave_the_extra_cell_empty() -> None:
    """An entry with only known keys has an empty extra cell, as null is an empty cell."""
    assert cells(SIGN_IN)["extra"] == ""
    assert csv_header().decode().rstrip("\r\n").split(",")[-1] == "extra"


def test_spreadsheet_safe_leaves_the_json_object_alone() -> None:
    """The extra cell is a JSON object, which no spreadsheet runs: it is written as it is."""
    assert cells({**SIGN_IN, "note": "=1+1"}, spreadsheet_safe=True)["extra"] == '{"note":"=1+1"}'

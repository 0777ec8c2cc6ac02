"""The bytes of each output format: JSON Lines, CSV and a JSON array. Pure.

JSONL and JSON hold :meth:`AuditLog.to_dict` (the API's own JSON, unknown keys included). CSV has
one column per API field in the server's order, nested objects as compact JSON text, ``created_at`` as
ISO-8601 UTC, and null as an empty cell; then a last column, ``extra``, with the keys this version does
not know (``AuditLog.extra``) as one compact JSON object, empty when there are none. So the header stays
fixed, and CSV carries what JSONL does.
Every record ends with a newline and is handed over whole, so an output can be cut only between records.

Output is always valid UTF-8 and standard JSON, whatever the server sent that Python's parser accepts:

- A lone surrogate (``"\\ud800"`` in the server's JSON), which UTF-8 cannot hold, is written as that
  same escape, ``\\ud800``: in JSON it is the JSON escape, so the value reads back exactly; in a CSV text
  cell it is those six characters.
- ``NaN``, ``Infinity`` and ``-Infinity``, which are not JSON, are written as ``null`` (as JavaScript's
  ``JSON.stringify`` does): an empty cell in CSV, ``null`` inside a nested object.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Final

from .._models import FIELDS, AuditLog
from ._times import format_time

__all__ = [
    "CSV_COLUMNS",
    "FORMATS",
    "Encoder",
    "csv_cell",
    "csv_header",
    "csv_row",
    "format_from_path",
    "json_array",
    "jsonl_line",
]

FORMATS: Final = ("jsonl", "csv", "json")
CSV_COLUMNS: Final = (*FIELDS, "extra")
_SUFFIXES: Final = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json"}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")


def format_from_path(path: str) -> str | None:
    """The format an output file's suffix names (``.jsonl``/``.ndjson``, ``.csv``, ``.json``), if any."""
    lowered = path.lower()
    for suffix, name in _SUFFIXES.items():
        if lowered.endswith(suffix):
            return name
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _compact(value: Any) -> str:
    try:
        return _dumps(value)
    except ValueError:
        # A NaN or an infinity, or a container that holds itself: only the first can be written, and
        # allowing NaN tells them apart (a cycle still raises).
        json.dumps(value)
        return _dumps(_finite(value))


def _finite(value: Any) -> Any:
    """A copy of ``value`` with every NaN and infinity replaced by None; ``value`` is left as it is.

    Without recursion: nesting as deep as json.loads allows cannot overflow the stack.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if not isinstance(value, dict | list | tuple):
        return value
    root: dict[Any, Any] | list[Any] = {} if isinstance(value, dict) else []
    pending: list[tuple[Any, dict[Any, Any] | list[Any]]] = [(value, root)]
    while pending:
        source, copy = pending.pop()
        pairs = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in pairs:
            if isinstance(item, float) and not math.isfinite(item):
                item = None
            elif isinstance(item, dict | list | tuple):
                inner: dict[Any, Any] | list[Any] = {} if isinstance(item, dict) else []
                pending.append((item, inner))
                item = inner
            if isinstance(copy, dict):
                copy[key] = item
            else:
                copy.append(item)
    return root


def _utf8(text: str) -> bytes:
    # Only a lone surrogate makes UTF-8 fail; backslashreplace writes it as \udXXX, which inside a JSON
    # string (the only place JSON text can hold one) is its JSON escape.
    return text.encode("utf-8", "backslashreplace")


def jsonl_line(log: AuditLog) -> bytes:
    """One entry as a line of compact JSON: the API's object, with NaN and lone surrogates as the module
    says."""
    return _utf8(_compact(log.to_dict()) + "\n")


def csv_cell(value: Any, *, spreadsheet_safe: bool = False) -> str:
    """One CSV cell: empty for null, compact JSON for objects and lists, ISO-8601 UTC for times."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, dict | list | bool):
        return _compact(value)
    text = str(value)
    if spreadsheet_safe and isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_record(cells: Iterable[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(cells)
    return _utf8(buffer.getvalue())


def csv_header() -> bytes:
    """The header record."""
    return _csv_record(CSV_COLUMNS)


def csv_row(log: AuditLog, *, spreadsheet_safe: bool = False) -> bytes:
    """One entry as a CSV record (``\\r\\n``-terminated, as RFC 4180 has it)."""
    values = log.to_dict()
    cells = []
    for name in FIELDS:
        value = log.created_at if name == "created_at" else values.get(name)
        cells.append(csv_cell(value, spreadsheet_safe=spreadsheet_safe))
    # Read from extra, not by name: a server could send a key called "extra" of its own.
    cells.append(csv_cell(log.extra or None, spreadsheet_safe=spreadsheet_safe))
    return _csv_record(cells)


class Encoder:
    """Turns entries into the records of one format; JSON is staged as JSONL and wrapped at the end."""

    def __init__(self, fmt: str, *, spreadsheet_safe: bool = False) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.format = fmt
        self.spreadsheet_safe = spreadsheet_safe

    @property
    def staged(self) -> bool:
        """Whether records go to a staging file first (a JSON array is only valid once closed)."""
        return self.format == "json"

    @property
    def header(self) -> bytes:
        """What the output starts with before the first record (the CSV header), or nothing."""
        return csv_header() if self.format == "csv" else b""

    def encode(self, log: AuditLog) -> bytes:
        """One record."""
        if self.format == "csv":
            return csv_row(log, spreadsheet_safe=self.spreadsheet_safe)
        return jsonl_line(log)


def json_array(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Staged JSONL lines as the chunks of a JSON array, one entry a line."""
    first = True
    for line in lines:
        body = line.rstrip(b"\r\n")
        if not body:
            continue
        yield (b"[\n" if first else b",\n") + body
        first = False
    yield b"[]\n" if first else b"\n]\n"

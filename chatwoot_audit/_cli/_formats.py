"""The bytes of each output format: JSON Lines, CSV and a JSON array. Pure.

JSONL and JSON hold exactly :meth:`AuditLog.to_dict` (the API's own JSON, unknown keys included). CSV has
one column per API field in the server's order, nested objects as compact JSON text, ``created_at`` as
ISO-8601 UTC, and null as an empty cell; keys the API adds later are left out of CSV (the header is fixed).
Every record ends with a newline and is handed over whole, so an output can be cut only between records.
"""

from __future__ import annotations

import csv
import io
import json
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
CSV_COLUMNS: Final = FIELDS
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


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def jsonl_line(log: AuditLog) -> bytes:
    """One entry as a line of compact JSON, exactly the API's object."""
    return (_compact(log.to_dict()) + "\n").encode("utf-8")


def csv_cell(value: Any, *, spreadsheet_safe: bool = False) -> str:
    """One CSV cell: empty for null, compact JSON for objects and lists, ISO-8601 UTC for times."""
    if value is None:
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
    return buffer.getvalue().encode("utf-8")


def csv_header() -> bytes:
    """The header record."""
    return _csv_record(CSV_COLUMNS)


def csv_row(log: AuditLog, *, spreadsheet_safe: bool = False) -> bytes:
    """One entry as a CSV record (``\\r\\n``-terminated, as RFC 4180 has it)."""
    values = log.to_dict()
    cells = []
    for name in CSV_COLUMNS:
        value = log.created_at if name == "created_at" else values.get(name)
        cells.append(csv_cell(value, spreadsheet_safe=spreadsheet_safe))
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

"""Whole-record appends and atomic replacement, and the export's file target on its own."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chatwoot_audit import AuditLog
from chatwoot_audit._cli._exits import FileError, UsageError
from chatwoot_audit._cli._export import FileTarget
from chatwoot_audit._cli._files import AppendFile, read_lines, replace_file
from chatwoot_audit._cli._formats import Encoder, csv_header
from chatwoot_audit._cli._resume import ExportParams

PARAMS = ExportParams(base_url="https://x", account_id=1, format="jsonl")


def log(entry_id: int) -> AuditLog:
    """A minimal entry."""
    return AuditLog(id=entry_id, action="create", created_at=datetime(2026, 6, 1, tzinfo=UTC))


def test_append_file_appends_and_truncates(tmp_path: Path) -> None:
    """Records append; truncate=True starts over; size and truncate work on the descriptor."""
    path = tmp_path / "out"
    path.write_bytes(b"old\n")
    file = AppendFile(path)
    file.write(b"a\n")
    assert file.size() == 6
    file.truncate(4)
    file.write(b"b\n")
    file.sync()
    file.close()
    file.close()
    assert path.read_bytes() == b"old\nb\n"
    AppendFile(path, truncate=True).close()
    assert path.read_bytes() == b""


def test_append_file_errors_are_file_errors(tmp_path: Path) -> None:
    """A file that cannot be opened is a one-line FileError (exit 7) naming it."""
    with pytest.raises(FileError, match=r"cannot open .*missing"):
        AppendFile(tmp_path / "missing" / "out")


def test_replace_file_is_all_or_nothing(tmp_path: Path) -> None:
    """The target holds the new data and no temporary file is left beside it."""
    path = tmp_path / "cp.json"
    replace_file(path, b"one")
    replace_file(path, b"two")
    assert path.read_bytes() == b"two"
    assert sorted(os.listdir(tmp_path)) == ["cp.json"]
    with pytest.raises(FileError):
        replace_file(tmp_path / "missing" / "cp.json", b"x")


def test_read_lines_keeps_newlines(tmp_path: Path) -> None:
    """Lines come back as written, the last one possibly without a newline."""
    path = tmp_path / "x"
    path.write_bytes(b"a\nb")
    assert list(read_lines(path)) == [b"a\n", b"b"]


def test_file_target_writes_state_then_removes_it(tmp_path: Path) -> None:
    """While an export runs its state is beside the output; once committed only the output is left."""
    path = tmp_path / "out.jsonl"
    target = FileTarget(path, Encoder("jsonl"))
    target.prepare(PARAMS)
    assert not path.exists()  # nothing is touched before there is something to write
    target.write(Encoder("jsonl").encode(log(1)))
    assert ExportParams.from_json((tmp_path / "out.jsonl.resume.json").read_text(), name="s") == PARAMS
    target.commit()
    assert sorted(os.listdir(tmp_path)) == ["out.jsonl"]


def test_an_empty_export_still_writes_a_valid_output(tmp_path: Path) -> None:
    """No entries: an empty JSONL file, a CSV header alone, an empty JSON array."""
    for fmt, expected in (("jsonl", b""), ("csv", csv_header()), ("json", b"[]\n")):
        path = tmp_path / f"out.{fmt}"
        target = FileTarget(path, Encoder(fmt))
        target.prepare(PARAMS)
        target.commit()
        assert path.read_bytes() == expected


def test_json_is_staged_and_renamed(tmp_path: Path) -> None:
    """A JSON export writes to FILE.partial.jsonl and only replaces FILE, whole, on commit."""
    path = tmp_path / "out.json"
    path.write_text("previous")
    encoder = Encoder("json")
    target = FileTarget(path, encoder)
    target.prepare(ExportParams(base_url="https://x", account_id=1, format="json"))
    target.write(encoder.encode(log(2)))
    assert path.read_text() == "previous"
    assert (tmp_path / "out.json.partial.jsonl").exists()
    target.commit()
    assert [entry["id"] for entry in json.loads(path.read_text())] == [2]
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


def test_resume_refuses_a_finished_output(tmp_path: Path) -> None:
    """--resume on a file without state (a finished export, or another file) is refused, not appended to."""
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": 1}\n')
    with pytest.raises(UsageError, match="nothing to resume"):
        FileTarget(path, Encoder("jsonl"), resume=True).prepare(PARAMS)


def test_resume_without_anything_starts_fresh(tmp_path: Path) -> None:
    """--resume with neither output nor state is simply a first run."""
    target = FileTarget(tmp_path / "out.jsonl", Encoder("jsonl"), resume=True)
    assert target.prepare(PARAMS) == PARAMS
    assert target.seen == set()

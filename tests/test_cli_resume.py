"""Resume state and follow checkpoints: what is stored, what must match, and reading an output back."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chatwoot_audit import AuditLog, Checkpoint
from chatwoot_audit._cli._exits import ExitCode, FileError, UsageError
from chatwoot_audit._cli._follow import FollowState
from chatwoot_audit._cli._formats import csv_header, csv_row, jsonl_line
from chatwoot_audit._cli._resume import ExportParams, iter_records, reconcile, scan_csv, scan_jsonl

PARAMS = ExportParams(
    base_url="https://chat.example.com",
    account_id=1,
    format="jsonl",
    since="2026-11-18T12:00:00Z",
    until=None,
    since_arg="7d",
    until_arg=None,
    filters={"actions": ["create"], "types": [], "user_ids": [], "usernames": []},
)


def log(entry_id: int, **fields: Any) -> AuditLog:
    """A minimal entry."""
    return AuditLog(id=entry_id, action="update", created_at=datetime(2026, 6, 1, tzinfo=UTC), **fields)


def lines(data: bytes) -> list[bytes]:
    """``data`` split as a binary file iterates."""
    return io.BytesIO(data).readlines()


def test_params_round_trip_through_the_state_file() -> None:
    """The state file gives back the parameters it was written from."""
    assert ExportParams.from_json(PARAMS.to_json(), name="x") == PARAMS


@pytest.mark.parametrize(
    "text",
    ["", "[]", "{}", '{"kind": "chatwoot-audit export state", "format": 2, "params": {}}', '{"kind": 1}', "\xff"],
)
def test_a_foreign_state_file_is_a_file_error(text: str) -> None:
    """A state file this version did not write is refused with exit 7 and what to do."""
    with pytest.raises(FileError, match="delete it to start over") as caught:
        ExportParams.from_json(text, name="out.jsonl.resume.json")
    assert caught.value.code == ExitCode.FILE


def test_unknown_params_are_refused() -> None:
    """A state with parameters this version does not know is not silently half-read."""
    data = json.loads(PARAMS.to_json())
    data["params"]["surprise"] = 1
    with pytest.raises(FileError):
        ExportParams.from_json(json.dumps(data), name="x")


def test_reconcile_keeps_the_stored_window_for_the_same_words() -> None:
    """--since 7d later resolves to another instant, but the interrupted export's window is kept."""
    later = replace(PARAMS, since="2026-11-19T08:00:00Z")
    assert reconcile(PARAMS, later).since == "2026-11-18T12:00:00Z"


def test_reconcile_accepts_other_words_for_the_same_instant() -> None:
    """--since 7d first and then the absolute time it stood for is the same export."""
    absolute = replace(PARAMS, since_arg="2026-11-18T12:00:00Z")
    assert reconcile(PARAMS, absolute).since == PARAMS.since


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"format": "csv"}, "--format"),
        ({"base_url": "https://other.example.com"}, "--base-url"),
        ({"account_id": 2}, "--account-id"),
        ({"since_arg": "3d", "since": "2026-11-22T12:00:00Z"}, "--since"),
        ({"until_arg": "1d", "until": "2026-11-24T12:00:00Z"}, "--until"),
        ({"filters": {"actions": [], "types": [], "user_ids": [], "usernames": []}}, "filters"),
        ({"spreadsheet_safe": True}, "--spreadsheet-safe"),
    ],
)
def test_reconcile_refuses_other_parameters(change: dict[str, Any], named: str) -> None:
    """A resume with different parameters is a usage error naming what differs."""
    with pytest.raises(UsageError, match="cannot resume") as caught:
        reconcile(PARAMS, replace(PARAMS, **change))
    assert named in caught.value.message


def test_iter_records_stops_before_a_partial_tail() -> None:
    """Only newline-terminated records come back, each with the offset just past it."""
    data = b'{"id":1}\n{"id":2}\n{"id":3'
    assert list(iter_records(lines(data))) == [(b'{"id":1}\n', 9), (b'{"id":2}\n', 18)]


def test_scan_jsonl_reads_ids_and_where_to_cut() -> None:
    """A JSONL output read back gives its ids, its record count and the end of its last whole record."""
    data = jsonl_line(log(7)) + jsonl_line(log(3)) + b'{"id": 9, "acti'
    scan = scan_jsonl(lines(data), name="out.jsonl")
    scan.total_size = len(data)
    assert (scan.ids, scan.records) == ({7, 3}, 2)
    assert scan.partial == len(b'{"id": 9, "acti')


@pytest.mark.parametrize("bad", [b"not json\n", b"[1]\n", b'{"id": "7"}\n', b'{"id": true}\n'])
def test_scan_jsonl_refuses_a_file_it_did_not_write(bad: bytes) -> None:
    """A whole record that is not an entry means someone else wrote the file: refuse to resume."""
    with pytest.raises(FileError, match="record 2"):
        scan_jsonl(lines(jsonl_line(log(1)) + bad), name="out.jsonl")


def test_scan_csv_reads_ids_past_multiline_fields() -> None:
    """CSV records with quoted newlines count once; a record cut inside quotes is the partial tail."""
    tricky = csv_row(log(5, comment='line one\r\nline "two"\n'))
    cut = csv_row(log(6, comment="a\nb"))[:-8]
    data = csv_header() + tricky + csv_row(log(4)) + cut
    scan = scan_csv(lines(data), name="out.csv")
    scan.total_size = len(data)
    assert (scan.ids, scan.records, scan.has_header) == ({5, 4}, 2, True)
    assert scan.partial == len(cut)


def test_scan_csv_of_an_empty_or_headless_file() -> None:
    """An empty file, or one whose header was cut, has no header yet: the export writes it again."""
    assert not scan_csv([], name="out.csv").has_header
    assert not scan_csv(lines(csv_header()[:10]), name="out.csv").has_header


def test_scan_csv_refuses_another_header() -> None:
    """A CSV that does not start with this version's header is not resumed."""
    with pytest.raises(FileError, match="header"):
        scan_csv(lines(b"a,b,c\r\n1,2,3\r\n"), name="out.csv")


def test_follow_state_round_trips() -> None:
    """The checkpoint file keeps the checkpoint, the source and the output's size."""
    checkpoint = Checkpoint(high_water=1781602887)
    checkpoint.advance(log(10))
    state = FollowState(checkpoint, base_url="https://x", account_id=3, output="/srv/audit/out.jsonl", output_size=123)
    again = FollowState.from_json(state.to_json(), name="cp")
    assert again == state
    assert again.checkpoint.to_json() == checkpoint.to_json()


def test_follow_state_reads_a_librarys_bare_checkpoint() -> None:
    """A Checkpoint.to_json() written with the library can be taken over by the command."""
    checkpoint = Checkpoint(high_water=1781602887, overlap=60)
    state = FollowState.from_json(checkpoint.to_json(), name="cp")
    assert state.checkpoint == checkpoint
    assert (state.base_url, state.account_id) == (None, None)
    state.check_source("https://x", 1, name="cp")
    assert state == FollowState(checkpoint, base_url="https://x", account_id=1)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"format": 7}',
        '{"kind": "chatwoot-audit follow checkpoint", "format": 1, "checkpoint": {}}',
        '{"kind": "chatwoot-audit follow checkpoint", "format": 1, "output_size": -1, '
        '"checkpoint": {"format": 1, "high_water": null, "overlap": 300, "recent": []}}',
    ],
)
def test_a_malformed_checkpoint_is_a_file_error(text: str) -> None:
    """A checkpoint file that cannot be read stops the follower with exit 7, not a traceback."""
    with pytest.raises(FileError, match="move it away to start over"):
        FollowState.from_json(text, name="cp")


def test_a_checkpoint_belongs_to_one_account() -> None:
    """Following another server or account with the same checkpoint is refused."""
    state = FollowState(Checkpoint(), base_url="https://x", account_id=1)
    state.check_source("https://x", 1, name="cp")
    with pytest.raises(UsageError, match="give each account its own --checkpoint"):
        state.check_source("https://x", 2, name="cp")

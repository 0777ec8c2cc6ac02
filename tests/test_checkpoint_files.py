"""Checkpoint files: saved atomically, one format shared with ``chatwoot-audit follow``; ``export --resume`` alone."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import clean_env, count_lines, run_cli, serving, start_cli, stop, wait_for

from chatwoot_audit import AuditLog, Checkpoint
from chatwoot_audit._cli._exits import UsageError
from chatwoot_audit._cli._export import take_stored
from chatwoot_audit._cli._follow import FollowState
from chatwoot_audit._cli._parser import build_parser
from chatwoot_audit._cli._resume import ExportParams, reconcile
from chatwoot_audit._errors import InvalidArgumentError

STAMP = 1781602887


def entry(entry_id: int, created_at: int = STAMP) -> AuditLog:
    """A minimal audit-log entry."""
    return AuditLog(id=entry_id, action="update", created_at=datetime.fromtimestamp(created_at, UTC))


def advanced() -> Checkpoint:
    """A checkpoint with a high-water mark and recent ids."""
    checkpoint = Checkpoint(overlap=120)
    for entry_id in (7, 8, 9):
        checkpoint.advance(entry(entry_id, STAMP + entry_id), now=STAMP + 60)
    return checkpoint


def test_save_then_load_round_trips(tmp_path: Path) -> None:
    """What save() writes, load() reads back equal, from a str or a Path."""
    checkpoint = advanced()
    checkpoint.save(tmp_path / "state.json")
    assert Checkpoint.load(tmp_path / "state.json") == checkpoint
    assert Checkpoint.load(str(tmp_path / "state.json")) == checkpoint
    assert (tmp_path / "state.json").read_text() == checkpoint.to_json() + "\n"


def test_save_replaces_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """A second save replaces the first; only the target is left in the folder."""
    path = tmp_path / "state.json"
    Checkpoint().save(path)
    advanced().save(path)
    assert Checkpoint.load(path) == advanced()
    assert os.listdir(tmp_path) == ["state.json"]


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A rename that fails leaves the old checkpoint whole and no temporary file behind."""
    path = tmp_path / "state.json"
    Checkpoint(overlap=60).save(path)

    def refuse(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space"):
        advanced().save(path)
    assert Checkpoint.load(path) == Checkpoint(overlap=60)
    assert os.listdir(tmp_path) == ["state.json"]


def test_save_flushes_the_file_and_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The data is fsynced before the rename and the folder after it."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync-dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "fsync-file")
        real_fsync(fd)

    def replace(src: Any, dst: Any) -> None:
        events.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    advanced().save(tmp_path / "state.json")
    assert events[:2] == ["fsync-file", "rename"]
    if os.path.isdir("/proc/self/fd"):
        assert events[2:] == ["fsync-dir"]


def test_load_reads_follows_file(tmp_path: Path) -> None:
    """follow's envelope (server, account, output size around the checkpoint) loads as the checkpoint."""
    state = FollowState(advanced(), base_url="https://x", account_id=3, output="/o.jsonl", output_size=10)
    (tmp_path / "cp.json").write_text(state.to_json())
    assert Checkpoint.load(tmp_path / "cp.json") == advanced()


def test_follow_reads_a_saved_checkpoint(tmp_path: Path) -> None:
    """A file saved by the library is one follow takes over (adopting its first run's server and account)."""
    advanced().save(tmp_path / "cp.json")
    state = FollowState.from_json((tmp_path / "cp.json").read_bytes(), name="cp.json")
    assert state.checkpoint == advanced()
    assert (state.base_url, state.account_id) == (None, None)


def test_follow_writes_what_load_reads(tmp_path: Path) -> None:
    """A follow run's checkpoint file, read by the library: the entries it delivered are not delivered again."""
    with serving(tmp_path, seed=3, entries=30) as served:
        cp = tmp_path / "cp.json"
        done = run_cli(
            served.auth("follow", "--once", "--checkpoint", str(cp), "-o", str(tmp_path / "o.jsonl")), served.env
        )
        assert done.returncode == 0, done.stderr
        checkpoint = Checkpoint.load(cp)
        with served.emulator.client() as client:
            assert list(client.logs_after(checkpoint)) == []
        assert served.token not in cp.read_text()


@pytest.mark.parametrize(
    ("text", "match"),
    [("", "is not a checkpoint"), ("[1]", "not a chatwoot-audit checkpoint"), ('{"format": 1}', "missing")],
)
def test_load_refuses_what_is_not_a_checkpoint(tmp_path: Path, text: str, match: str) -> None:
    """A file that is not a checkpoint is an InvalidArgumentError (a ValueError) naming the file."""
    (tmp_path / "cp.json").write_text(text)
    with pytest.raises(InvalidArgumentError, match=match) as caught:
        Checkpoint.load(tmp_path / "cp.json")
    assert "cp.json" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_load_of_a_missing_file_is_file_not_found(tmp_path: Path) -> None:
    """The first run's case: FileNotFoundError, so a caller starts with Checkpoint()."""
    with pytest.raises(FileNotFoundError):
        Checkpoint.load(tmp_path / "none.json")


STORED = ExportParams(
    base_url="https://chat.example.com",
    account_id=3,
    format="csv",
    since="2026-06-01T00:00:00Z",
    since_arg="2026-06-01",
    filters={"actions": ["sign_in"], "types": [], "user_ids": [4], "usernames": ["a@b.example"]},
    spreadsheet_safe=True,
)


def parsed(*flags: str) -> Any:
    """The export command's arguments for ``flags``."""
    return build_parser().parse_args(["export", "-o", "out.csv", "--resume", *flags])


def test_resume_alone_takes_every_stored_parameter() -> None:
    """With no other flag, the stored server, account, format, window, filters and switch are used."""
    args = parsed()
    take_stored(args, STORED, {})
    assert (args.base_url, args.account_id, args.format) == ("https://chat.example.com", 3, "csv")
    assert (args.since, args.until, args.spreadsheet_safe) == ("2026-06-01", None, True)
    assert (args.action, args.type, args.user) == (["sign_in"], None, ["4", "a@b.example"])


def test_resume_keeps_given_flags_and_the_environment() -> None:
    """A given flag, or a server named by the environment, stays: reconcile compares it with the stored one."""
    args = parsed("--format", "jsonl", "--action", "create")
    take_stored(args, STORED, {"CHATWOOT_BASE_URL": "https://other.example.com"})
    assert (args.base_url, args.format, args.action) == (None, "jsonl", ["create"])
    wanted = ExportParams(base_url="https://other.example.com", account_id=3, format="jsonl")
    with pytest.raises(UsageError, match=r"--base-url was 'https://chat.example.com', now 'https://other"):
        reconcile(STORED, wanted)


def test_export_resume_alone_continues_an_interrupted_export(tmp_path: Path) -> None:
    """Killed partway, `export -o FILE --resume` with no server, account or other flag completes it."""
    with serving(tmp_path, seed=8, entries=400, latency=0.03) as served:
        out = tmp_path / "audit.csv"
        flags = ["export", "-o", str(out), "--action", "update,create", "--concurrency", "1"]
        process = start_cli(served.auth(*flags), served.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda: count_lines(out) >= 20, what="the first records")
            assert process.poll() is None, "the export ended before it could be interrupted"
            process.send_signal(signal.SIGKILL)
            stop(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        served.emulator.latency = 0
        bare = clean_env()
        refused = run_cli(served.auth("export", "-o", str(out), "--resume", "--action", "create"), bare)
        assert refused.returncode == 2
        assert "the filters (--action, --type, --user) was" in refused.stderr
        done = run_cli(served.auth("export", "-o", str(out), "--resume"), bare)
        assert done.returncode == 0, done.stderr
        assert "resuming:" in done.stderr
        wanted = {e["id"] for e in served.emulator.entries if e["action"] in ("update", "create")}
        with out.open(newline="") as handle:
            ids = [int(row["id"]) for row in csv.DictReader(handle)]
        assert len(ids) == len(set(ids)) == len(wanted)
        assert set(ids) == wanted

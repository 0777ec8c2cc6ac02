"""chatwoot_audit.archive: entries and checkpoint in one SQLite file, every entry once, the layout versioned."""

from __future__ import annotations

import copy
import itertools
import logging
import math
import signal
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import anyio
import pytest
from _cli_helpers import run_cli, serving, start_cli, stop, wait_for
from _rows import ACCOUNT_USER_UPDATE, SIGN_IN
from hypothesis import given, settings
from test_convert import valid_rows

from chatwoot_audit import AuditLog, AuthenticationError, Checkpoint
from chatwoot_audit._archive_schema import APPLICATION_ID, SCHEMA_VERSION
from chatwoot_audit.archive import (
    Archive,
    ArchiveError,
    ArchiveVersionError,
    AsyncArchive,
    SyncResult,
    server_key,
)
from chatwoot_audit.testing import Emulator


def ids_in(path: Path, sql: str = "SELECT id FROM audit_logs") -> list[Any]:
    """The first column of ``sql`` over the file, read by a connection of its own."""
    with sqlite3.connect(path) as conn:
        out = [row[0] for row in conn.execute(sql)]
    conn.close()
    return out


def without_auditable(entries: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Entries by id, but for ``auditable``: the server renders the record as it is now, the archive as it was."""
    return {entry["id"]: {key: value for key, value in entry.items() if key != "auditable"} for entry in entries}


def test_a_first_sync_loads_everything_and_later_ones_only_what_is_new(tmp_path: Path) -> None:
    """The whole history, then arrivals and late commits; the file reads back as the API's entries."""
    emu = Emulator(seed=1, entries=230, per_page=15)
    with emu.client() as client, Archive(tmp_path / "audit.sqlite", batch_size=40) as archive:
        first = archive.sync(client)
        assert first == SyncResult("https://chatwoot.test", emu.account_id, 230, 230)
        emu.add_entries(3)
        emu.add_late_entries(2)
        assert archive.sync(client).inserted == 5
        assert archive.sync(client).inserted == 0
        stored = archive.entries(client)
        assert without_auditable([log.to_dict() for log in stored]) == without_auditable(emu.entries)
        assert [(log.created_at, log.id) for log in stored] == sorted((log.created_at, log.id) for log in stored)
        checkpoint = archive.checkpoint(client)
        assert checkpoint is not None
        assert checkpoint.high_water == max(entry["created_at"] for entry in emu.entries)


def test_an_error_mid_walk_keeps_what_was_read_and_the_rerun_repeats_nothing(tmp_path: Path) -> None:
    """A refusal partway raises; the rows read before it are committed with their checkpoint, then resumed."""
    emu = Emulator(seed=2, entries=400, per_page=10, faults={14: "401"})
    path = tmp_path / "audit.sqlite"
    with emu.client() as client, Archive(path, batch_size=5) as archive:
        with pytest.raises(AuthenticationError):
            archive.sync(client)
        kept = len(ids_in(path))
        assert 0 < kept < 400
        again = archive.sync(client)
    assert again.delivered == again.inserted == 400 - kept
    assert sorted(ids_in(path)) == sorted(entry["id"] for entry in emu.entries)


def test_since_applies_to_a_first_sync_only(tmp_path: Path) -> None:
    """A first sync from ``since`` skips older history; once the account has a checkpoint, since is ignored."""
    emu = Emulator(seed=3, entries=120)
    entries = emu.entries
    middle = AuditLog.from_dict(entries[60]).created_at
    with emu.client() as client, Archive(tmp_path / "audit.sqlite") as archive:
        archive.sync(client, since=middle)
        expected = {entry["id"] for entry in entries if AuditLog.from_dict(entry).created_at >= middle}
        assert {log.id for log in archive.entries(client)} == expected
        assert archive.sync(client, since=AuditLog.from_dict(entries[-1]).created_at).inserted == 0


def test_accounts_and_servers_share_one_file(tmp_path: Path) -> None:
    """Rows and checkpoints are keyed by server and account: the same ids elsewhere are other entries."""
    one, other = Emulator(seed=4, entries=50), Emulator(seed=4, entries=50, account_id=9)
    path = tmp_path / "audit.sqlite"
    with Archive(path) as archive:
        for emu, base_url in ((one, "https://a.example"), (one, "https://b.example"), (other, "https://a.example")):
            with emu.client(base_url=base_url) as client:
                assert archive.sync(client).inserted == 50
        assert len(archive.entries()) == 150
    keys = ids_in(path, "SELECT server || ' ' || account_id FROM sources ORDER BY 1")
    assert keys == ["https://a.example 1", "https://a.example 9", "https://b.example 1"]


@pytest.mark.parametrize(
    ("base_url", "key"),
    [
        ("https://Chat.Example.com:443/", "https://chat.example.com"),
        ("https://chat.example.com:8443/chatwoot/", "https://chat.example.com:8443/chatwoot"),
        ("http://127.0.0.1:3000", "http://127.0.0.1:3000"),
        ("https://user:secret@chat.example.com?x=1#y", "https://chat.example.com"),
        ("https://[::1]:8080", "https://[::1]:8080"),
    ],
)
def test_the_server_key_is_the_normalised_base_url_without_secrets(base_url: str, key: str) -> None:
    """Case, default port, trailing slash, credentials, query and fragment do not make another server."""
    assert server_key(base_url) == key


@given(valid_rows())
@settings(max_examples=150, deadline=None)
def test_any_entry_reads_back_from_its_row(row: dict[str, Any]) -> None:
    """An entry of any valid shape, unknown keys and 64-bit edges included, is the same entry read back."""
    log = AuditLog.from_dict(copy.deepcopy(row))
    with Archive(":memory:") as archive:
        archive._store.write("https://x.example", 1, [log], Checkpoint().to_json())
        (back,) = archive.entries()
    assert back == log
    assert back.extra == log.extra


def test_values_sqlite_cannot_hold_are_kept_readable() -> None:
    """A lone surrogate and NaN (which Python's JSON reads) do not stop a sync; JSON columns stay exact JSON."""
    odd = AuditLog.from_dict(
        {**ACCOUNT_USER_UPDATE, "username": "a\ud800b", "auditable": {"name": "x\udfff"}, "score": math.nan}
    )
    with Archive(":memory:") as archive:
        archive._store.write("https://x.example", 1, [odd, AuditLog.from_dict(SIGN_IN)], Checkpoint().to_json())
        (back, _) = sorted(archive.entries(), key=lambda log: log.id != odd.id)
        conn = archive._store.conn
        valid = conn.execute("SELECT json_valid(auditable), json_valid(extra) FROM audit_logs WHERE id = ?", (odd.id,))
        assert valid.fetchone() == (1, 1)
    assert back.username == "a\\ud800b"  # as a CSV export writes it
    assert back.auditable == {"name": "x\udfff"}
    assert back.extra == {"score": None}


def test_the_changes_view_spreads_audited_changes_by_action(tmp_path: Path) -> None:
    """update: old and new; create: new; destroy: old; sign-ins have no changes."""
    entries = [
        {**ACCOUNT_USER_UPDATE, "id": 1, "audited_changes": {"role": [0, 1], "availability": [1, 0]}},
        {**ACCOUNT_USER_UPDATE, "id": 2, "action": "create", "audited_changes": {"role": 0, "tags": [1, 2]}},
        {**ACCOUNT_USER_UPDATE, "id": 3, "action": "destroy", "audited_changes": {"role": "agent"}},
        {**SIGN_IN, "id": 4},
    ]
    with Archive(tmp_path / "a.sqlite") as archive:
        archive._store.write("https://x.example", 1, [AuditLog.from_dict(e) for e in entries], Checkpoint().to_json())
        rows = archive._store.conn.execute(
            "SELECT id, field, old, new FROM audit_changes ORDER BY id, field"
        ).fetchall()
    assert rows == [
        (1, "availability", 1, 0),
        (1, "role", 0, 1),
        (2, "role", None, 0),
        (2, "tags", None, "[1,2]"),
        (3, "role", "agent", None),
    ]


V1_FILE = """
CREATE TABLE sources (server TEXT NOT NULL, account_id INTEGER NOT NULL, checkpoint TEXT NOT NULL,
    first_synced_at TEXT NOT NULL, last_synced_at TEXT NOT NULL, PRIMARY KEY (server, account_id));
CREATE TABLE audit_logs (server TEXT NOT NULL, account_id INTEGER NOT NULL, id INTEGER NOT NULL,
    auditable_id INTEGER, auditable_type TEXT, auditable TEXT, associated_id INTEGER, associated_type TEXT,
    user_id INTEGER, user_type TEXT, username TEXT, action TEXT NOT NULL, audited_changes TEXT, version INTEGER,
    comment TEXT, request_uuid TEXT, remote_address TEXT, created_at TEXT NOT NULL,
    created_at_unix INTEGER NOT NULL, extra TEXT, PRIMARY KEY (server, account_id, id));
CREATE INDEX audit_logs_created_at ON audit_logs (created_at);
CREATE INDEX audit_logs_auditable ON audit_logs (auditable_type, auditable_id);
CREATE INDEX audit_logs_user_id ON audit_logs (user_id);
CREATE INDEX audit_logs_action ON audit_logs (action);
INSERT INTO audit_logs (server, account_id, id, auditable_id, auditable_type, action, audited_changes, created_at,
    created_at_unix) VALUES ('https://chatwoot.test', 1, 7, 5, 'AccountUser', 'update', '{"role":[0,1]}',
    '2026-06-16T09:41:27Z', 1781602887);
PRAGMA application_id = 1129791829;
PRAGMA user_version = 1;
"""


def test_a_version_1_file_is_migrated(tmp_path: Path) -> None:
    """A file of the first release's layout gains the changes view; its rows stay."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_FILE)
    conn.close()
    assert APPLICATION_ID == 1129791829
    with Archive(path) as archive:
        changes = archive._store.conn.execute("SELECT id, field, old, new FROM audit_changes").fetchall()
    assert changes == [(7, "role", 0, 1)]
    assert ids_in(path, "PRAGMA user_version") == [SCHEMA_VERSION]


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    """A layout this version does not know is left alone, with what to do about it."""
    path = tmp_path / "new.sqlite"
    Archive(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(ArchiveVersionError, match=r"newer chatwoot-audit .* upgrade chatwoot-audit") as caught:
        Archive(path)
    assert (caught.value.found, caught.value.supported) == (SCHEMA_VERSION + 1, SCHEMA_VERSION)
    assert ids_in(path, "PRAGMA user_version") == [SCHEMA_VERSION + 1]


def test_other_files_are_refused(tmp_path: Path) -> None:
    """Another program's database and a file that is no database are not taken for archives."""
    theirs = tmp_path / "theirs.sqlite"
    with sqlite3.connect(theirs) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(ArchiveError, match="not a chatwoot-audit archive"):
        Archive(theirs)
    text = tmp_path / "notes.txt"
    text.write_text("not a database, but long enough to have a header's worth of bytes in it\n" * 3)
    with pytest.raises(ArchiveError, match=r"notes\.txt"):
        Archive(text)


def test_follow_polls_and_waits_out_an_outage(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Each poll yields its result; a 503 is logged and the next poll goes on."""
    emu = Emulator(seed=5, entries=30)
    with emu.client(max_retries=0) as client, Archive(tmp_path / "a.sqlite") as archive:
        polls = archive.follow(client, interval=0.001)
        assert next(polls).inserted == 30
        emu.add_entries(2)
        emu.faults = {emu.request_count + 1: "503"}
        with caplog.at_level(logging.WARNING, logger="chatwoot_audit"):
            assert next(polls).inserted == 2
        assert "syncing audit logs failed" in caplog.text
        assert [result.inserted for result in itertools.islice(polls, 2)] == [0, 0]
        polls.close()


@pytest.mark.anyio
async def test_the_async_twin_syncs_and_follows(tmp_path: Path) -> None:
    """AsyncArchive: the same rows and checkpoint as the sync archive, written from worker threads."""
    emu = Emulator(seed=6, entries=140, per_page=15)
    path = tmp_path / "audit.sqlite"
    async with emu.async_client() as client, AsyncArchive(path, batch_size=20) as archive:
        assert (await archive.sync(client)).inserted == 140
        emu.add_entries(4)
        polls = archive.follow(client, interval=0.001)
        assert (await anext(polls)).inserted == 4
        assert (await anext(polls)).inserted == 0
        await polls.aclose()
        checkpoint = await archive.checkpoint(client)
    assert checkpoint is not None
    assert sorted(ids_in(path)) == sorted(entry["id"] for entry in emu.entries)


@pytest.mark.anyio
async def test_a_cancelled_async_sync_keeps_what_it_read(tmp_path: Path) -> None:
    """Cancelled mid-walk, the entries read are committed with their checkpoint; the next sync adds the rest."""
    emu = Emulator(seed=7, entries=1000, per_page=10)
    path = tmp_path / "audit.sqlite"
    async with emu.async_client() as client, AsyncArchive(path, batch_size=1000) as archive:
        with anyio.CancelScope() as scope:

            def cancel_partway(number: int) -> None:
                if number == 40:  # entries have been read by then, not all of them
                    scope.cancel()

            emu.faults = cancel_partway
            emu.latency = 0.001  # answers that wait, so that the walk reaches an await after the cancel
            await archive.sync(client)
        assert scope.cancelled_caught
        emu.configure(faults=None, latency=0)
        kept = len(ids_in(path))
        assert 0 < kept < 1000
        again = await archive.sync(client)
    assert again.inserted == again.delivered == 1000 - kept
    assert sorted(ids_in(path)) == sorted(entry["id"] for entry in emu.entries)


def test_the_command_syncs_reruns_and_refuses_a_newer_file(tmp_path: Path) -> None:
    """sync --into twice (the second adds nothing), then exit 7 with a clear line for a newer layout."""
    with serving(tmp_path, seed=8, entries=90) as served:
        into = tmp_path / "audit.sqlite"
        first = run_cli(served.auth("sync", "--into", str(into)), served.env)
        assert first.returncode == 0, first.stderr
        assert "synced 90 new entries" in first.stderr
        again = run_cli(served.auth("sync", "--into", str(into)), served.env)
        assert "synced 0 new entries" in again.stderr
        assert served.token not in first.stderr + again.stderr
        with sqlite3.connect(into) as conn:
            conn.execute("PRAGMA user_version = 99")
        conn.close()
        refused = run_cli(served.auth("sync", "--into", str(into)), served.env)
    assert refused.returncode == 7
    assert "newer chatwoot-audit (archive schema 99" in refused.stderr


def test_the_command_follows_until_sigterm(tmp_path: Path) -> None:
    """sync --follow adds arrivals poll after poll and stops cleanly on SIGTERM, exit 0."""
    with serving(tmp_path, seed=9, entries=40) as served:
        into = tmp_path / "audit.sqlite"
        with (tmp_path / "stderr").open("wb") as err:
            process = start_cli(
                served.auth("sync", "--into", str(into), "--follow", "--interval", "0.05"),
                served.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                wait_for(lambda: "synced 40 new entries" in (tmp_path / "stderr").read_text(), what="the first poll")
                served.emulator.add_entries(3)
                wait_for(lambda: "synced 3 new entries" in (tmp_path / "stderr").read_text(), what="a later poll")
                process.send_signal(signal.SIGTERM)
                assert stop(process) == 0
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
        assert "stopped;" in (tmp_path / "stderr").read_text()
        assert sorted(ids_in(into)) == sorted(entry["id"] for entry in served.emulator.entries)

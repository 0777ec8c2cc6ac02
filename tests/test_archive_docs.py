"""docs/archive.md runs as written: its commands, its SQL and its Python, in order, against one emulator.

Each compliance query's answer is checked against the same question answered in Python from the
emulator's own entries, not from the archive.
"""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import Served, run_cli, serving, start_cli, stop, wait_for

from chatwoot_audit import AuditLog
from chatwoot_audit._cli._times import format_time

DOC = Path(__file__).resolve().parent.parent / "docs" / "archive.md"
BLOCKS = re.findall(r"```(sh|sql|python)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)
ROLE = {0: "agent", 1: "administrator"}

Rows = list[tuple[Any, ...]]


def logs_of(served: Served) -> list[AuditLog]:
    return [AuditLog.from_dict(entry) for entry in served.emulator.entries]


def months_back(now: datetime, months: int) -> datetime:
    index = now.year * 12 + now.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def role_changes(served: Served, rows: Rows) -> None:
    now = datetime.now(UTC)
    start, end = months_back(now, 1), months_back(now, 0)
    expected = [
        (format_time(log.created_at), log.username, log.auditable_id, ROLE[old], ROLE[new])
        for log in sorted(logs_of(served), key=lambda log: log.created_at)
        if log.auditable_type == "AccountUser" and start <= log.created_at < end
        for field, (old, new) in log.changes().items()
        if field == "role"
    ]
    assert expected
    assert sorted(rows) == sorted(expected)


def deletions(served: Served, rows: Rows) -> None:
    expected = Counter(
        (log.username or "(system)", log.auditable_type) for log in logs_of(served) if log.action == "destroy"
    )
    assert expected
    assert {(who, kind): count for who, kind, count, _, _ in rows} == dict(expected)


def inboxes_deleted(served: Served, rows: Rows) -> None:
    expected = [log.id for log in logs_of(served) if log.action == "destroy" and log.auditable_type == "Inbox"]
    assert expected
    assert len(rows) == len(expected)
    assert all(isinstance(name, str) for *_, name in rows)


def sign_ins(served: Served, rows: Rows) -> None:
    expected = Counter((log.username, log.remote_address) for log in logs_of(served) if log.action == "sign_in")
    assert expected
    assert {(who, where): count for who, where, count, _, _ in rows} == dict(expected)


def new_addresses(served: Served, rows: Rows) -> None:
    firsts: dict[tuple[int | None, str | None], datetime] = {}
    for log in logs_of(served):
        if log.action == "sign_in":
            key = (log.user_id, log.remote_address)
            firsts[key] = min(firsts.get(key, log.created_at), log.created_at)
    week_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=7)
    expected = {
        (address, first)
        for (user, address), first in firsts.items()
        if first >= week_ago and first > min(f for (u, _), f in firsts.items() if u == user)
    }
    assert {(address, first) for _, address, first in rows} == {(a, format_time(f)) for a, f in expected}


CHECKS: dict[str, Callable[[Served, Rows], None]] = {
    "role changes last month": role_changes,
    "deletions by user": deletions,
    "inboxes deleted": inboxes_deleted,
    "sign-ins by address": sign_ins,
    "sign-ins from a new address": new_addresses,
}


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """An emulator on loopback, named by the CHATWOOT_* variables; the examples run in a folder of their own."""
    with serving(tmp_path, seed=11, entries=3000) as served:
        served.env["CHATWOOT_API_ACCESS_TOKEN"] = served.token
        for name in ("CHATWOOT_BASE_URL", "CHATWOOT_ACCOUNT_ID", "CHATWOOT_API_ACCESS_TOKEN"):
            monkeypatch.setenv(name, served.env[name])
        monkeypatch.chdir(tmp_path)
        yield served


def run_sh(served: Served, block: str, folder: Path) -> None:
    for line in block.splitlines():
        argv = shlex.split(line, comments=True)
        if not argv:
            continue
        if argv[0] == "sqlite3":
            run_sqlite3(argv, folder)
        elif "--follow" in argv:
            follow(served, argv[1:], folder)
        else:
            assert argv[0] == "chatwoot-audit", line
            done = run_cli(argv[1:], served.env, cwd=folder)
            assert done.returncode == 0, done.stderr
            assert "synced" in done.stderr


def run_sqlite3(argv: list[str], folder: Path) -> None:
    if shutil.which("sqlite3"):
        done = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip()
        return
    with sqlite3.connect(folder / argv[1]) as conn:
        assert conn.execute(argv[2]).fetchall()
    conn.close()


def follow(served: Served, args: list[str], folder: Path) -> None:
    """The polling form: a poll picks up an arrival, then SIGTERM stops it cleanly."""
    served.emulator.add_entries(2)
    errors = folder / "follow.stderr"
    with errors.open("wb") as err:
        process = start_cli(args, served.env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_for(lambda: "synced 2 new entries" in errors.read_text(), what="a poll")
            process.send_signal(signal.SIGTERM)
            assert stop(process) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


def run_sql(served: Served, block: str, folder: Path) -> None:
    title = block.splitlines()[0].removeprefix("--").strip()
    with sqlite3.connect(folder / "audit.sqlite") as conn:
        rows = conn.execute(block).fetchall()
    conn.close()
    CHECKS[title](served, rows)


def test_the_doc_shows_the_commands_and_the_questions() -> None:
    """Both commands, each compliance query, the library and its async twin are in the doc."""
    kinds = [kind for kind, _ in BLOCKS]
    assert kinds[0] == "sh"
    assert "chatwoot-audit sync --into audit.sqlite" in BLOCKS[0][1]
    assert "sqlite3 audit.sqlite" in BLOCKS[0][1]
    titles = {code.splitlines()[0].removeprefix("--").strip() for kind, code in BLOCKS if kind == "sql"}
    assert titles == set(CHECKS)
    python = "\n".join(code for kind, code in BLOCKS if kind == "python")
    for name in ("Archive(", "AsyncArchive(", "sqlite3.connect"):
        assert name in python


def test_every_block_runs_in_order(served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Commands, then queries answered as Python answers them from the emulator, then the Python examples."""
    for index, (kind, code) in enumerate(BLOCKS):
        if kind == "sh":
            run_sh(served, code, tmp_path)
        elif kind == "sql":
            run_sql(served, code, tmp_path)
        else:
            namespace: dict[str, Any] = {"__name__": f"archive_doc_{index}"}
            exec(compile(code, f"{DOC}:block{index}", "exec"), namespace)  # noqa: S102 - the doc's own examples
            assert capsys.readouterr().out.strip()
    with sqlite3.connect(tmp_path / "audit.sqlite") as conn:
        ids = sorted(row[0] for row in conn.execute("SELECT id FROM audit_logs"))
    conn.close()
    assert ids == sorted(entry["id"] for entry in served.emulator.entries)

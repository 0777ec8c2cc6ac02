"""kill -9 at random moments of ``chatwoot-audit sync --into``, then a rerun: every entry in the file exactly once.

Each trial kills a first sync once a random number of rows is committed, then a ``--follow`` once a random
number more has come in, while the emulator writes new entries, commits some late and reorders ties on
every request; a last sync then completes. The file must hold every id the emulator holds, once, and no
run may have been handed an entry the file already held: the checkpoint committed with the rows, not the
unique key, is what keeps entries from coming twice.
"""

from __future__ import annotations

import random
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
from _cli_helpers import Served, run_cli, serving, start_cli, stop, wait_for

TRIALS = 20
ENTRIES = 240


def rows(path: Path) -> int:
    """Rows committed to the archive so far (0 before it has its tables)."""
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            count: int = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
        conn.close()
    except sqlite3.OperationalError:  # the tables are not there yet
        return 0
    return count


def kill_when(served: Served, args: list[str], into: Path, target: int, stderr: Path) -> None:
    """Run the command and kill -9 it once ``into`` holds ``target`` rows (or it has ended by itself)."""
    with stderr.open("ab") as err:
        process = start_cli(served.auth(*args), served.env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            wait_for(lambda: process.poll() is not None or rows(into) >= target, timeout=30, what=f"{target} rows")
            process.kill()
            stop(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@pytest.mark.parametrize("trial", range(TRIALS))
def test_kill_9_during_a_first_sync_and_a_follow_then_a_rerun_leaves_every_entry_once(
    tmp_path: Path, trial: int
) -> None:
    """Killed outright at a random moment twice (first sync, then follow), a rerun leaves each id once."""
    rng = random.Random(trial)
    knobs = {
        "arrivals_per_request": 1,
        "late_commits_per_request": rng.choice([0, 1]),
        "late_window": (1, 60),
        "unstable_ties": True,
    }
    with serving(tmp_path, seed=100 + trial, entries=ENTRIES, per_page=10, latency=0.002, **knobs) as served:
        into = tmp_path / "audit.sqlite"
        log = tmp_path / "stderr"
        common = ["--into", str(into), "--batch-size", str(rng.randint(3, 20)), "--concurrency", "2"]
        kill_when(served, ["sync", *common], into, rng.randint(1, ENTRIES - 20), log)
        before = rows(into)
        follow = ["sync", *common, "--follow", "--interval", "0.02"]
        kill_when(served, follow, into, before + rng.randint(1, 30), log)

        served.emulator.configure(arrivals_per_request=0, late_commits_per_request=0)
        done = run_cli(served.auth("sync", *common), served.env)
        assert done.returncode == 0, done.stderr
        with sqlite3.connect(into) as conn:
            ids = [row[0] for row in conn.execute("SELECT id FROM audit_logs")]
        conn.close()
        assert len(ids) == len(set(ids))
        assert sorted(ids) == sorted(entry["id"] for entry in served.emulator.entries)
        said = log.read_text() + done.stderr
        assert not re.search(r"already there", said), said

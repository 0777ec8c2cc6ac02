"""The archive's cost: a first ``chatwoot-audit sync --into`` against ``chatwoot-audit export`` to JSON Lines.

    python scripts/_bench_archive.py [--entries N] [--repeat N]

Both commands run as the user runs them (a process each, the same concurrency) against the same emulator,
itself in a process of its own; each sync writes a new file, so every run is a first sync. The figure is
the ratio of their throughputs (goal >= 0.8): what a transaction per batch, the indexes and the JSON
columns cost over appending lines to a file.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import client, duel, emulator, report

from chatwoot_audit import Checkpoint


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("chatwoot-audit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "chatwoot_audit.cli"]


def _env(info: dict[str, Any]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.upper().endswith("_PROXY")}
    env.update(
        CHATWOOT_BASE_URL=info["base_url"],
        CHATWOOT_ACCOUNT_ID=str(info["account_id"]),
        CHATWOOT_API_ACCESS_TOKEN=info["api_access_token"],
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run([*_cli(), "-q", *args], env=env, check=True, timeout=600)


def bench_archive(entries: int, repeat: int) -> bool:
    """A first sync into a new archive / an export to JSON Lines, over the same emulator (goal >= 0.8)."""
    print(f"7. archive: {entries} entries, first sync into SQLite against export to JSON Lines")
    with emulator("--entries", str(entries)) as info, tempfile.TemporaryDirectory() as folder:
        env = _env(info)
        runs = iter(range(10**6))

        def export() -> int:
            out = Path(folder, "audit.jsonl")
            _run(["export", "--output", str(out), "--no-progress"], env)
            return out.read_bytes().count(b"\n")

        def sync() -> int:
            into = Path(folder, f"audit-{next(runs)}.sqlite")
            _run(["sync", "--into", str(into)], env)
            with sqlite3.connect(into) as conn:
                count: int = conn.execute("SELECT count(*) FROM audit_logs").fetchone()[0]
            conn.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{into}{suffix}").unlink(missing_ok=True)
            return count

        (export_s, n1), (sync_s, n2) = duel(repeat, export, sync)
        # Where the time goes: the walk a sync rides on (oldest first, from a checkpoint) against the one
        # an export rides on (newest first), in this process, with nothing written.
        with client(info) as sdk:
            (logs_s, _), (after_s, _) = duel(
                repeat,
                lambda: sum(1 for _ in sdk.logs(concurrency=4)),
                lambda: sum(1 for _ in sdk.logs_after(Checkpoint(), concurrency=4)),
            )
    assert n1 == n2 == entries, (n1, n2)
    ratio = (n2 / sync_s) / (n1 / export_s)
    return report(
        "sync --into / export to JSONL",
        ratio,
        ">= 0.8",
        ratio >= 0.8,
        f"({n2 / sync_s:,.0f} vs {n1 / export_s:,.0f} entries/s; the walks alone, logs_after / logs: "
        f"{logs_s / after_s:.2f})",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    return 0 if bench_archive(args.entries, args.repeat) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The progress bar: on stderr when it is a terminal (a pseudo-terminal here), absent otherwise."""

from __future__ import annotations

import os
import pty
import subprocess
import threading
from pathlib import Path

import pytest
from _cli_helpers import RUN_TIMEOUT, cli_command, run_cli, serving


def run_on_a_terminal(
    args: list[str], env: dict[str, str], tmp_path: Path, *, stdout_too: bool = False
) -> tuple[int, str]:
    """Run with stderr (and maybe stdout) on a pseudo-terminal; returns the status and what the terminal got."""
    master, slave = pty.openpty()
    received = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read, daemon=True)
    try:
        process = subprocess.Popen(
            [*cli_command(), *args],
            env={**env, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"},
            stdin=subprocess.DEVNULL,
            stdout=slave if stdout_too else subprocess.DEVNULL,
            stderr=slave,
            cwd=tmp_path,
        )
        os.close(slave)
        slave = -1
        reader.start()
        try:
            code = process.wait(RUN_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        reader.join(10)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return code, received.decode("utf-8", "replace")


@pytest.mark.parametrize("window", [[], ["--since", "2026-06-10"]], ids=["everything", "since"])
def test_a_terminal_gets_a_progress_bar(tmp_path: Path, window: list[str]) -> None:
    """On a terminal the export draws entries, pages, a bar and time left, then the summary."""
    with serving(tmp_path, seed=41, entries=400, latency=0.01) as served:
        args = served.auth("export", "--output", str(tmp_path / "out.jsonl"), "--concurrency", "2", *window)
        code, screen = run_on_a_terminal(args, served.env, tmp_path)
    assert code == 0, screen
    assert "Exporting" in screen
    assert "━" in screen
    assert " pages" in screen
    assert "\x1b[" in screen
    assert "chatwoot-audit: exported" in screen


def test_no_terminal_no_progress(tmp_path: Path) -> None:
    """Into a pipe or a file, stderr gets the one summary line and nothing else."""
    with serving(tmp_path, seed=42, entries=200, latency=0.01) as served:
        done = run_cli(served.auth("export", "--output", str(tmp_path / "out.jsonl")), served.env)
    assert done.returncode == 0
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("chatwoot-audit: exported 200 entries")
    assert "\x1b" not in done.stderr
    assert "━" not in done.stderr


@pytest.mark.parametrize("flag", ["--no-progress", "--quiet"])
def test_progress_can_be_turned_off_on_a_terminal(tmp_path: Path, flag: str) -> None:
    """--no-progress keeps the summary without the bar; --quiet prints nothing at all."""
    with serving(tmp_path, seed=43, entries=100) as served:
        args = served.auth("export", "--output", str(tmp_path / "out.jsonl"), flag)
        code, screen = run_on_a_terminal(args, served.env, tmp_path)
    assert code == 0
    assert "━" not in screen
    assert ("exported 100 entries" in screen) == (flag == "--no-progress")


def test_entries_on_the_same_terminal_get_no_bar(tmp_path: Path) -> None:
    """With entries printed to the terminal, the bar would garble them: none is drawn."""
    with serving(tmp_path, seed=44, entries=50) as served:
        code, screen = run_on_a_terminal(served.auth("export"), served.env, tmp_path, stdout_too=True)
    assert code == 0
    assert screen.count('{"id":') - screen.count('"auditable":{"id":') == 50
    assert "━" not in screen

"""Each retry logs one INFO line on ``chatwoot_audit``: what failed, which page and attempt, the wait; no token."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from _cli_helpers import run_cli, serving
from _support import async_client, sync_client

from chatwoot_audit.testing import Emulator

LINE = re.compile(r"^page (\d+), attempt (\d+): (.+); retrying in (\d+\.\d) s$")


def retry_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The retry records captured, in order."""
    return [r for r in caplog.records if r.name == "chatwoot_audit" and "retrying in" in r.getMessage()]


def test_each_retry_is_one_info_line(caplog: pytest.LogCaptureFixture) -> None:
    """A 429, a 502, a dropped connection and an HTML page: four lines, attempts 1 to 4, what failed in each."""
    emu = Emulator(seed=2, entries=5, faults={1: "429", 2: "502", 3: "drop", 4: "html200"})
    with caplog.at_level(logging.INFO, logger="chatwoot_audit"), sync_client(emu, "memory") as client:
        assert len(client.page(1).items) == 5
    records = retry_records(caplog)
    assert [r.levelno for r in records] == [logging.INFO] * 4
    matches = [LINE.match(r.getMessage()) for r in records]
    assert all(matches), [r.getMessage() for r in records]
    assert [(m[1], m[2]) for m in matches if m] == [("1", "1"), ("1", "2"), ("1", "3"), ("1", "4")]
    failures = [m[3] for m in matches if m]
    assert failures[0] == "429 Too Many Requests"
    assert failures[1] == "502 Bad Gateway"
    assert "GET https://" in failures[2]
    assert "not JSON" in failures[3]
    assert all(emu.admin_token not in r.getMessage() for r in caplog.records)


@pytest.mark.anyio
async def test_the_async_client_logs_the_same(caplog: pytest.LogCaptureFixture) -> None:
    """The async twin logs one INFO line per retry as well."""
    emu = Emulator(seed=2, entries=5, faults={1: "503", 2: "drop"})
    with caplog.at_level(logging.INFO, logger="chatwoot_audit"):
        async with async_client(emu, "memory") as client:
            await client.page(1)
    lines = [r.getMessage() for r in retry_records(caplog)]
    assert len(lines) == 2
    assert lines[0].startswith("page 1, attempt 1: 503 Service Unavailable; retrying in ")
    assert lines[1].startswith("page 1, attempt 2: GET ")


def test_no_line_without_a_retry(caplog: pytest.LogCaptureFixture) -> None:
    """A request that succeeds, or fails for good at once, logs no retry."""
    emu = Emulator(seed=2, entries=5, faults={2: "401"})
    with caplog.at_level(logging.INFO, logger="chatwoot_audit"), sync_client(emu, "memory") as client:
        client.page(1)
        with pytest.raises(Exception, match="401"):
            client.page(1)
    assert retry_records(caplog) == []


def test_the_cli_shows_retries_unless_quiet(tmp_path: Path) -> None:
    """The command prints each retry as one short line; --quiet hides them; the SDK's other notes stay hidden."""
    with serving(tmp_path, seed=4, entries=10, faults={1: "503"}) as served:
        shown = run_cli(served.auth("export", "-o", str(tmp_path / "a.jsonl")), served.env)
        assert shown.returncode == 0, shown.stderr
        lines = [line for line in shown.stderr.splitlines() if "retrying in" in line]
        assert len(lines) == 1
        assert re.fullmatch(
            r"chatwoot-audit: page \d+, attempt 1: 503 Service Unavailable; retrying in \d+\.\d s", lines[0]
        )
        assert served.token not in shown.stderr
    with serving(tmp_path, seed=4, entries=10, faults={1: "503"}) as served:
        quiet = run_cli(served.auth("export", "--quiet", "-o", str(tmp_path / "b.jsonl")), served.env)
        assert quiet.returncode == 0, quiet.stderr
        assert "retrying" not in quiet.stderr

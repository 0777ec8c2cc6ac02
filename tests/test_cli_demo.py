"""``demo``, ``emulator`` and life without the cli extra."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from _cli_helpers import RUN_TIMEOUT, clean_env, run_cli, running, stop

from chatwoot_audit._cli._demo import tally

# Proxies that would fail any request sent through them: the demo must not use them for loopback.
NO_PROXIES = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
}


def test_demo_needs_nothing_and_is_quick(tmp_path: Path) -> None:
    """With no configuration, demo exports 500 entries to ./chatwoot-audit-demo.jsonl and summarises them."""
    started = time.monotonic()
    done = run_cli(["demo"], clean_env(**NO_PROXIES), cwd=tmp_path)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    out = tmp_path / "chatwoot-audit-demo.jsonl"
    entries = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(entries) == len({entry["id"] for entry in entries}) == 500
    for heading in ("By action", "By type", "By user", "Exported 500 entries", str(out)):
        assert heading in done.stdout.replace("\n", "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatwoot-audit-demo.jsonl"]
    assert elapsed < 10


def test_demo_overwrites_its_output(tmp_path: Path) -> None:
    """--output picks the file, and an existing one is replaced, not appended to."""
    out = tmp_path / "demo.jsonl"
    out.write_text("old contents\n")
    done = run_cli(["demo", "--output", str(out), "--entries", "60", "--seed", "3"], clean_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 60
    assert "old contents" not in out.read_text()


def test_demo_prints_a_path_with_brackets_as_it_is(tmp_path: Path) -> None:
    """A path that looks like rich markup is printed literally, not parsed (a closing tag crashed the demo)."""
    folder = tmp_path / "x[/red]y"  # the folder "red]y" in the folder "x["
    folder.mkdir(parents=True)
    out = folder / "[bold]d.jsonl"
    done = run_cli(["demo", "-o", str(out), "--entries", "20"], clean_env(), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 20
    assert str(out) in done.stdout.replace("\n", "")
    assert "unexpected error" not in done.stderr


def test_tally_counts_by_action_type_and_user() -> None:
    """The demo's summary counts entries per action, type and user, system changes apart."""
    counts = tally(
        [
            {"action": "update", "auditable_type": "Team", "username": "a@x.example"},
            {"action": "update", "auditable_type": "Inbox", "username": None},
            {"action": "sign_in", "auditable_type": "User", "username": "a@x.example"},
        ]
    )
    assert counts["action"] == Counter({"update": 2, "sign_in": 1})
    assert counts["auditable_type"] == Counter({"Team": 1, "Inbox": 1, "User": 1})
    assert counts["user"] == Counter({"a@x.example": 2, "(system)": 1})


def test_emulator_command_serves_until_terminated(tmp_path: Path) -> None:
    """`chatwoot-audit emulator` is the standalone emulator: one JSON line, serves, exits 0 on SIGTERM."""
    with running(["emulator", "--entries", "12", "--seed", "4"], clean_env(), stderr=tmp_path / "stderr") as (
        process,
        reader,
    ):
        assert reader is not None
        line = json.loads(reader.take(1)[0])
        url = f"{line['base_url']}/api/v1/accounts/{line['account_id']}/audit_logs"
        with httpx.Client(timeout=10, trust_env=False) as client:
            page = client.get(url, headers={"api_access_token": line["api_access_token"]}).json()
        assert page["total_entries"] == 12
        process.terminate()
        assert stop(process) == 0


WITHOUT_RICH = "import sys; sys.modules['rich'] = None; from chatwoot_audit.cli import main; raise SystemExit(main())"


def test_without_the_cli_extra_help_works_and_commands_say_how_to_install() -> None:
    """Without rich: --help works; export, follow and demo exit 2 with the pip command."""
    env = clean_env(CHATWOOT_BASE_URL="http://127.0.0.1:9", CHATWOOT_ACCOUNT_ID="1")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", WITHOUT_RICH, *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)

    assert run("export", "--help").returncode == 0
    assert run("--help").returncode == 0
    for command in ("export", "follow", "demo"):
        done = run(command)
        assert done.returncode == 2
        assert "pip install 'chatwoot-audit[cli]'" in done.stderr
        assert "Traceback" not in done.stderr

"""The token never appears in anything the command writes: stdout, stderr (even with --debug), files."""

from __future__ import annotations

import subprocess
from pathlib import Path

from _cli_helpers import run_cli, running, serving, stop, wait_for

CANARY = "canary-TOKEN-7f3a9c2e5b1d"
# No HTTP header can carry it: refused before any request, and still never shown.
NON_ASCII_CANARY = "CANARY-tök-1234"


def written_files(tmp_path: Path) -> dict[str, bytes]:
    """Every file under ``tmp_path`` except the token file itself."""
    return {str(path): path.read_bytes() for path in tmp_path.rglob("*") if path.is_file() and path.name != "token"}


def assert_nowhere(secret: str, outputs: list[str], files: dict[str, bytes]) -> None:
    """``secret`` is in none of the outputs and none of the files."""
    for text in outputs:
        assert secret not in text
    for name, data in files.items():
        assert secret.encode() not in data, name


def test_a_refused_canary_token_is_never_shown(tmp_path: Path) -> None:
    """A token the server refuses is not echoed by export or follow, with or without --debug."""
    with serving(tmp_path, seed=51, entries=10) as served:
        served.token_file.write_text(CANARY + "\n")
        outputs: list[str] = []
        for args in (
            ["export"],
            ["export", "--debug", "--token-header", "Api-Access-Token"],
            ["follow", "--once", "--debug", "--checkpoint", str(tmp_path / "cp.json")],
        ):
            done = run_cli(served.auth(*args), served.env)
            assert done.returncode == 3, done.stderr
            outputs += [done.stdout, done.stderr]
        # The same token in the environment instead of a file.
        env = {**served.env, "CHATWOOT_API_ACCESS_TOKEN": CANARY}
        done = run_cli(["export", "--debug"], env)
        assert done.returncode == 3
        outputs += [done.stdout, done.stderr]
    assert any("Traceback" in text for text in outputs)
    assert_nowhere(CANARY, outputs, written_files(tmp_path))


def test_a_working_token_is_never_written(tmp_path: Path) -> None:
    """Successful exports, an interrupted one's state, and follow's checkpoint and output hold no token."""
    with serving(tmp_path, seed=52, entries=300, latency=0.02) as served:
        outputs: list[str] = []
        for args in (
            ["export", "--debug", "--format", "csv"],
            ["export", "--debug", "--output", str(tmp_path / "all.json")],
            ["follow", "--once", "--debug", "--checkpoint", str(tmp_path / "cp.json"), "-o", str(tmp_path / "f.jsonl")],
        ):
            done = run_cli(served.auth(*args), served.env)
            assert done.returncode == 0, done.stderr
            outputs += [done.stdout, done.stderr]
        out = tmp_path / "partial.jsonl"
        args = served.auth("export", "--debug", "--concurrency", "1", "--output", str(out))
        with running(args, served.env, stderr=tmp_path / "stderr", stdout=subprocess.DEVNULL) as (process, _):
            wait_for(lambda: out.exists() and out.stat().st_size > 0, what="the first entries")
            process.terminate()
            assert stop(process) == 143
        assert (tmp_path / "partial.jsonl.resume.json").exists()
        assert_nowhere(served.token, outputs, written_files(tmp_path))


def test_a_token_no_header_can_carry_is_refused_without_showing_it(tmp_path: Path) -> None:
    """A non-ASCII token is a configuration error (exit 2) in one line that shows no part of the token."""
    with serving(tmp_path, seed=53, entries=5) as served:
        served.token_file.write_text(NON_ASCII_CANARY + "\n", encoding="utf-8")
        outputs: list[str] = []
        for args in (
            ["export"],
            ["export", "--debug", "--output", str(tmp_path / "out.jsonl")],
            ["follow", "--once", "--debug", "--checkpoint", str(tmp_path / "cp.json")],
        ):
            done = run_cli(served.auth(*args), served.env)
            assert done.returncode == 2, done.stderr
            assert f"the API token in --token-file {served.token_file} must be visible ASCII" in done.stderr
            if "--debug" not in args:
                assert done.stderr.count("\n") == 1
            outputs += [done.stdout, done.stderr]
        env = {**served.env, "CHATWOOT_API_ACCESS_TOKEN": NON_ASCII_CANARY}
        done = run_cli(["export"], env)
        assert done.returncode == 2, done.stderr
        assert "the API token in CHATWOOT_API_ACCESS_TOKEN must be visible ASCII" in done.stderr
        outputs += [done.stdout, done.stderr]
    assert_nowhere(NON_ASCII_CANARY, outputs, written_files(tmp_path))
    for text in outputs:
        # Not blanked from a message that quoted it either: nothing tried to print any part of it.
        assert "<redacted>" not in text
        assert "CANARY" not in text
        assert "ö" not in text


def test_a_token_file_saved_with_a_bom_works(tmp_path: Path) -> None:
    """Notepad starts a UTF-8 file with a byte-order mark (and ends lines with CRLF): the token still works."""
    with serving(tmp_path, seed=54, entries=12) as served:
        served.token_file.write_bytes(b"\xef\xbb\xbf" + served.token.encode() + b"\r\n")
        done = run_cli(served.auth("export"), served.env)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 12

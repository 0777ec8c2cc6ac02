"""``chatwoot-audit export`` as installed, against the emulator on loopback: formats, windows, filters, resume."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from _cli_helpers import (
    answering,
    clean_env,
    count_lines,
    newest_first,
    run_cli,
    serving,
    start_cli,
    stop,
    wait_for,
)

FIELDS = [
    "id",
    "auditable_id",
    "auditable_type",
    "auditable",
    "associated_id",
    "associated_type",
    "user_id",
    "user_type",
    "username",
    "action",
    "audited_changes",
    "version",
    "comment",
    "request_uuid",
    "created_at",
    "remote_address",
]


def iso(seconds: int) -> str:
    """Unix seconds as the CSV shows them."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_cell(name: str, value: Any) -> str:
    """What the CSV must hold for an API value, worked out independently of the writer."""
    if value is None:
        return ""
    if name == "created_at":
        return iso(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def read_ids(path: Path, fmt: str) -> list[int]:
    """The ids in an output file, in file order, checking the file is valid in its format."""
    if fmt == "json":
        return [entry["id"] for entry in json.loads(path.read_text())]
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return [int(row["id"]) for row in rows]
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_json_formats_hold_exactly_the_apis_entries(tmp_path: Path, fmt: str) -> None:
    """JSONL and JSON files hold every entry, newest first, exactly as the API sent it."""
    with serving(tmp_path, seed=1, entries=260) as served:
        out = tmp_path / f"audit.{fmt}"
        done = run_cli(served.auth("export", "--output", str(out)), served.env)
        assert done.returncode == 0, done.stderr
        if fmt == "json":
            exported = json.loads(out.read_text())
        else:
            exported = [json.loads(line) for line in out.read_text().splitlines()]
        assert exported == served.emulator.entries
        assert done.stdout == ""
        assert "exported 260 entries in" in done.stderr
        assert "11 pages" in done.stderr
        assert sorted(os.listdir(tmp_path)) == sorted(["token", out.name])


def test_jsonl_goes_to_stdout_by_default(tmp_path: Path) -> None:
    """Without --output the entries go to stdout as JSON Lines and only the summary to stderr."""
    with serving(tmp_path, seed=2, entries=60, per_page=15) as served:
        done = run_cli(served.auth("export", "--concurrency", "1"), served.env)
        assert done.returncode == 0, done.stderr
        assert [json.loads(line) for line in done.stdout.splitlines()] == served.emulator.entries
        assert done.stderr.splitlines() == [done.stderr.strip()]
        # Four full pages, and the read past them that shows the list ends.
        assert "(5 pages, 5 requests) to stdout" in done.stderr


def test_csv_has_every_field_in_the_servers_order(tmp_path: Path) -> None:
    """CSV: the API's fields as columns in order, then extra; nested objects as JSON text, ISO UTC times, null
    empty."""
    with serving(tmp_path, seed=3, entries=120) as served:
        done = run_cli(served.auth("export", "--format", "csv"), served.env)
        assert done.returncode == 0, done.stderr
        rows = list(csv.reader(done.stdout.splitlines()))
        assert rows[0] == [*FIELDS, "extra"]
        entries = served.emulator.entries
        assert len(rows) == len(entries) + 1
        for row, entry in zip(rows[1:], entries, strict=True):
            assert row == [*(expected_cell(name, entry[name]) for name in FIELDS), ""]


def test_output_suffix_picks_the_format(tmp_path: Path) -> None:
    """-o FILE.csv writes CSV without --format; -o - is stdout."""
    with serving(tmp_path, seed=4, entries=30) as served:
        out = tmp_path / "audit.csv"
        assert run_cli(served.auth("export", "-o", str(out)), served.env).returncode == 0
        assert out.read_text().startswith(",".join(FIELDS))
        dash = run_cli(served.auth("export", "-o", "-", "--format", "csv"), served.env)
        assert dash.stdout.replace("\r\n", "\n") == out.read_text().replace("\r\n", "\n")


def test_an_iso_window(tmp_path: Path) -> None:
    """--since and --until keep exactly the entries between them, bounds included."""
    with serving(tmp_path, seed=5, entries=400) as served:
        entries = served.emulator.entries
        low, high = entries[300]["created_at"], entries[80]["created_at"]
        done = run_cli(served.auth("export", "--since", iso(low), "--until", iso(high)), served.env)
        assert done.returncode == 0, done.stderr
        exported = [json.loads(line)["id"] for line in done.stdout.splitlines()]
        assert exported == newest_first([e for e in entries if low <= e["created_at"] <= high])
        assert exported


def test_a_relative_window(tmp_path: Path) -> None:
    """--since 2d keeps the entries of the last two days (as of when the command ran)."""
    start = int(time.time()) - 5 * 86_400
    with serving(tmp_path, seed=6, entries=150, start_time=start) as served:
        entries = served.emulator.entries
        before = time.time() - 2 * 86_400
        done = run_cli(served.auth("export", "--since", "2d"), served.env)
        after = time.time() - 2 * 86_400
        assert done.returncode == 0, done.stderr
        exported = {json.loads(line)["id"] for line in done.stdout.splitlines()}
        assert {e["id"] for e in entries if e["created_at"] >= after} <= exported
        assert exported <= {e["id"] for e in entries if e["created_at"] >= before - 1}
        assert 0 < len(exported) < len(entries)


def test_filters(tmp_path: Path) -> None:
    """--action/--type/--user: comma lists and repeats are alternatives, flags combine; ids and emails both work."""
    with serving(tmp_path, seed=7, entries=300) as served:
        entries = served.emulator.entries
        admin = next(e for e in entries if e["username"] and e["username"].startswith("admin@"))
        other_id = next(e["user_id"] for e in entries if e["user_id"] not in (None, admin["user_id"]))
        done = run_cli(
            served.auth(
                "export",
                "--action",
                "sign_in,SIGN_OUT",
                "--action",
                "update",
                "--type",
                "User",
                "--user",
                f"{admin['username'].upper()},{other_id}",
            ),
            served.env,
        )
        assert done.returncode == 0, done.stderr
        exported = [json.loads(line)["id"] for line in done.stdout.splitlines()]
        wanted = [
            e
            for e in entries
            if e["action"] in ("sign_in", "sign_out", "update")
            and e["auditable_type"] == "User"
            and (e["username"] == admin["username"] or e["user_id"] == other_id)
        ]
        assert exported == newest_first(wanted)
        assert exported
        assert f"exported {len(wanted)} entries of 300 read" in done.stderr


@pytest.mark.parametrize(
    ("fmt", "sig", "code"),
    [("jsonl", signal.SIGKILL, -signal.SIGKILL), ("csv", signal.SIGINT, 130), ("json", signal.SIGTERM, 143)],
    ids=["jsonl-SIGKILL", "csv-SIGINT", "json-SIGTERM"],
)
def test_an_interrupted_export_resumes_to_every_entry_once(
    tmp_path: Path, fmt: str, sig: signal.Signals, code: int
) -> None:
    """Killed partway (and a record torn), --resume refuses other flags, then completes: every id exactly once."""
    with serving(tmp_path, seed=8, entries=1500, latency=0.04) as served:
        out = tmp_path / f"audit.{fmt}"
        records = tmp_path / "audit.json.partial.jsonl" if fmt == "json" else out
        state = tmp_path / f"audit.{fmt}.resume.json"
        with (tmp_path / "stderr").open("wb") as err:
            process = start_cli(
                served.auth("export", "--output", str(out), "--concurrency", "1"),
                served.env,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            try:
                wait_for(lambda: count_lines(records) >= 100, what="the first records")
                assert process.poll() is None, "the export ended before it could be interrupted"
                process.send_signal(sig)
                assert stop(process) == code
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
        if sig != signal.SIGKILL:
            assert "--resume to continue" in (tmp_path / "stderr").read_text()
        assert state.exists()
        assert served.token not in state.read_text()
        with records.open("ab") as torn:
            torn.write(b'1234,5,"{""id' if fmt == "csv" else b'{"id": 1234, "act')

        served.emulator.latency = 0
        refused = run_cli(served.auth("export", "--output", str(out), "--resume", "--since", "1d"), served.env)
        assert refused.returncode == 2
        assert "cannot resume" in refused.stderr
        assert "--since was not given, now '1d'" in refused.stderr

        done = run_cli(served.auth("export", "--output", str(out), "--resume", "--concurrency", "8"), served.env)
        assert done.returncode == 0, done.stderr
        assert "resuming:" in done.stderr
        assert "cut " in done.stderr
        ids = read_ids(out, fmt)
        assert len(ids) == len(set(ids)) == 1500
        assert set(ids) == {entry["id"] for entry in served.emulator.entries}
        assert sorted(os.listdir(tmp_path)) == sorted(["token", "stderr", out.name])


def test_resume_refuses_a_finished_export(tmp_path: Path) -> None:
    """--resume on a completed output is refused (exit 2) and leaves the file alone."""
    with serving(tmp_path, seed=9, entries=40) as served:
        out = tmp_path / "audit.jsonl"
        assert run_cli(served.auth("export", "-o", str(out)), served.env).returncode == 0
        before = out.read_bytes()
        again = run_cli(served.auth("export", "-o", str(out), "--resume"), served.env)
        assert again.returncode == 2
        assert "nothing to resume" in again.stderr
        assert out.read_bytes() == before


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("case", "code", "says"),
    [
        ("unknown token", 3, "refused the token"),
        ("no such account", 4, "not found"),
        ("server down", 5, "no answer from the server"),
        ("server failing", 5, "the server failed"),
        ("plain http elsewhere", 2, "--allow-insecure-http"),
        ("no configuration", 2, "--base-url"),
    ],
)
def test_failures_are_one_line_with_their_exit_code(tmp_path: Path, case: str, code: int, says: str) -> None:
    """Each failure ends with its documented exit code and one line saying what to do; no traceback."""
    failing = {"faults": lambda number: "503"} if case == "server failing" else {}
    with serving(tmp_path, seed=10, entries=30, **failing) as served:
        args = served.auth("export", "--max-retries", "0")
        env = served.env
        if case == "unknown token":
            (tmp_path / "token").write_text("not-a-valid-token\n")
        elif case == "no such account":
            args += ["--account-id", "99"]
        elif case == "server down":
            args += ["--base-url", f"http://127.0.0.1:{_closed_port()}"]
        elif case == "plain http elsewhere":
            args += ["--base-url", "http://chatwoot.invalid"]
        elif case == "no configuration":
            env = clean_env()
        done = run_cli(args, env)
    assert done.returncode == code, done.stderr
    assert says in done.stderr
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize("to_file", [True, False], ids=["to a file", "to stdout"])
def test_still_throttled_advises_lower_concurrency_not_max_retries(tmp_path: Path, to_file: bool) -> None:
    """A 429 retrying did not get through: --max-retries does not bound 429s, so the advice is --concurrency,
    or later (with --resume for a file)."""
    token_file = tmp_path / "token"
    token_file.write_text("a-token\n")
    # Rack::Attack's answer; a Retry-After over the SDK's limit ends the retrying at once.
    with answering(429, b"Retry later\n", headers={"Content-Type": "text/plain", "Retry-After": "3600"}) as url:
        args = ["export", "--base-url", url, "--account-id", "1", "--token-file", str(token_file)]
        out = tmp_path / "audit.jsonl"
        done = run_cli([*args, "--output", str(out)] if to_file else args, clean_env())
    assert done.returncode == 5, done.stderr
    assert done.stderr.startswith("chatwoot-audit: error: throttled by the server: 429")
    assert done.stderr.count("\n") == 1
    assert "--max-retries" not in done.stderr
    assert "retry budget" not in done.stderr
    assert "Lower --concurrency" in done.stderr
    if to_file:
        assert f"run the same command with --resume to continue {out}" in done.stderr
    else:
        assert "--resume continues where it stopped" in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    """--debug adds the traceback and the request log to the one-line error."""
    with serving(tmp_path, seed=11, entries=5) as served:
        done = run_cli(served.auth("export", "--debug", "--account-id", "99"), served.env)
    assert done.returncode == 4
    assert "Traceback" in done.stderr
    assert "NotFoundError" in done.stderr
    assert "HTTP Request: GET" in done.stderr


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """Piped into something that stops reading (like head), the export exits 141 without a traceback."""
    with serving(tmp_path, seed=12, entries=600, latency=0.02) as served:
        with (tmp_path / "stderr").open("wb") as err:
            process = start_cli(served.auth("export", "--concurrency", "1"), served.env, stderr=err)
            assert process.stdout is not None
            try:
                assert json.loads(process.stdout.readline())["id"] == served.emulator.entries[0]["id"]
                process.stdout.close()
                assert stop(process) == 141
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
        assert "Traceback" not in (tmp_path / "stderr").read_text()


def test_an_empty_account_writes_an_empty_valid_file(tmp_path: Path) -> None:
    """No entries (or the feature off): an empty array, and the SDK's hint about the feature on stderr."""
    with serving(tmp_path, seed=13, entries=30, feature_enabled=False) as served:
        out = tmp_path / "audit.json"
        done = run_cli(served.auth("export", "-o", str(out)), served.env)
    assert done.returncode == 0, done.stderr
    assert json.loads(out.read_text()) == []
    assert "feature may be disabled" in done.stderr


def _strict_json(data: bytes | str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(data, parse_constant=refuse)


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "json"])
def test_text_utf_8_cannot_hold_and_numbers_json_cannot_are_written_as_documented(tmp_path: Path, fmt: str) -> None:
    """An entry with a lone surrogate ("\\ud800") and one with NaN and Infinity inside auditable (both accepted
    by Python's JSON parser) export with exit 0: valid UTF-8 and standard JSON, the surrogate as its escape,
    the numbers as null."""
    entries = [
        '{"id":7,"auditable_id":5,"auditable_type":"AccountUser","auditable":{"score":NaN,"range":[Infinity,'
        '-Infinity]},"associated_id":1,"associated_type":"Account","user_id":1,"user_type":"User","username":'
        '"a@b.example","action":"update","audited_changes":{"role":[0,1]},"version":2,"comment":null,'
        '"request_uuid":"r-7","created_at":1781602888,"remote_address":"203.0.113.10"}',
        '{"id":6,"auditable_id":5,"auditable_type":"AccountUser","auditable":{"name":"x\\ud800y"},'
        '"associated_id":1,"associated_type":"Account","user_id":1,"user_type":"User","username":"\\udc00@b",'
        '"action":"update","audited_changes":{"role":[0,1]},"version":2,"comment":null,"request_uuid":"r-6",'
        '"created_at":1781602887,"remote_address":"203.0.113.10"}',
    ]
    body = ('{"per_page":25,"total_entries":2,"current_page":1,"audit_logs":[' + ",".join(entries) + "]}").encode()
    token_file = tmp_path / "token"
    token_file.write_text("a-token\n")
    out = tmp_path / f"audit.{fmt}"
    with answering(200, body) as url:
        args = ["export", "--base-url", url, "--account-id", "1", "--token-file", str(token_file), "-o", str(out)]
        done = run_cli(args, clean_env())
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    text = out.read_bytes().decode("utf-8")
    if fmt == "csv":
        rows = {row["id"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
        assert _strict_json(rows["7"]["auditable"]) == {"score": None, "range": [None, None]}
        assert _strict_json(rows["6"]["auditable"]) == {"name": "x\ud800y"}
        assert rows["6"]["username"] == "\\udc00@b"
        return
    written = _strict_json(text) if fmt == "json" else [_strict_json(line) for line in text.splitlines()]
    assert [entry["id"] for entry in written] == [7, 6]
    assert written[0]["auditable"] == {"score": None, "range": [None, None]}
    assert written[1]["auditable"] == {"name": "x\ud800y"}
    assert written[1]["username"] == "\udc00@b"
    assert [list(entry) for entry in written] == [FIELDS, FIELDS]

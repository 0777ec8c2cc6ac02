"""``python -m chatwoot_audit.testing``: one JSON line on stdout, serves, stops cleanly on a signal."""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from chatwoot_audit.testing import ROLES, Emulator
from chatwoot_audit.testing._cli import build_parser, main


def read_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    """The first stdout line, or fail after ``timeout`` seconds."""
    assert process.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline() if process.stdout else ""))
    reader.start()
    reader.join(timeout)
    if not lines:
        process.kill()
        reader.join(5)
        raise AssertionError("the emulator printed nothing")
    return lines[0]


def run_emulator(*args: str) -> subprocess.Popen[str]:
    """Start the standalone emulator."""
    return subprocess.Popen(
        [sys.executable, "-X", "dev", "-m", "chatwoot_audit.testing", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_standalone_serves_and_stops_on_signal(stop_with: signal.Signals) -> None:
    """It prints base_url, account_id and the admin token, serves them, and exits 0 on the signal."""
    process = run_emulator("--port", "0", "--entries", "30", "--seed", "5", "--per-page", "15")
    try:
        line = json.loads(read_line(process))
        assert set(line) == {"base_url", "account_id", "api_access_token"}
        assert line["base_url"].startswith("http://127.0.0.1:")
        assert line["api_access_token"] == Emulator(seed=5, entries=0).admin_token
        url = f"{line['base_url']}/api/v1/accounts/{line['account_id']}/audit_logs"
        with httpx.Client(timeout=10) as client:
            data = client.get(url, headers={"api_access_token": line["api_access_token"]}).json()
        assert (data["per_page"], data["total_entries"]) == (15, 30)
        process.send_signal(stop_with)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert stdout == ""
    assert "Warning" not in stderr
    assert "Traceback" not in stderr


def test_standalone_prints_every_token_on_request() -> None:
    """--print-tokens adds every role's token and the other accounts to the same single line."""
    process = run_emulator("--port", "0", "--entries", "3", "--print-tokens", "--feature-disabled")
    try:
        line = json.loads(read_line(process))
        assert set(line["tokens"]) == set(ROLES)
        assert line["tokens"]["administrator"] == line["api_access_token"]
        url = f"{line['base_url']}/api/v1/accounts/{line['suspended_account_id']}/audit_logs"
        with httpx.Client(timeout=10) as client:
            response = client.get(url, headers={"api_access_token": line["tokens"]["suspended"]})
            assert response.json() == {"error": "Account is suspended"}
            url = f"{line['base_url']}/api/v1/accounts/{line['account_id']}/audit_logs"
            assert client.get(url, headers={"api_access_token": line["api_access_token"]}).json()["total_entries"] == 0
        process.terminate()
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0


def test_help_explains_the_other_tokens() -> None:
    """--help says how to get the tokens of the other roles."""
    text = build_parser().format_help()
    assert "--print-tokens" in text
    assert "Tokens depend only on --seed" in text
    for flag in (
        "--port",
        "--entries",
        "--per-page",
        "--seed",
        "--latency-ms",
        "--arrivals-per-request",
        "--late-commits-per-request",
        "--late-window",
        "--rate-limit",
        "--feature-disabled",
    ):
        assert flag in text


def test_flags_map_to_knobs() -> None:
    """Flags parse into the emulator's knobs; a bad fault schedule is refused."""
    args = build_parser().parse_args(["--latency-ms", "20", "--rate-limit", "100", "--faults", "3=502,7=drop"])
    assert (args.latency_ms, args.rate_limit, args.faults) == (20.0, 100, {3: "502", 7: "drop"})
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--faults", "3=teapot"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--per-page", "0"])
    assert main(["--faults", "1=drop", "--fault-probability", "0.5"]) == 2
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--fault-probability", "1.5"])


def test_port_in_use_is_an_error_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    """A taken port ends with exit status 1 and a one-line message."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["--port", str(taken.getsockname()[1])]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_standalone_late_commits_and_dates_its_answers() -> None:
    """--late-commits makes entries visible below the top after each request; answers carry a Date."""
    process = run_emulator("--entries", "50", "--seed", "4", "--late-commits", "2", "--late-window", "1:10")
    try:
        line = json.loads(read_line(process))
        url = f"{line['base_url']}/api/v1/accounts/{line['account_id']}/audit_logs"
        headers = {"api_access_token": line["api_access_token"]}
        with httpx.Client(timeout=10) as client:
            pages = [client.get(url, headers=headers) for _ in range(3)]
        process.terminate()
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0
    assert [page.json()["total_entries"] for page in pages] == [50, 52, 54]
    for page in pages:
        assert abs(email.utils.parsedate_to_datetime(page.headers["date"]).timestamp() - time.time()) < 600
    first, last = (page.json()["audit_logs"] for page in (pages[0], pages[-1]))
    assert last[0] == first[0]
    assert len({entry["id"] for entry in last} - {entry["id"] for entry in first}) == 4


def test_env_lines_feed_a_shell_and_the_sdk() -> None:
    """--env prints export lines that a shell can eval while the emulator serves on in the background."""
    script = (
        'eval "$("$PYTHON" -m chatwoot_audit.testing --env --entries 7 --now 2026-06-16T09:41:27Z &)"\n'
        '"$PYTHON" -c "from chatwoot_audit import ChatwootAudit\n'
        "with ChatwootAudit() as client:\n"
        '    print(client.page(1).items[0].timestamp, client.account_id)"\n'
        'kill "$CHATWOOT_EMULATOR_PID"\n'
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATWOOT_")}
    # Its own session, so that the background emulator goes with the shell even when the test fails.
    shell = subprocess.Popen(
        ["bash", "-c", script],
        env={**env, "PYTHON": sys.executable},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = shell.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
        if shell.poll() is None:
            shell.communicate(timeout=10)
    assert shell.returncode == 0, stderr
    assert stdout.split() == ["1781602887", "1"]


def test_env_lines_quote_for_the_shell() -> None:
    """The lines name the three variables the SDK and the CLI read, then the pid to stop it with."""
    process = run_emulator("--env", "--entries", "3", "--seed", "9")
    try:
        first, second = read_line(process), read_line(process)
        assert process.stdout is not None
        # Nothing more comes: stdout is let go, so a reader waiting for its end is not held.
        assert process.stdout.read() == ""
        process.terminate()
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0
    words = shlex.split(first)
    assert words[0] == "export"
    variables = dict(word.split("=", 1) for word in words[1:])
    assert set(variables) == {"CHATWOOT_BASE_URL", "CHATWOOT_ACCOUNT_ID", "CHATWOOT_API_ACCESS_TOKEN"}
    assert variables["CHATWOOT_BASE_URL"].startswith("http://127.0.0.1:")
    assert variables["CHATWOOT_API_ACCESS_TOKEN"] == Emulator(seed=9, entries=0).admin_token
    assert second == f"export CHATWOOT_EMULATOR_PID={process.pid}\n"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1781602887", 1781602887.0), ("2026-06-16T09:41:27Z", 1781602887.0), ("2026-06-16T11:41:27+02:00", 1781602887.0)],
)
def test_now_flag_reads_unix_seconds_and_iso_times(text: str, seconds: float) -> None:
    """--now takes Unix seconds or an ISO 8601 time with its zone."""
    assert build_parser().parse_args(["--now", text]).now == seconds


@pytest.mark.parametrize("text", ["2026-06-16T09:41:27", "yesterday", "nan", "-5"])
def test_now_flag_refuses_what_is_not_a_moment(text: str) -> None:
    """A time without a zone, a word or a negative number is a usage error."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--now", text])


def test_faults_flag_takes_the_new_kinds() -> None:
    """--faults names the refusals and the throttle like any other fault."""
    args = build_parser().parse_args(["--faults", "1=429,2=401,3=401-signin,4=404"])
    assert args.faults == {1: "429", 2: "401", 3: "401-signin", 4: "404"}

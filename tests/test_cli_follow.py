"""``chatwoot-audit follow`` as installed: history then arrivals, oldest first, restarts without repeats or gaps."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest
from _cli_helpers import answering, clean_env, oldest_first, run_cli, running, serving, start_cli, stop, wait_for

INTERVAL = "0.2"


def ids(lines: list[bytes]) -> list[int]:
    """The ids of JSON lines, checking each is one entry."""
    return [json.loads(line)["id"] for line in lines]


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_follow_delivers_history_then_arrivals_and_restarts_exactly(tmp_path: Path, stop_with: signal.Signals) -> None:
    """History oldest first, then entries as they arrive; stopped and restarted, nothing repeats or goes missing."""
    with serving(tmp_path, seed=31, entries=70) as served:
        emulator = served.emulator
        checkpoint = tmp_path / "checkpoint.json"
        args = served.auth("follow", "--checkpoint", str(checkpoint), "--interval", INTERVAL)
        delivered: list[int] = []

        with running(args, served.env, stderr=tmp_path / "stderr-1") as (first, reader):
            assert reader is not None
            history = ids(reader.take(70))
            assert history == oldest_first(emulator.entries)
            arrived = emulator.add_entries(5)
            assert ids(reader.take(5)) == [entry["id"] for entry in arrived]
            first.send_signal(stop_with)
            assert stop(first) == 0
            assert reader.rest() == []
            delivered += history + [entry["id"] for entry in arrived]
        stderr = (tmp_path / "stderr-1").read_text()
        assert "stopped after delivering 75 entries; checkpoint saved" in stderr
        assert "Traceback" not in stderr

        while_down = emulator.add_entries(3)
        with running(args, served.env, stderr=tmp_path / "stderr-2") as (second, reader):
            assert reader is not None
            assert ids(reader.take(3)) == [entry["id"] for entry in while_down]
            later = emulator.add_entries(2)
            assert ids(reader.take(2)) == [entry["id"] for entry in later]
            # A few more polls with nothing new: nothing more may come.
            wait_for(lambda: "delivered 2 new entries" in (tmp_path / "stderr-2").read_text(), what="the log")
            second.send_signal(stop_with)
            assert stop(second) == 0
            assert reader.rest() == []
            delivered += [entry["id"] for entry in while_down + later]
        assert sorted(delivered) == sorted(entry["id"] for entry in emulator.entries)
        assert len(delivered) == len(set(delivered))


def test_follow_once_and_since(tmp_path: Path) -> None:
    """--since starts a fresh checkpoint there; --once delivers what is new and exits; later --since is ignored."""
    with serving(tmp_path, seed=32, entries=90) as served:
        entries = served.emulator.entries
        since = entries[30]["created_at"]
        checkpoint = tmp_path / "cp.json"
        args = served.auth("follow", "--once", "--checkpoint", str(checkpoint), "--since", f"@{since}")
        first = run_cli(args, served.env)
        assert first.returncode == 0, first.stderr
        assert ids(first.stdout.encode().splitlines()) == oldest_first([e for e in entries if e["created_at"] >= since])
        again = run_cli(args, served.env)
        assert again.returncode == 0, again.stderr
        assert again.stdout == ""
        assert "--since is ignored" in again.stderr
        assert "no new entries" in again.stderr


def test_follow_output_file_is_cut_back_to_the_checkpoint(tmp_path: Path) -> None:
    """With --output, lines written after the last checkpoint (a crash) are cut on restart and delivered once."""
    with serving(tmp_path, seed=33, entries=50) as served:
        out, checkpoint = tmp_path / "audit.jsonl", tmp_path / "cp.json"
        args = served.auth("follow", "--once", "--checkpoint", str(checkpoint), "--output", str(out))
        assert run_cli(args, served.env).returncode == 0
        assert json.loads(checkpoint.read_text())["output_size"] == out.stat().st_size
        # As if it had crashed after writing these lines but before saving the checkpoint.
        arrived = served.emulator.add_entries(4)
        with out.open("ab") as crashed:
            crashed.write(b"".join(json.dumps(entry).encode() + b"\n" for entry in arrived[:2]) + b'{"id": 9')
        again = run_cli(args, served.env)
        assert again.returncode == 0, again.stderr
        assert "after the last checkpoint; they follow again" in again.stderr
        assert again.stdout == ""
        delivered = ids(out.read_bytes().splitlines())
        assert delivered == oldest_first(served.emulator.entries)


def test_follow_waits_out_an_outage(tmp_path: Path) -> None:
    """A failing server (5xx, no answer, a proxy's HTML page) is logged and retried at the next poll."""
    with serving(tmp_path, seed=34, entries=20, faults={1: "503", 2: "drop", 3: "html200"}) as served:
        args = served.auth("follow", "--interval", INTERVAL, "--max-retries", "0")
        with running(args, served.env, stderr=tmp_path / "stderr") as (process, reader):
            assert reader is not None
            assert ids(reader.take(20)) == oldest_first(served.emulator.entries)
            process.terminate()
            assert stop(process) == 0
        stderr = (tmp_path / "stderr").read_text()
        assert stderr.count("polling failed, trying again") == 3
        assert "not JSON" in stderr
        assert "no --checkpoint" in stderr


def test_follow_stops_on_a_refused_token(tmp_path: Path) -> None:
    """A token the server refuses needs a person: follow exits 3 at once instead of polling forever."""
    with serving(tmp_path, seed=35, entries=5) as served:
        (tmp_path / "token").write_text(served.emulator.tokens["agent"] + "\n")
        done = run_cli(served.auth("follow", "--interval", INTERVAL), served.env)
    assert done.returncode == 3
    assert "refused the token" in done.stderr
    assert done.stdout == ""


def test_follow_stops_on_json_that_is_not_an_audit_log_page(tmp_path: Path) -> None:
    """A 200 with JSON of the wrong shape is no outage: follow exits 5 at once instead of polling forever."""
    token_file = tmp_path / "token"
    token_file.write_text("a-token\n")
    with answering(200, b'{"audit_logs": "none", "total_entries": 3}') as base_url:
        args = ["follow", "--interval", INTERVAL, "--base-url", base_url, "--account-id", "1"]
        done = run_cli([*args, "--token-file", str(token_file)], clean_env(), timeout=15)
    assert done.returncode == 5, done.stderr
    assert "unexpected answer" in done.stderr
    assert "polling failed" not in done.stderr
    assert done.stdout == ""


def test_follow_refuses_another_accounts_checkpoint(tmp_path: Path) -> None:
    """One checkpoint file per account: following another with it is a usage error."""
    with serving(tmp_path, seed=36, entries=5) as served:
        checkpoint = tmp_path / "cp.json"
        assert run_cli(served.auth("follow", "--once", "--checkpoint", str(checkpoint)), served.env).returncode == 0
        moved = run_cli(
            served.auth("follow", "--once", "--checkpoint", str(checkpoint), "--base-url", "http://localhost:1"),
            served.env,
        )
    assert moved.returncode == 2
    assert "give each account its own --checkpoint" in moved.stderr


def test_follow_after_kill_9_while_idle_repeats_nothing(tmp_path: Path) -> None:
    """Killed outright between polls, a follower restarts from its checkpoint: no line twice."""
    with serving(tmp_path, seed=37, entries=30) as served:
        checkpoint = tmp_path / "cp.json"
        args = served.auth("follow", "--checkpoint", str(checkpoint), "--interval", INTERVAL)
        with running(args, served.env, stderr=tmp_path / "stderr") as (process, reader):
            assert reader is not None
            first = ids(reader.take(30))
            # Idle: the poll is over and its checkpoint saved (a kill before that repeats its lines on stdout).
            wait_for(lambda: "delivered 30 new entries" in (tmp_path / "stderr").read_text(), what="the save")
            process.kill()
            stop(process)
        served.emulator.add_entries(2)
        again = run_cli([*args, "--once"], served.env)
        assert again.returncode == 0, again.stderr
        assert sorted(first + ids(again.stdout.encode().splitlines())) == sorted(
            entry["id"] for entry in served.emulator.entries
        )


def test_follow_into_a_closed_pipe_exits_141(tmp_path: Path) -> None:
    """When the reader of stdout goes away, follow says so on stderr and exits 141, checkpoint saved."""
    with serving(tmp_path, seed=38, entries=400) as served:
        checkpoint = tmp_path / "cp.json"
        args = served.auth("follow", "--checkpoint", str(checkpoint), "--interval", INTERVAL)
        with (tmp_path / "stderr").open("wb") as err:
            process = start_cli(args, served.env, stderr=err)
            assert process.stdout is not None
            try:
                assert json.loads(process.stdout.readline())["id"] == oldest_first(served.emulator.entries)[0]
                process.stdout.close()
                assert stop(process) == 141
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait(10)
        stderr = (tmp_path / "stderr").read_text()
        assert "stdout was closed by its reader" in stderr
        assert "Traceback" not in stderr
        assert json.loads(checkpoint.read_text())["checkpoint"]["high_water"] is not None


def test_an_entry_from_a_fast_clock_does_not_stop_delivery(tmp_path: Path) -> None:
    """An entry stamped an hour ahead (an app server's clock runs fast) is delivered once, with a warning
    naming it, and the entries written after it are still delivered by the next polls."""
    with serving(tmp_path, seed=39, entries=20) as served:
        emulator = served.emulator
        args = served.auth("follow", "--once", "--checkpoint", str(tmp_path / "cp.json"))
        assert len(run_cli(args, served.env).stdout.splitlines()) == 20

        now = int(time.time())
        skewed = emulator.add_entry(created_at=now + 3600)
        honest = emulator.add_entry(created_at=now)
        second = run_cli(args, served.env)
        assert second.returncode == 0, second.stderr
        assert ids(second.stdout.encode().splitlines()) == [honest["id"], skewed["id"]]
        warnings = [line for line in second.stderr.splitlines() if "warning:" in line]
        assert len(warnings) == 1
        assert f"entry {skewed['id']} " in warnings[0]
        assert "s ahead of" in warnings[0]

        later = [emulator.add_entry(created_at=int(time.time())) for _ in range(2)]
        third = run_cli(args, served.env)
        assert third.returncode == 0, third.stderr
        assert ids(third.stdout.encode().splitlines()) == [entry["id"] for entry in later]
        fourth = run_cli(args, served.env)
        assert (fourth.returncode, fourth.stdout) == (0, "")
        assert "warning:" not in fourth.stderr

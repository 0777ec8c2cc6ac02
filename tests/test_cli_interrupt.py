"""Ctrl-C at any moment of the installed command's life: exit 130 and one line, never a traceback.

A signal sent right after the process starts usually lands before the interpreter has set up its own
handler, and the kernel's default action ends the process (-SIGINT, nothing printed). A signal while the
command's modules load is made deterministic here by a ``sitecustomize`` that sends SIGINT to the process
at the import of a chosen module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from _cli_helpers import RUN_TIMEOUT, clean_env, cli_command, serving, start_cli, stop

from chatwoot_audit._cli._exits import ExitCode
from chatwoot_audit.cli import _INTERRUPTED

INTERRUPTED = 130

_HOOK = '''
import os
import signal
import sys

_TARGET = os.environ.get("CHATWOOT_AUDIT_TEST_SIGINT_AT")


class _InterruptAt:
    """Sends SIGINT to this process when _TARGET is about to be imported."""

    def find_spec(self, name, path=None, target=None):
        if name == _TARGET:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None


if _TARGET:
    sys.meta_path.insert(0, _InterruptAt())
'''


def test_the_interrupt_code_is_the_documented_one() -> None:
    """The code main returns before the exit-code table is imported is the table's own."""
    assert _INTERRUPTED == ExitCode.INTERRUPTED == INTERRUPTED


def _interrupted_at(tmp_path: Path, module: str, *args: str) -> tuple[int, str]:
    hook = tmp_path / "hook"
    hook.mkdir(exist_ok=True)
    (hook / "sitecustomize.py").write_text(_HOOK)
    path = os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))
    env = clean_env(PYTHONPATH=path, CHATWOOT_AUDIT_TEST_SIGINT_AT=module)
    # Nothing is listening there: without the interrupt the command fails, fast and differently.
    env.update(CHATWOOT_BASE_URL="http://127.0.0.1:9", CHATWOOT_ACCOUNT_ID="1", CHATWOOT_API_ACCESS_TOKEN="t")
    with (tmp_path / "stderr").open("wb") as err:
        process = start_cli(list(args), env, stdout=subprocess.DEVNULL, stderr=err)
        code = stop(process)
    return code, (tmp_path / "stderr").read_text()


@pytest.mark.parametrize(
    ("module", "command"),
    [
        ("argparse", "export"),
        ("chatwoot_audit._cli._parser", "export"),
        ("chatwoot_audit._cli._export", "export"),
        ("chatwoot_audit._cli._follow", "follow"),
        ("chatwoot_audit._cli._connect", "follow"),
        ("chatwoot_audit.testing._cli", "emulator"),
    ],
)
def test_sigint_while_the_command_loads_exits_130(tmp_path: Path, module: str, command: str) -> None:
    """Ctrl-C while the command's own modules load: exit 130 and one line, as at any later moment."""
    code, stderr = _interrupted_at(tmp_path, module, command)
    assert code == INTERRUPTED, stderr
    assert stderr == "chatwoot-audit: interrupted\n"


def test_sigint_while_the_package_loads_exits_130(tmp_path: Path) -> None:
    """Ctrl-C while the package itself loads, before main is called: it loads its names lazily, so main is
    reached in milliseconds and the interrupt comes where main catches it."""
    code, stderr = _interrupted_at(tmp_path, "httpx", "export")
    assert code == INTERRUPTED, stderr
    assert stderr == "chatwoot-audit: interrupted\n"


def _spawn(args: list[str], env: dict[str, str], stderr: Path) -> int:
    """Start the command with SIGINT at its default action and stderr to a file; its pid.

    posix_spawn resets SIGINT in the child itself: a wrapper that restored it (as start_cli does when the
    test run ignores SIGINT) would still ignore a signal sent this early.
    """
    command = [*cli_command(), *args]
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, str(stderr), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
    ]
    return os.posix_spawn(command[0], command, env, file_actions=actions, setsigdef=[signal.SIGINT])


def _wait(pid: int, *, timeout: float = RUN_TIMEOUT) -> int:
    """The exit status of ``pid`` (negative for a signal), killing it if it outlives ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"the command did not end within {timeout} s of SIGINT")
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(os, "posix_spawn"), reason="needs os.posix_spawn")
def test_sigint_right_after_start_never_shows_a_traceback(tmp_path: Path) -> None:
    """Sent the moment the process exists, again and again: the process ends by the signal before the
    interpreter runs (nothing printed), or exits 130 with one line."""
    for attempt in range(5):
        stderr = tmp_path / f"stderr-{attempt}"
        pid = _spawn(["export"], clean_env(), stderr)
        os.kill(pid, signal.SIGINT)
        code = _wait(pid)
        said = stderr.read_text()
        assert "Traceback" not in said
        assert (code, said) in {(-signal.SIGINT, ""), (INTERRUPTED, "chatwoot-audit: interrupted\n")}


@pytest.mark.parametrize("command", ["export", "follow"])
def test_sigint_after_the_first_line_exits_as_documented(tmp_path: Path, command: str) -> None:
    """Sent as soon as the first line is out: an export exits 130, a follower stops cleanly with 0."""
    with serving(tmp_path, seed=40, entries=400, latency=0.02) as served:
        for attempt in range(3):
            with (tmp_path / f"stderr-{attempt}").open("wb") as err:
                process = start_cli(served.auth(command, "--concurrency", "1"), served.env, stderr=err)
                assert process.stdout is not None
                try:
                    assert process.stdout.read(1) == b"{"
                    process.send_signal(signal.SIGINT)
                    # Read on: a follower blocked writing into a full pipe would never stop.
                    process.communicate(timeout=RUN_TIMEOUT)
                    code = process.returncode
                finally:
                    if process.poll() is None:
                        process.kill()
                        process.wait(10)
            stderr = (tmp_path / f"stderr-{attempt}").read_text()
            assert "Traceback" not in stderr
            assert code == (INTERRUPTED if command == "export" else 0), stderr

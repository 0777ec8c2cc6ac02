"""The ``chatwoot-audit`` command: export, follow, sync, demo and emulator. ``main(argv)`` returns the exit status.

Install it with the ``cli`` extra (``pip install 'chatwoot-audit[cli]'``), which brings rich for the
progress bar and the demo's tables. Without it, ``--help`` still works and the commands say how to install it.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

__all__ = ["main"]

_TOP_FLAGS = frozenset({"--debug", "-q", "--quiet"})
# ExitCode.INTERRUPTED, written out here: a Ctrl-C can come before _cli._exits is imported.
_INTERRUPTED = 130


def _emulator_argv(argv: list[str]) -> list[str] | None:
    """The arguments after ``emulator`` when that is the command: they belong to the emulator's own parser."""
    for index, arg in enumerate(argv):
        if arg in _TOP_FLAGS:
            continue
        return argv[index + 1 :] if arg == "emulator" else None
    return None


def _run_emulator(argv: list[str]) -> int:
    from ._cli._exits import ExitCode
    from .testing._cli import main as emulator_main

    try:
        return emulator_main(argv, prog="chatwoot-audit emulator")
    except SystemExit as exc:
        # Its parser exits after --help or on a bad flag; main returns the status instead.
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    if command == "export":
        from ._cli._export import export_command

        return export_command
    if command == "follow":
        from ._cli._follow import follow_command

        return follow_command
    if command == "sync":
        from ._cli._sync import sync_command

        return sync_command
    from ._cli._demo import demo_command

    return demo_command


def _silence_stdout() -> None:
    # The reader is gone: point stdout at /dev/null so that the interpreter's final flush cannot fail too.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return the exit status."""
    # The command's modules are imported inside this try, so that a Ctrl-C while they load (most of the
    # start-up time that follows this call) exits 130 with one line, like one at any later moment, and
    # not with a traceback.
    try:
        return _main(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        _say_interrupted()
        return _INTERRUPTED


def _say_interrupted() -> None:
    try:
        from ._cli._logs import say

        say("interrupted")
    except KeyboardInterrupt:
        pass  # pressed again: the exit status says it


def _main(args_list: list[str]) -> int:
    delegated = _emulator_argv(args_list)
    if delegated is not None:
        return _run_emulator(delegated)
    from ._cli._exits import ExitCode, describe
    from ._cli._logs import say, say_traceback, setup_logging
    from ._cli._parser import build_parser
    from ._redact import clear_secrets

    try:
        args = build_parser().parse_args(args_list)
    except SystemExit as exc:
        # argparse exits 0 after --help or --version and 2 on a usage error; main returns instead.
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    clear_secrets()
    setup_logging(
        debug=args.debug,
        quiet=args.quiet,
        timestamps=args.command == "follow" or getattr(args, "follow", False) is True,
    )
    try:
        return int(_handler(args.command)(args))
    except BrokenPipeError:
        _silence_stdout()
        return ExitCode.BROKEN_PIPE
    except Exception as exc:
        code, message = describe(exc)
        if args.debug:
            say_traceback(exc)
        say(f"error: {message}")
        return code


if __name__ == "__main__":
    raise SystemExit(main())

"""Everything the command tells a person goes to stderr, through here, with the token blanked.

The SDK logs to the ``chatwoot_audit`` logger and the command to ``chatwoot_audit.cli``; one handler prints
both: the SDK's warnings and its retries (one line each, hidden by --quiet), and everything with --debug.
Secrets registered with ``_redact.add_secret`` are replaced in every line, tracebacks included, as a second
line of defence: nothing is meant to carry the token in the first place.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import Any, TextIO

from .._client import RETRY_RECORD
from .._redact import blank_secrets

__all__ = ["log", "say", "say_traceback", "setup_logging"]

PROG = "chatwoot-audit"
log = logging.getLogger("chatwoot_audit.cli")
_installed: list[tuple[logging.Logger, logging.Handler]] = []


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return blank_secrets(super().format(record))


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Looks ``sys.stderr`` up on each line, so a live progress display that wraps it keeps its place."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_logging(*, debug: bool = False, quiet: bool = False, timestamps: bool = False) -> None:
    """Route the SDK's and the command's logs to stderr: warnings (and the command's notes unless quiet)."""
    for logger, handler in _installed:
        logger.removeHandler(handler)
    _installed.clear()
    layout = "%(asctime)s " if timestamps else ""
    handler = _StderrHandler()
    handler.setFormatter(
        _RedactingFormatter(f"{layout}{PROG}: %(levelname_lower)s%(message)s", datefmt="%Y-%m-%dT%H:%M:%S%z")
    )
    handler.addFilter(_level_prefix)
    if not debug:
        handler.addFilter(_sdk_notes_but_retries)
    sdk = logging.getLogger("chatwoot_audit")
    # Retries show as one short line each unless --quiet: a run stalled on 429s says so. The SDK's other
    # notes stay for --debug, as the command says the same things in its own words.
    sdk.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    log.setLevel(logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO)
    loggers = [sdk]
    if debug:
        # Request lines (method, URL, status); httpx logs no headers, so no token, at this level.
        http = logging.getLogger("httpx")
        http.setLevel(logging.INFO)
        loggers.append(http)
    for logger in loggers:
        logger.addHandler(handler)
        _installed.append((logger, handler))


def _sdk_notes_but_retries(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.WARNING or record.name.startswith(log.name):
        return True
    return bool(getattr(record, RETRY_RECORD, False))


def _level_prefix(record: logging.LogRecord) -> bool:
    levels = {logging.WARNING: "warning: ", logging.ERROR: "error: ", logging.CRITICAL: "error: "}
    record.levelname_lower = levels.get(record.levelno, "debug: " if record.levelno < logging.INFO else "")
    return True


def say(message: str) -> None:
    """One line on stderr, prefixed with the program's name."""
    sys.stderr.write(blank_secrets(f"{PROG}: {message}") + "\n")
    sys.stderr.flush()


def say_traceback(exc: BaseException) -> None:
    """The traceback of ``exc`` on stderr (for --debug), secrets blanked."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    sys.stderr.write(blank_secrets(text))
    sys.stderr.flush()

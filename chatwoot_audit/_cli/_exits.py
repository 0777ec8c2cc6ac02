"""Exit codes, and the one line printed for each failure: what failed, and what to do about it.

What to do comes from the error's :class:`Hint`, said here with this command's flags (one table for each):
the SDK's own advice names keyword arguments, and no text of it is reused or rewritten.
"""

from __future__ import annotations

import enum
import shlex
import textwrap
from typing import Final

from .._config import ENV_ACCOUNT_ID, ENV_API_ACCESS_TOKEN, ENV_BASE_URL
from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    ChatwootError,
    Hint,
    HintCode,
    IncompleteWalkError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    problem,
)

__all__ = [
    "EXIT_CODES",
    "EXIT_CODES_HELP",
    "CliError",
    "ExitCode",
    "FileError",
    "UsageError",
    "advice",
    "describe",
    "throttled",
]


class ExitCode(enum.IntEnum):
    """What the process's exit status means."""

    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    AUTH = 3
    NOT_FOUND = 4
    API = 5
    INCOMPLETE = 6
    FILE = 7
    INTERRUPTED = 130
    BROKEN_PIPE = 141
    TERMINATED = 143


# The one table of exit codes: what each means and what to do. The help's "exit codes:" section is built
# from it, and docs/cli.md holds its rendering (tests/test_docs.py checks that they agree).
EXIT_CODES: Final[tuple[tuple[ExitCode, str], ...]] = (
    (ExitCode.OK, "success (follow, sync --follow: stopped by SIGINT or SIGTERM, checkpoint saved)"),
    (ExitCode.UNEXPECTED, "unexpected error (a bug): run again with --debug and report the traceback"),
    (
        ExitCode.USAGE,
        "usage or configuration: a bad flag, a missing setting, the cli extra not installed, --resume with "
        "different parameters",
    ),
    (
        ExitCode.AUTH,
        "authentication or permission refused (401, 403): check the token, and that its user is an "
        "administrator of the account",
    ),
    (
        ExitCode.NOT_FOUND,
        "not found (404): no such account, or the server has no audit-log endpoint (it needs the Enterprise edition)",
    ),
    (
        ExitCode.API,
        "API or network failure: unreachable, a timeout, a 5xx, still throttled after retries, or an answer "
        "that is not an audit-log page",
    ),
    (
        ExitCode.INCOMPLETE,
        "incomplete export: the walk could not account for every entry the server reported (--resume looks again)",
    ),
    (ExitCode.FILE, "a local file could not be read or written (output, resume state, checkpoint, archive)"),
    (ExitCode.INTERRUPTED, "interrupted (Ctrl-C), at any moment; an export to a file continues with --resume"),
    (ExitCode.BROKEN_PIPE, "stdout was closed by its reader (for example, piped into head)"),
    (ExitCode.TERMINATED, "terminated (SIGTERM) during an export; continue it with --resume"),
)


def _exit_codes_help() -> str:
    lines = ["exit codes:"]
    for code, meaning in EXIT_CODES:
        lines += textwrap.wrap(meaning, width=104, initial_indent=f"  {code.value:<5}", subsequent_indent="       ")
    return "\n".join(lines) + "\n"


EXIT_CODES_HELP: Final[str] = _exit_codes_help()


class CliError(Exception):
    """A failure the command explains in one line and ends with ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class UsageError(CliError):
    """A flag or setting that cannot be used as given (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.USAGE)


class FileError(CliError):
    """A local file that cannot be read or written, or is not what it should be (exit 7)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ExitCode.FILE)


# The client's keyword arguments, as this command sets them.
_FLAGS: Final[dict[str, str]] = {
    "base_url": "--base-url",
    "account_id": "--account-id",
    "token_header": "--token-header",
    "allow_insecure_http": "--allow-insecure-http",
    "timeout": "--timeout",
    "max_retries": "--max-retries",
}

# What to do about each hint, in this command's terms. The SDK's own advice names keyword arguments, so
# the command never shows it: it says this instead, and the settings of hint.fix as flags.
_ADVICE: Final[dict[HintCode, str]] = {
    HintCode.BASE_URL: (
        f"Check --base-url (or {ENV_BASE_URL}): the Chatwoot server itself, the address its dashboard opens at, "
        "like https://chat.example.com"
    ),
    HintCode.CREDENTIALS: (
        f"Take them out of --base-url: the token goes in {ENV_API_ACCESS_TOKEN} or a file named by --token-file"
    ),
    HintCode.INSECURE_HTTP: (
        "Use https, or pass --allow-insecure-http if the network between you and the server (proxies included) "
        "is trusted"
    ),
    HintCode.TOKEN: (
        f"Check the token ({ENV_API_ACCESS_TOKEN} or --token-file), and that its user is an administrator of "
        "the account (--account-id)"
    ),
    # Without a fix, the header already has the spelling proxies keep: the proxy needs looking at.
    HintCode.TOKEN_HEADER: "A proxy in front of Chatwoot drops the token header: look at its configuration",
    HintCode.ACCOUNT: (
        f"Check --account-id (or {ENV_ACCOUNT_ID}) and --base-url (the server's root, like "
        "https://chat.example.com); the audit log needs Chatwoot's Enterprise edition"
    ),
    HintCode.FEATURE: "The audit log is not enabled for this account (it needs Chatwoot's Enterprise edition)",
    # 429s are retried until the retry policy's rate_limit_budget (150 s) is spent, whatever --max-retries
    # says, so that flag would not help: fewer requests at once, or later, do.
    HintCode.RATE_LIMIT: "Lower --concurrency so that fewer requests go out at once, or {again}",
    HintCode.CONNECTION: "Check --base-url and the network; a slow server needs a larger --timeout or --max-retries",
    HintCode.TIMEOUT: "A slow server needs a larger --timeout, or more --max-retries",
    HintCode.RETRIES: "Pass --max-retries a count of 0 or more",
    HintCode.BODY_SIZE: "A page of audit logs is tens of kilobytes: is --base-url the Chatwoot server itself?",
}

# With a fix the SDK is sure of, the command says why before giving the flags.
_WHY: Final[dict[HintCode, str]] = {
    HintCode.TOKEN_HEADER: "A proxy in front of Chatwoot may be dropping it (nginx drops names with underscores)",
}


def _flag(name: str, value: object) -> str:
    flag = _FLAGS[name]
    return flag if value is True else f"{flag} {shlex.quote(str(value))}"


def advice(hint: Hint | None, *, again: str = "wait a few minutes and run it again") -> str:
    """What to do about ``hint``, with this command's flags; ``""`` for no hint.

    A ``fix`` whose every setting has a flag reads as the flags to pass (``use --base-url URL --account-id
    3``); otherwise the hint's code gives the advice.
    """
    if hint is None:
        return ""
    if hint.fix and all(name in _FLAGS for name in hint.fix):
        use = "use " + " ".join(_flag(name, value) for name, value in hint.fix.items())
        why = _WHY.get(hint.code)
        return f"{why}: {use}" if why else use[0].upper() + use[1:]
    return _ADVICE.get(hint.code, "").format(again=again)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if not text or text.endswith((".", "?", "!")) else text + "."


def _line(problem: str, hint: Hint | None, otherwise: str = "", **words: str) -> str:
    """What went wrong and what to do, as sentences: the hint's advice, else ``otherwise``."""
    said = advice(hint, **words) or otherwise
    return f"{_sentence(problem)} {_sentence(said)}" if said else _sentence(problem)


def throttled(exc: RateLimitError, *, again: str = "wait a few minutes and run it again") -> CliError:
    """Exit 5 for a 429 that retrying did not get through, with what to do on the command line."""
    hint = exc.hint or Hint(HintCode.RATE_LIMIT)
    return CliError(f"throttled by the server: {_line(problem(exc), hint, again=again)}", ExitCode.API)


def describe(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an error the command did not expect to handle itself.

    The exit code follows the error's class; the advice follows its hint, in flags, never the SDK's words.
    """
    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, RateLimitError):
        error = throttled(exc)
        return error.code, error.message
    if not isinstance(exc, ChatwootError):
        if isinstance(exc, OSError):
            where = f" {exc.filename}" if exc.filename else ""
            return ExitCode.FILE, f"cannot use{where}: {exc.strerror or exc}"
        return (
            ExitCode.UNEXPECTED,
            f"unexpected error: {type(exc).__name__}: {exc} (run again with --debug for details)",
        )
    said, hint = problem(exc), exc.hint
    if isinstance(exc, InvalidArgumentError):
        # ConfigurationError included: the SDK never quotes a token it refuses, and say() blanks it anyway.
        return ExitCode.USAGE, f"configuration: {_line(said, hint)}"
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return ExitCode.AUTH, f"the server refused the token: {_line(said, hint or Hint(HintCode.TOKEN))}"
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, f"not found: {_line(said, hint or Hint(HintCode.ACCOUNT))}"
    if isinstance(exc, APIConnectionError):
        return ExitCode.API, f"no answer from the server: {_line(said, hint or Hint(HintCode.CONNECTION))}"
    if isinstance(exc, APIStatusError):
        return ExitCode.API, f"the server failed: {_line(said, hint, 'Try again later')}"
    if isinstance(exc, APIResponseValidationError):
        return ExitCode.API, f"unexpected answer: {_line(said, hint)}"
    if isinstance(exc, IncompleteWalkError):
        return ExitCode.INCOMPLETE, f"incomplete: {_line(said, hint)}"
    return ExitCode.API, _line(said, hint)

"""Exit codes, and the one line printed for each failure: what failed, and what to do about it."""

from __future__ import annotations

import enum
import re

from .._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    AuthenticationError,
    ChatwootError,
    IncompleteWalkError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
)

__all__ = ["EXIT_CODES_HELP", "CliError", "ExitCode", "FileError", "UsageError", "describe", "throttled"]


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


EXIT_CODES_HELP = """\
exit codes:
  0    success (follow: stopped by SIGINT or SIGTERM, checkpoint saved)
  1    unexpected error (a bug: run again with --debug and report the traceback)
  2    usage or configuration: a bad flag, a missing setting, the cli extra not installed, --resume
       with different parameters
  3    authentication or permission refused (401, 403): check the token and that its user is an
       administrator of the account
  4    not found (404): no such account, or the server has no audit-log endpoint
  5    API or network failure: unreachable, timeout, 5xx, still throttled after retries, a malformed answer
  6    incomplete export: the walk could not account for every entry the server reported
  7    a local file could not be read or written (output, state, checkpoint)
  130  interrupted (Ctrl-C); an export to a file continues with --resume
  141  stdout was closed by its reader (e.g. piped into head)
  143  terminated (SIGTERM) during an export; continue it with --resume
"""


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


# The SDK speaks of keyword arguments; on the command line they are flags.
_FLAG_NAMES = (
    ("pass allow_insecure_http=True", "pass --allow-insecure-http"),
    ("Pass token_header='Api-Access-Token'", "Pass --token-header Api-Access-Token"),
    ("pass the token as api_access_token", "put the token in CHATWOOT_API_ACCESS_TOKEN or --token-file"),
    ("api_access_token must", "the API token (CHATWOOT_API_ACCESS_TOKEN or --token-file) must"),
    (": use base_url=", ": use --base-url "),
    ("' and account_id=", "' and --account-id "),
)


def as_flags(message: str) -> str:
    """``message`` with the SDK's argument names replaced by this command's flags."""
    for sdk, cli in _FLAG_NAMES:
        message = message.replace(sdk, cli)
    return message


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", ")", "?")) else text + "."


# The SDK's advice on a 429 names its retry policy, which no flag sets: the command gives its own.
_SDK_THROTTLE_ADVICE = re.compile(r"[;,]?\s*lower the request rate or raise the retry budget")


def throttled(exc: RateLimitError, *, again: str = "wait a few minutes and run it again") -> CliError:
    """Exit 5 for a 429 that retrying did not get through, with what to do on the command line.

    A 429 is retried until its waits reach the retry policy's ``rate_limit_budget`` (150 s), whatever
    --max-retries says, so that flag would not help: fewer requests at once, or later, do.
    """
    said = _SDK_THROTTLE_ADVICE.sub("", str(exc))
    return CliError(
        f"throttled by the server: {_sentence(said)} Lower --concurrency so that fewer requests go out at "
        f"once, or {again}.",
        ExitCode.API,
    )


def describe(exc: BaseException) -> tuple[ExitCode, str]:
    """The exit code and the one-line message for an error the command did not expect to handle itself."""
    if isinstance(exc, CliError):
        return exc.code, exc.message
    if isinstance(exc, InvalidArgumentError):
        # ConfigurationError included: the SDK never quotes a token it refuses, and say() blanks it anyway.
        return ExitCode.USAGE, f"configuration: {' '.join(as_flags(str(exc)).split())}"
    if isinstance(exc, AuthenticationError | PermissionDeniedError):
        return ExitCode.AUTH, f"the server refused the token: {_sentence(as_flags(str(exc)))}"
    if isinstance(exc, NotFoundError):
        return ExitCode.NOT_FOUND, f"not found: {_sentence(as_flags(str(exc)))}"
    if isinstance(exc, RateLimitError):
        error = throttled(exc)
        return error.code, error.message
    if isinstance(exc, APIConnectionError):
        return (
            ExitCode.API,
            f"no answer from the server: {_sentence(str(exc))} Check --base-url and the network; "
            "--timeout and --max-retries allow for a slow server.",
        )
    if isinstance(exc, APIStatusError):
        return ExitCode.API, f"the server failed: {_sentence(as_flags(str(exc)))} Try again later."
    if isinstance(exc, APIResponseValidationError):
        return (
            ExitCode.API,
            f"unexpected answer: {_sentence(str(exc))} Is --base-url the Chatwoot server itself (not a login page)?",
        )
    if isinstance(exc, IncompleteWalkError):
        return ExitCode.INCOMPLETE, f"incomplete: {_sentence(str(exc))}"
    if isinstance(exc, ChatwootError):
        return ExitCode.API, _sentence(str(exc))
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return ExitCode.FILE, f"cannot use{where}: {exc.strerror or exc}"
    return ExitCode.UNEXPECTED, f"unexpected error: {type(exc).__name__}: {exc} (run again with --debug for details)"

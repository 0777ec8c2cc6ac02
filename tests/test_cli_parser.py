"""Flags, help and exit codes of ``main`` in process: no server involved."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from chatwoot_audit import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    Hint,
    HintCode,
    IncompleteWalkError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from chatwoot_audit._cli._connect import connection_from_args
from chatwoot_audit._cli._exits import ExitCode, FileError, UsageError, describe
from chatwoot_audit._cli._export import ExportResult, _incomplete
from chatwoot_audit._cli._parser import build_parser
from chatwoot_audit._redact import Secret, add_secret, blank_secrets, clear_secrets
from chatwoot_audit.cli import _emulator_argv, main


@pytest.mark.parametrize("command", [[], ["export"], ["follow"], ["demo"]])
def test_help_on_every_command_has_examples_and_exit_codes(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--help exits 0 and shows examples (and, for the main and server commands, the exit codes)."""
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    if command != ["demo"]:
        assert "exit codes:" in out
        assert "130" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package's version."""
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("chatwoot-audit ")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nonsense"],
        ["export", "--format", "xml"],
        ["export", "--concurrency", "0"],
        ["export", "--concurrency", "65"],
        ["export", "--timeout", "-1"],
        ["export", "--timeout", "nan"],
        ["export", "--max-retries", "-1"],
        ["export", "--account-id", "0"],
        ["export", "--token-header", "Authorization"],
        ["export", "--token", "abc"],
        ["follow", "--interval", "0"],
    ],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """argparse's usage errors become exit status 2; there is no --token flag at all."""
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_defaults() -> None:
    """Export fetches 4 pages at once; follow polls every 30 s, one page at a time."""
    export = build_parser().parse_args(["export"])
    assert (export.concurrency, export.format, export.debug, export.token_header) == (
        4,
        None,
        False,
        "api_access_token",
    )
    follow = build_parser().parse_args(["follow"])
    assert (follow.interval, follow.concurrency, follow.once) == (30.0, 1, False)


def test_shared_flags_before_or_after_the_command() -> None:
    """--debug and --quiet work on either side of the subcommand."""
    assert build_parser().parse_args(["--debug", "export"]).debug is True
    assert build_parser().parse_args(["export", "--debug"]).debug is True
    assert build_parser().parse_args(["-q", "follow"]).quiet is True


def test_filters_are_repeatable() -> None:
    """--action and friends collect every occurrence."""
    args = build_parser().parse_args(["export", "--action", "create,update", "--action", "sign_in", "--user", "5"])
    assert args.action == ["create,update", "sign_in"]
    assert args.user == ["5"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["emulator", "--entries", "5"], ["--entries", "5"]),
        (["--debug", "emulator", "--help"], ["--help"]),
        (["export", "emulator"], None),
        (["--help"], None),
    ],
)
def test_emulator_arguments_pass_through(argv: list[str], expected: list[str] | None) -> None:
    """Everything after `emulator` goes to the emulator's own parser untouched."""
    assert _emulator_argv(argv) == expected


def test_emulator_help_is_the_emulators(capsys: pytest.CaptureFixture[str]) -> None:
    """`chatwoot-audit emulator --help` shows the standalone emulator's flags."""
    assert main(["emulator", "--help"]) == 0
    assert "--arrivals-per-second" in capsys.readouterr().out


def namespace(**values: object) -> argparse.Namespace:
    """Connection flags as argparse would leave them, overridden by ``values``."""
    base: dict[str, object] = {
        "base_url": None,
        "account_id": None,
        "token_file": None,
        "token_header": "api_access_token",
        "timeout": None,
        "max_retries": None,
        "allow_insecure_http": False,
    }
    base.update(values)
    return argparse.Namespace(**base)


def test_connection_flags_win_over_the_environment(tmp_path: Path) -> None:
    """--base-url, --account-id and --token-file win; the environment fills in the rest."""
    env = {"CHATWOOT_BASE_URL": "https://env", "CHATWOOT_ACCOUNT_ID": "3", "CHATWOOT_API_ACCESS_TOKEN": "env-token"}
    from_env = connection_from_args(namespace(), env)
    assert (from_env.base_url, from_env.account_id, from_env.token.reveal()) == ("https://env", "3", "env-token")
    token_file = tmp_path / "token"
    token_file.write_text("\n  file-token  \n")
    from_flags = connection_from_args(namespace(base_url="https://flag", account_id=9, token_file=str(token_file)), env)
    assert (from_flags.base_url, from_flags.account_id, from_flags.token.reveal()) == ("https://flag", 9, "file-token")
    assert "file-token" not in repr(from_flags)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "--base-url"),
        ({"CHATWOOT_BASE_URL": "https://x"}, "--account-id"),
        ({"CHATWOOT_BASE_URL": "https://x", "CHATWOOT_ACCOUNT_ID": "1"}, "--token-file"),
        ({"CHATWOOT_BASE_URL": "https://x", "CHATWOOT_ACCOUNT_ID": "1", "CHATWOOT_API_ACCESS_TOKEN": " "}, "no API"),
    ],
)
def test_missing_settings_name_the_flag_and_the_variable(env: dict[str, str], message: str) -> None:
    """Each missing setting says both ways to give it."""
    with pytest.raises(UsageError, match=message):
        connection_from_args(namespace(), env)


def test_a_token_files_bom_is_not_part_of_the_token(tmp_path: Path) -> None:
    """A UTF-8 byte-order mark at the start of the file (Notepad's) is dropped, not sent as the token's start."""
    token_file = tmp_path / "token"
    token_file.write_bytes(b"\xef\xbb\xbffile-token\r\n")
    connection = connection_from_args(namespace(base_url="https://x", account_id=1, token_file=str(token_file)), {})
    assert connection.token.reveal() == "file-token"


@pytest.mark.parametrize("token", ["sëcret-1", "se cret-1", "se\tcret-1", "\ufeffsecret-1"])
def test_a_token_no_header_can_carry_is_a_usage_error(tmp_path: Path, token: str) -> None:
    """Non-ASCII letters, spaces or control characters: refused before any request, naming the source only."""
    env = {"CHATWOOT_BASE_URL": "https://x", "CHATWOOT_ACCOUNT_ID": "1", "CHATWOOT_API_ACCESS_TOKEN": token}
    with pytest.raises(UsageError) as caught:
        connection_from_args(namespace(), env)
    assert "CHATWOOT_API_ACCESS_TOKEN must be visible ASCII" in caught.value.message
    for part in ("cret", "ë", "\ufeff"):
        assert part not in caught.value.message
    assert "\n" not in caught.value.message


def test_token_file_must_hold_one_line(tmp_path: Path) -> None:
    """A token file with several lines is refused, without showing them."""
    token_file = tmp_path / "token"
    token_file.write_text("secret-one\nsecret-two\n")
    with pytest.raises(UsageError) as caught:
        connection_from_args(namespace(base_url="https://x", account_id=1, token_file=str(token_file)), {})
    assert "secret" not in caught.value.message


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("x"), ExitCode.USAGE),
        (FileError("x"), ExitCode.FILE),
        (
            ConfigurationError("plain http", hint=Hint(HintCode.INSECURE_HTTP, "Pass allow_insecure_http=True")),
            ExitCode.USAGE,
        ),
        (APIConnectionError("GET x failed"), ExitCode.API),
        (IncompleteWalkError("found 3 of 4", expected=4, found=3), ExitCode.INCOMPLETE),
        (PermissionError(13, "Permission denied", "out.jsonl"), ExitCode.FILE),
        (RuntimeError("boom"), ExitCode.UNEXPECTED),
    ],
)
def test_describe_maps_errors_to_exit_codes(error: BaseException, code: ExitCode) -> None:
    """Every failure has its documented exit code and one line; the SDK's advice is never shown."""
    got, message = describe(error)
    assert got == code
    assert "allow_insecure_http" not in message
    assert "\n" not in message


def test_describe_maps_status_errors() -> None:
    """401/403 exit 3, 404 exit 4, 5xx exit 5; a hint's fix is given as flags."""
    import httpx

    def status(cls: type[APIStatusError], code: int, hint: Hint | None = None) -> APIStatusError:
        response = httpx.Response(code, request=httpx.Request("GET", "https://x"))
        return cls(f"{code}", response=response, body=None, hint=hint)

    fix = Hint(HintCode.TOKEN_HEADER, "Pass the keyword", {"token_header": "Api-Access-Token"})
    code, message = describe(status(AuthenticationError, 401, fix))
    assert code == ExitCode.AUTH
    assert "--token-header Api-Access-Token" in message
    assert "keyword" not in message
    assert describe(status(NotFoundError, 404))[0] == ExitCode.NOT_FOUND
    assert describe(status(InternalServerError, 502))[0] == ExitCode.API


def test_a_token_the_sdk_refuses_is_a_configuration_error() -> None:
    """The SDK's ConfigurationError about the token: exit 2, one line, the advice in the command's terms."""
    error = ConfigurationError("the token is\nmalformed", hint=Hint(HintCode.TOKEN, "Pass api_access_token=..."))
    code, message = describe(error)
    assert code == ExitCode.USAGE
    assert message.startswith("configuration: the token is malformed. ")
    assert "CHATWOOT_API_ACCESS_TOKEN or --token-file" in message
    assert "api_access_token=" not in message
    assert "\n" not in message


def test_a_429_advises_concurrency_not_max_retries() -> None:
    """429s are bounded by the retry policy's rate-limit budget, not by --max-retries: advise what helps."""
    import httpx

    response = httpx.Response(429, request=httpx.Request("GET", "https://x"))
    hint = Hint(HintCode.RATE_LIMIT, "Raise rate_limit_budget")
    code, message = describe(
        RateLimitError("429 Too Many Requests (request id r-1)", response=response, body=None, hint=hint)
    )
    assert code == ExitCode.API
    assert "--max-retries" not in message
    assert "rate_limit_budget" not in message
    assert "429 Too Many Requests (request id r-1)" in message
    assert "Lower --concurrency" in message
    assert "wait a few minutes and run it again" in message


def test_redaction_blanks_registered_secrets() -> None:
    """A registered secret never survives in text the command prints; a Secret never shows itself."""
    clear_secrets()
    add_secret("s3cr3t-token")
    try:
        assert blank_secrets("header api_access_token: s3cr3t-token!") == "header api_access_token: <redacted>!"
        assert "s3cr3t" not in repr(Secret("s3cr3t-token")) + str(Secret("s3cr3t-token"))
    finally:
        clear_secrets()


def test_an_incomplete_export_points_at_resume() -> None:
    """Exit 6 says how many are missing and, for a file, that --resume looks for them."""
    error = IncompleteWalkError("found 7 of 10", expected=10, found=7)
    to_file = _incomplete(error, ExportResult(destination="out.jsonl"), resumable=True)
    assert to_file.code == ExitCode.INCOMPLETE
    assert "reported 10 entries but the walk found 7 (3 missing)" in to_file.message
    assert "--resume" in to_file.message
    assert "Checkpoint" not in _incomplete(error, ExportResult(), resumable=False).message

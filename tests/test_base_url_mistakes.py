"""URL mistakes refused with the fix; every 404 and connection error names the URL asked and the attempts made."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from _cli_helpers import clean_env, run_cli

from chatwoot_audit import (
    APIConnectionError,
    ChatwootAudit,
    ConfigurationError,
    Hint,
    HintCode,
    NotFoundError,
    RetryPolicy,
)
from chatwoot_audit._config import check_base_url
from chatwoot_audit.testing import Emulator

TOKEN = "s3cr3t-token-value"


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("https://chat.example.com/api/v1", "https://chat.example.com"),
        ("https://chat.example.com/api/v1/", "https://chat.example.com"),
        ("https://chat.example.com/API/V1", "https://chat.example.com"),
        ("https://chat.example.com/api", "https://chat.example.com"),
        ("https://chat.example.com/api/v1/accounts/3/audit_logs", "https://chat.example.com"),
        ("https://example.com/chatwoot/api/v1/", "https://example.com/chatwoot"),
        ("https://chat.example.com:8443/api/v1", "https://chat.example.com:8443"),
        ("https://chat.example.com/app", "https://chat.example.com"),
        ("https://chat.example.com/app/login", "https://chat.example.com"),
        ("https://chat.example.com/?page=2", "https://chat.example.com"),
        ("https://chat.example.com/chatwoot#top", "https://chat.example.com/chatwoot"),
    ],
)
def test_a_pasted_path_is_refused_with_the_base_url_to_use(url: str, fix: str) -> None:
    """The error's hint holds the exact base_url that works, and its message quotes it."""
    with pytest.raises(ConfigurationError) as caught:
        check_base_url(url, allow_insecure_http=False)
    hint = caught.value.hint
    assert hint is not None
    assert hint == Hint(HintCode.BASE_URL, hint.advice, {"base_url": fix})
    assert str(caught.value).endswith(f"base_url={fix!r}")
    assert isinstance(caught.value, ValueError)


def test_a_dashboard_url_gives_the_base_url_and_the_account() -> None:
    """A page of the dashboard names the server's root and the account id it showed."""
    with pytest.raises(ConfigurationError) as caught:
        ChatwootAudit(
            base_url="https://chat.example.com/app/accounts/3/settings/audit-logs/list",
            api_access_token=TOKEN,
            account_id=3,
        )
    message = str(caught.value)
    assert "page of the dashboard" in message
    assert caught.value.hint is not None
    assert caught.value.hint.fix == {"base_url": "https://chat.example.com", "account_id": 3}
    assert message.endswith("base_url='https://chat.example.com' and account_id=3")
    assert TOKEN not in message


@pytest.mark.parametrize(
    "url", ["https://chat.example.com/apple", "https://chat.example.com/application", "https://x.example/apis/cw"]
)
def test_a_real_path_prefix_is_kept(url: str) -> None:
    """Paths that only start like /api or /app are a prefix Chatwoot may live under."""
    assert str(check_base_url(url, allow_insecure_http=False)) == url


def test_credentials_are_refused_before_the_fix_is_shown() -> None:
    """A URL with a password is never echoed, even with /api/v1 after it."""
    with pytest.raises(ConfigurationError) as caught:
        check_base_url("https://me:hunter2@chat.example.com/api/v1", allow_insecure_http=False)
    assert "hunter2" not in str(caught.value)
    assert "credentials" in str(caught.value)


def test_the_cli_shows_the_fix_as_flags(tmp_path: Path) -> None:
    """On the command line, the fix reads as --base-url and --account-id, exit 2, and the token never shows."""
    env = clean_env(CHATWOOT_API_ACCESS_TOKEN=TOKEN)
    done = run_cli(
        ["export", "--base-url", "https://chat.example.com/app/accounts/3/dashboard", "--account-id", "3"], env
    )
    assert done.returncode == 2
    assert "Use --base-url https://chat.example.com --account-id 3." in done.stderr
    assert "base_url=" not in done.stderr
    assert TOKEN not in done.stderr + done.stdout


def test_a_404_names_the_url_asked_and_the_attempts() -> None:
    """A 404 says which request got it, after how many attempts; the token stays out of it."""
    emulator = Emulator(entries=3)
    with emulator.client(account_id=99) as client, pytest.raises(NotFoundError) as caught:
        client.page(2)
    message = str(caught.value)
    assert "in answer to GET https://chatwoot.test/api/v1/accounts/99/audit_logs (1 attempt)" in message
    assert "not the Chatwoot server's root" in message
    assert caught.value.hint is not None
    assert caught.value.hint.code == HintCode.ACCOUNT
    assert emulator.admin_token not in message


def test_a_404_after_retries_counts_every_attempt() -> None:
    """A 404 that follows a 502 counts both attempts."""
    emulator = Emulator(entries=3, faults={1: "502"})
    with emulator.client(account_id=99) as client, pytest.raises(NotFoundError, match=r"\(2 attempts\)"):
        client.page(1)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("max_retries", [0, 2])
def test_a_connection_error_names_the_url_and_the_attempts(max_retries: int) -> None:
    """The final connection error says what was asked and how many attempts were made, never the token."""
    port = _closed_port()
    policy = RetryPolicy(base_delay=0.001, max_delay=0.001)
    with (
        ChatwootAudit(
            base_url=f"http://127.0.0.1:{port}",
            api_access_token=TOKEN,
            account_id=1,
            max_retries=max_retries,
            retry_policy=policy,
        ) as client,
        pytest.raises(APIConnectionError) as caught,
    ):
        client.page(1)
    message = str(caught.value)
    assert f"GET http://127.0.0.1:{port}/api/v1/accounts/" in message
    attempts = max_retries + 1
    assert f"(gave up after {attempts} attempt{'s' if attempts > 1 else ''}). " in message
    assert caught.value.hint is not None
    assert caught.value.hint.code == HintCode.CONNECTION
    assert message.endswith(caught.value.hint.advice)
    assert TOKEN not in message

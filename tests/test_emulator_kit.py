"""The emulator as a test kit: refusals and throttling on demand, ready clients, a history that ends now."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import httpx
import pytest
from _support import async_client, sync_client

from chatwoot_audit import (
    AsyncChatwootAudit,
    AuthenticationError,
    ChatwootAudit,
    ConfigurationError,
    InternalServerError,
    NotFoundError,
    RateLimitError,
)
from chatwoot_audit.cli import main as cli_main
from chatwoot_audit.testing import TEST_RETRY_POLICY, Emulator
from chatwoot_audit.testing._core import DEFAULT_START_TIME

PINNED = 1_800_000_000

# ---- faults for every status a caller handles ----------------------------------------------------------

REFUSALS = {
    "401": (AuthenticationError, {"error": "Invalid Access Token"}),
    "401-signin": (AuthenticationError, {"errors": ["You need to sign in or sign up before continuing."]}),
    "404": (NotFoundError, {"error": "Resource could not be found"}),
}


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_a_refusal_fault_reaches_the_caller_as_its_error(face: str, kind: str) -> None:
    """401 in either body shape and 404, on either face, raise the SDK's error with the real body."""
    error, body = REFUSALS[kind]
    emu = Emulator(seed=1, entries=30, faults={1: kind})
    with sync_client(emu, face) as client, pytest.raises(error) as caught:
        client.page(1)
    assert caught.value.body == body
    assert [(record.status, record.fault) for record in emu.requests] == [(int(kind[:3]), kind)]


def test_a_throttle_fault_is_retried_through(face: str) -> None:
    """A 429 fault is Chatwoot's plain-text throttle: retried like one, on either face."""
    emu = Emulator(seed=2, entries=60, faults={1: "429", 3: "429"})
    with sync_client(emu, face) as client:
        assert len(list(client.logs())) == 60
    assert [record.status for record in emu.requests][:4] == [429, 200, 429, 200]


def test_a_throttle_that_does_not_end_is_a_rate_limit_error() -> None:
    """Past the retry budget, 429 faults end the walk with RateLimitError."""
    emu = Emulator(seed=2, entries=10, faults=lambda number: "429")
    impatient = attrs.evolve(TEST_RETRY_POLICY, rate_limit_budget=0.05)
    with emu.client(retry_policy=impatient) as client, pytest.raises(RateLimitError) as caught:
        client.page(1)
    assert caught.value.body == "Retry later\n"
    assert "retry-after" not in caught.value.response.headers


@pytest.mark.anyio
@pytest.mark.parametrize("kind", sorted(REFUSALS))
async def test_the_async_twin_sees_the_same_refusals(face: str, kind: str) -> None:
    """The async client gets the same error and body from each refusal, under asyncio and trio."""
    error, body = REFUSALS[kind]
    emu = Emulator(seed=1, entries=30, faults={1: kind})
    async with async_client(emu, face) as client:
        with pytest.raises(error) as caught:
            await client.page(1)
    assert caught.value.body == body


# ---- ready clients --------------------------------------------------------------------------------------


def test_client_is_wired_in_process() -> None:
    """emu.client() carries the emulator's token and account, https://chatwoot.test and the fast policy."""
    emu = Emulator(seed=3, entries=40)
    with emu.client() as client:
        assert isinstance(client, ChatwootAudit)
        assert str(client.base_url) == "https://chatwoot.test"
        assert client.account_id == emu.account_id
        assert client.retry_policy == TEST_RETRY_POLICY
        assert [log.id for log in client.logs()] == [entry["id"] for entry in emu.entries]
    assert {record.role for record in emu.requests} == {"administrator"}


def test_two_429s_and_a_502_take_milliseconds() -> None:
    """A walk through two throttled answers and a proxy error finishes well under a second."""
    emu = Emulator(seed=4, entries=120, faults={1: "429", 2: "429", 3: "502"})
    started = time.perf_counter()
    with emu.client() as client:
        count = sum(1 for _ in client.logs())
    elapsed = time.perf_counter() - started
    assert count == 120
    assert [record.status for record in emu.requests][:4] == [429, 429, 502, 200]
    assert elapsed < 0.5, f"{elapsed:.3f} s"


@pytest.mark.anyio
async def test_async_client_is_the_twin() -> None:
    """emu.async_client() walks the same faults as fast, under asyncio and trio."""
    emu = Emulator(seed=4, entries=120, faults={1: "429", 2: "429", 3: "502"})
    started = time.perf_counter()
    async with emu.async_client() as client:
        assert isinstance(client, AsyncChatwootAudit)
        assert client.retry_policy == TEST_RETRY_POLICY
        got = [log.id async for log in client.logs()]
    assert time.perf_counter() - started < 0.5
    assert sorted(got) == sorted(entry["id"] for entry in emu.entries)


def test_overrides_reach_the_constructor() -> None:
    """Keyword overrides go to ChatwootAudit as they are: token, retries, account."""
    emu = Emulator(seed=5, entries=10, faults={1: "502"})
    with emu.client(max_retries=0) as client, pytest.raises(InternalServerError):
        client.page(1)
    with emu.client(api_access_token="not-the-token") as client, pytest.raises(AuthenticationError):
        client.page(1)
    with emu.client(account_id=emu.suspended_account_id) as client, pytest.raises(AuthenticationError) as caught:
        client.page(1)
    assert caught.value.body == {"error": "Account is suspended"}
    assert [record.role for record in emu.requests] == ["administrator", "unknown", "administrator"]


def test_a_callers_http_client_is_kept() -> None:
    """An http_client override replaces the in-process one (here: the same transport, the caller's client)."""
    emu = Emulator(seed=5, entries=10)
    with httpx.Client(transport=emu.transport()) as http, emu.client(http_client=http) as client:
        assert client.page(1).total_entries == 10


def test_plain_http_to_a_made_up_host_is_refused() -> None:
    """Why the in-process URL is https: the SDK refuses to send a token over plain http off loopback."""
    emu = Emulator(seed=5, entries=10)
    with httpx.Client(transport=emu.transport()) as http:
        with pytest.raises(ConfigurationError):
            ChatwootAudit("http://chatwoot.test", emu.admin_token, emu.account_id, http_client=http)
        with ChatwootAudit("https://chatwoot.test", emu.admin_token, emu.account_id, http_client=http) as client:
            assert client.page(1).total_entries == 10


# ---- a history that ends now ----------------------------------------------------------------------------


def test_history_ends_when_the_emulator_is_built() -> None:
    """By default the newest entry is stamped at construction and the rest run back from it."""
    before = int(time.time())
    emu = Emulator(seed=6, entries=80)
    after = time.time()
    stamps = [int(entry["created_at"]) for entry in emu.entries]
    assert before <= stamps[0] <= after
    assert stamps == sorted(stamps, reverse=True)
    assert stamps[-1] < stamps[0]


@pytest.mark.parametrize(
    "now", [PINNED, float(PINNED) + 0.9, datetime.fromtimestamp(PINNED, UTC).astimezone(timezone(timedelta(hours=5)))]
)
def test_now_pins_the_newest_entry(now: int | float | datetime) -> None:
    """now= in Unix seconds or as an aware datetime stamps the newest entry at that second."""
    assert Emulator(seed=7, entries=50, now=now).entries[0]["created_at"] == PINNED


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("entries", [1, 2, 25, 300])
def test_now_moves_the_history_and_nothing_else(seed: int, entries: int) -> None:
    """Another now shifts every created_at by the same amount; the seed keeps ids, order and gaps."""
    here = Emulator(seed=seed, entries=entries, now=PINNED).entries
    there = Emulator(seed=seed, entries=entries, now=PINNED + 12_345).entries
    assert here[0]["created_at"] == PINNED
    assert [entry["id"] for entry in here] == [entry["id"] for entry in there]
    assert [entry["created_at"] + 12_345 for entry in here] == [entry["created_at"] for entry in there]


def test_a_pinned_now_repeats_exactly() -> None:
    """The same seed and now give the same entries on every run."""
    assert Emulator(seed=8, entries=60, now=PINNED).entries == Emulator(seed=8, entries=60, now=PINNED).entries


def test_start_time_still_names_the_oldest_entry() -> None:
    """start_time= keeps its meaning: the oldest entry's created_at."""
    assert Emulator(seed=9, entries=40, start_time=DEFAULT_START_TIME).entries[-1]["created_at"] >= DEFAULT_START_TIME
    assert Emulator(seed=9, entries=0, start_time=DEFAULT_START_TIME).total_entries == 0


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"now": PINNED, "start_time": DEFAULT_START_TIME}, ValueError),
        ({"now": datetime(2026, 6, 1)}, ValueError),  # naive: the point of the case
        ({"now": True}, TypeError),
        ({"now": "2026-06-01"}, TypeError),
        ({"now": float("nan")}, TypeError),
    ],
)
def test_bad_moments_are_refused(options: dict[str, object], error: type[Exception]) -> None:
    """Both anchors at once, a naive datetime or something that is not a time are errors."""
    with pytest.raises(error):
        Emulator(seed=1, entries=5, **options)  # type: ignore[arg-type]


def test_windows_relative_to_now_find_entries() -> None:
    """'The last 30 days' of a default emulator holds its recent history."""
    emu = Emulator(seed=10, entries=200)
    since = datetime.now(UTC) - timedelta(days=30)
    recent = [entry["id"] for entry in emu.entries if entry["created_at"] >= since.timestamp()]
    with emu.client() as client:
        got = [log.id for log in client.logs(since=since)]
    assert recent
    assert got == recent


# ---- the docs' examples, as a user writes them ------------------------------------------------------------


def export_ids(client: ChatwootAudit) -> list[int]:
    """A user's own code under test: every id in the account."""
    return [log.id for log in client.logs()]


def test_export_rides_out_throttling() -> None:
    """A user's test of their 429 handling: Chatwoot throttles twice, then a proxy fails once."""
    emu = Emulator(entries=120, faults={1: "429", 2: "429", 3: "502"})
    with emu.client() as client:
        assert sorted(export_ids(client)) == sorted(entry["id"] for entry in emu.entries)
    assert [request.status for request in emu.requests[:4]] == [429, 429, 502, 200]


def test_a_bad_token_is_reported() -> None:
    """A user's test of a bad token: AuthenticationError with the server's body."""
    emu = Emulator(entries=10)
    with emu.client(api_access_token="not-the-token") as client, pytest.raises(AuthenticationError) as caught:
        export_ids(client)
    assert caught.value.body == {"error": "Invalid Access Token"}


# ---- a window that misses the history ---------------------------------------------------------------------


def _export(tmp_path: Path, emu: Emulator, *window: str) -> str:
    token = tmp_path / "token"
    token.write_text(emu.admin_token)
    with emu.serve() as server:
        argv = ["export", "--base-url", server.base_url, "--account-id", str(emu.account_id), "--token-file"]
        assert cli_main([*argv, str(token), "--output", str(tmp_path / "out.jsonl"), *window]) == 0
    return (tmp_path / "out.jsonl").read_text()


def test_an_empty_window_says_where_the_history_lies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """export with a window that holds nothing names the oldest and newest entries the account has."""
    monkeypatch.delenv("CHATWOOT_API_ACCESS_TOKEN", raising=False)
    emu = Emulator(seed=11, entries=60, now=PINNED)
    assert _export(tmp_path, emu, "--until", "2020-01-01T00:00:00Z") == ""
    oldest, newest = (datetime.fromtimestamp(emu.entries[i]["created_at"], UTC) for i in (-1, 0))
    assert (
        "no entries until 2020-01-01T00:00:00Z; the account's 60 entries run from "
        f"{oldest:%Y-%m-%dT%H:%M:%SZ} (oldest) to {newest:%Y-%m-%dT%H:%M:%SZ} (newest)"
    ) in capsys.readouterr().err


def test_a_window_with_entries_or_no_window_gets_no_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hint is for empty windows only; an account with nothing at all is named as such."""
    monkeypatch.delenv("CHATWOOT_API_ACCESS_TOKEN", raising=False)
    assert _export(tmp_path, Emulator(seed=12, entries=30), "--since", "2d")
    assert "no entries" not in capsys.readouterr().err
    assert _export(tmp_path, Emulator(seed=12, entries=30, feature_enabled=False)) == ""
    assert "no entries" not in capsys.readouterr().err
    assert _export(tmp_path, Emulator(seed=12, entries=30, feature_enabled=False), "--since", "2d") == ""
    assert "no entries since " in capsys.readouterr().err

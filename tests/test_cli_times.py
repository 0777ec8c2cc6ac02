"""--since and --until: ISO-8601, relative times, @epoch and words; only UsageError on bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from chatwoot_audit._cli._exits import ExitCode, UsageError
from chatwoot_audit._cli._times import check_window, format_time, parse_time

NOW = datetime(2026, 11, 25, 12, 30, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", NOW - timedelta(seconds=30)),
        ("15m", NOW - timedelta(minutes=15)),
        ("12h", NOW - timedelta(hours=12)),
        ("7d", NOW - timedelta(days=7)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1d12h", NOW - timedelta(days=1, hours=12)),
        ("1H30M", NOW - timedelta(hours=1, minutes=30)),
        (" 7d ", NOW - timedelta(days=7)),
        ("now", NOW),
        ("today", datetime(2026, 11, 25, tzinfo=UTC)),
        ("yesterday", datetime(2026, 11, 24, tzinfo=UTC)),
        ("2026-06-01", datetime(2026, 6, 1, tzinfo=UTC)),
        ("2026-06-01T12:00:00Z", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        ("2026-06-01T12:00:00", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        ("2026-06-01 14:00+02:00", datetime(2026, 6, 1, 12, tzinfo=UTC)),
        ("2026-06-01T12:00:00.250-03:30", datetime(2026, 6, 1, 15, 30, 0, 250_000, tzinfo=UTC)),
        ("@1781602887", datetime(2026, 6, 16, 9, 41, 27, tzinfo=UTC)),
        ("@0", datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_parse_time_reads_each_form(text: str, expected: datetime) -> None:
    """Every documented form gives the instant it names, in UTC."""
    parsed = parse_time(text, now=NOW)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text", ["", "   ", "7", "d", "7x", "7 d", "-7d", "yesterdays", "2026-13-01", "@", "@x", "7d ago"]
)
def test_parse_time_refuses_with_a_usage_error(text: str) -> None:
    """What is not a time is a usage error (exit 2) that names the flag and the accepted forms."""
    with pytest.raises(UsageError) as caught:
        parse_time(text, now=NOW, flag="--until")
    assert caught.value.code == ExitCode.USAGE
    assert "--until" in caught.value.message


@pytest.mark.parametrize(
    "text", ["99999999999999d", "@99999999999999999999", "0001-01-01T00:00:00+05:00", "9" * 5000 + "s"]
)
def test_parse_time_out_of_range_is_a_usage_error(text: str) -> None:
    """Times past what a datetime holds are refused, with the input shortened in the message."""
    with pytest.raises(UsageError) as caught:
        parse_time(text, now=NOW)
    assert len(caught.value.message) < 400


@given(st.text())
@example("\x00")
@example("2026-06-01T25:00")
@example("@1e400")
@example("1" * 30 + "w")
def test_parse_time_never_raises_anything_else(text: str) -> None:
    """Any string either parses to an aware UTC datetime or raises UsageError."""
    try:
        parsed = parse_time(text, now=NOW)
    except UsageError:
        return
    assert parsed.tzinfo is not None
    assert parsed.utcoffset() == timedelta(0)


@given(
    st.lists(st.tuples(st.integers(0, 10**30), st.sampled_from("smhdwSMHDW")), min_size=1, max_size=4),
)
def test_relative_times_never_raise_anything_else(parts: list[tuple[int, str]]) -> None:
    """Relative times, however large, parse to now minus their sum or raise UsageError."""
    text = "".join(f"{number}{unit}" for number, unit in parts)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}
    try:
        parsed = parse_time(text, now=NOW)
    except UsageError:
        return
    seconds = sum(number * units[unit.lower()] for number, unit in parts)
    assert parsed == NOW - timedelta(seconds=seconds)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)),
    st.integers(-14 * 60, 14 * 60),
)
def test_iso_times_round_trip(moment: datetime, offset_minutes: int) -> None:
    """An ISO-8601 time with any offset parses to the same instant."""
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    assert parse_time(aware.isoformat(), now=NOW) == aware


@given(st.integers(-62_135_596_800, 253_402_300_799))
def test_epoch_seconds_round_trip(seconds: int) -> None:
    """@N is N seconds after the Unix epoch, for every N in the years 1 to 9999."""
    assert parse_time(f"@{seconds}", now=NOW).timestamp() == seconds


@pytest.mark.parametrize("seconds", [-62_135_596_801, 253_402_300_800])
def test_epoch_seconds_outside_the_calendar_are_out_of_range(seconds: int) -> None:
    """@N before year 1 or after 9999 is out of range, not malformed."""
    with pytest.raises(UsageError, match="out of range"):
        parse_time(f"@{seconds}", now=NOW)


def test_check_window_refuses_since_after_until() -> None:
    """A window that ends before it starts is a usage error; equal bounds are fine."""
    check_window(NOW, NOW)
    check_window(None, NOW)
    with pytest.raises(UsageError, match=r"--since .* is after --until"):
        check_window(NOW, NOW - timedelta(seconds=1))


def test_format_time_is_iso_utc_with_z() -> None:
    """Times print as ISO-8601 UTC with a Z, whatever zone they came in."""
    assert format_time(datetime(2026, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))) == "2026-06-01T12:00:00Z"
    assert format_time(datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=UTC)) == "2026-06-01T12:00:00.000005Z"

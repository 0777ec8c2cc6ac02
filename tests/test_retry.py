"""The retry policy: schedules, Retry-After, giving up, and validation. Pure: no sleeping."""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping

import attrs
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatwoot_audit._errors import InvalidArgumentError
from chatwoot_audit._retry import (
    DEFAULT_MAX_RETRIES,
    RETRYABLE_STATUSES,
    Retries,
    RetryDecision,
    RetryPolicy,
    RetryState,
    parse_retry_after,
)

HTTP_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"
HTTP_DATE_TS = 1445412480.0
# A year too large for the C long that email.utils turns it into.
ABSURD_YEAR_DATE = "Wed, 21 Oct 100000000000000000000 07:28:00 GMT"


def const(value: float) -> Callable[[], float]:
    """A stand-in for random.random or time.time that always answers ``value``."""
    return lambda: value


# 20 s into a one-minute window (Rack::Attack's windows are aligned on multiples of their length).
WINDOW_START = 1781602860.0
assert WINDOW_START % 60 == 0


class Clock:
    """A fake time.time that the retry loop below moves forward by each wait."""

    def __init__(self, start: float = WINDOW_START + 20) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def run(
    policy: RetryPolicy,
    *,
    status_code: int | None,
    headers: Mapping[str, str] | None = None,
    error: str | None = None,
    rng: Callable[[], float] | None = None,
    clock: Clock | None = None,
    limit: int = 1000,
    max_retries: int = 4,
) -> list[float]:
    """The waits one request goes through before the policy gives up (at most ``limit`` retries)."""
    clock = clock or Clock()
    rng = rng or const(0.0)
    state = RetryState()
    delays: list[float] = []
    for _ in range(limit):
        decision = policy.delay_for(
            state, max_retries=max_retries, status_code=status_code, headers=headers, error=error, rng=rng, now=clock
        )
        if decision.delay is None:
            return delays
        delays.append(decision.delay)
        state.record(decision, status_code=status_code)
        clock.now += decision.delay
    raise AssertionError(f"still retrying after {limit} retries: {delays[-5:]}")


# -- 5xx and connection errors -------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_default_schedule_5xx(status: int) -> None:
    """Retryable statuses wait 0.5, 1, 2, 4 s with no jitter drawn, then give up after max_retries=4."""
    assert run(RetryPolicy(), status_code=status) == [0.5, 1.0, 2.0, 4.0]


def test_default_schedule_connection_error() -> None:
    """A transport error (no status) follows the same schedule."""
    assert run(RetryPolicy(), status_code=None, error="ConnectError") == [0.5, 1.0, 2.0, 4.0]


def test_schedule_capped_at_max_delay() -> None:
    """The wait doubles up to max_delay=8 and stays there."""
    assert run(RetryPolicy(), max_retries=7, status_code=503) == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_worst_case_jitter() -> None:
    """rng() at its top end shortens every wait by the full jitter: factor 0.75."""
    assert run(RetryPolicy(), max_retries=6, status_code=500, rng=const(1.0)) == [0.375, 0.75, 1.5, 3.0, 6.0, 6.0]


@given(st.lists(st.floats(min_value=0.0, max_value=1.0, exclude_max=True), min_size=10, max_size=10))
@settings(max_examples=50)
def test_jitter_factor_in_range(draws: list[float]) -> None:
    """Each wait is min(0.5 * 2**n, 8) times a factor in [0.75, 1]."""
    values = iter(draws)
    policy = RetryPolicy()
    state = RetryState()
    for n in range(10):
        decision = policy.delay_for(state, max_retries=10, status_code=502, rng=lambda: next(values))
        assert decision.delay is not None
        nominal = min(0.5 * 2**n, 8.0)
        assert 0.75 * nominal <= decision.delay <= nominal
        state.record(decision, status_code=502)


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_gives_up_after_max_retries(max_retries: int) -> None:
    """Exactly max_retries waits, then a decision with no delay and a reason."""
    policy = RetryPolicy()
    assert len(run(policy, max_retries=max_retries, status_code=503)) == max_retries
    state = RetryState(retries=max_retries)
    decision = policy.delay_for(state, max_retries=max_retries, status_code=503)
    assert not decision.retry
    assert f"max_retries={max_retries}" in decision.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422, 418, 501, 505, 302])
def test_non_retryable_give_up_at_once(status: int) -> None:
    """Statuses that retrying cannot fix give up on the first failure."""
    decision = RetryPolicy().delay_for(RetryState(), status_code=status)
    assert decision.delay is None
    assert decision.retry is False
    assert "not retryable" in decision.reason
    assert str(status) in decision.reason


def test_retryable_statuses() -> None:
    """The retryable set is 408, 429, the usual transient 5xx and Cloudflare's 520-524."""
    assert frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524}) == RETRYABLE_STATUSES


# -- 429 -----------------------------------------------------------------------------------------

NO_WINDOW = RetryPolicy(rate_limit_window=None)


def test_429_schedule_without_window() -> None:
    """With no window, a 429 without Retry-After waits 2, 4, 8, 16, 30, 30... until 150 s are spent."""
    assert run(NO_WINDOW, status_code=429) == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0]


def test_429_schedule_worst_jitter_without_window() -> None:
    """The 429 schedule is jittered too, and the budget still bounds the sum."""
    delays = run(NO_WINDOW, status_code=429, rng=const(1.0))
    assert delays == [1.5, 3.0, 6.0, 12.0, 22.5, 22.5, 22.5, 22.5, 22.5]
    assert sum(delays) <= 150.0


def test_429_default_waits_for_next_window() -> None:
    """By default the first two 429s wait for the next one-minute window, then the schedule starts."""
    delays = run(RetryPolicy(), status_code=429, clock=Clock(WINDOW_START + 20))
    assert delays == pytest.approx([40.25, 60.0, 2.0, 4.0, 8.0, 16.0])


@pytest.mark.parametrize("offset", [0.0, 0.1, 30.0, 59.9])
def test_429_window_wait_lands_just_after_boundary(offset: float) -> None:
    """Wherever in the window the 429 comes, the wait ends just after the next window begins."""
    now = WINDOW_START + offset
    delay = RetryPolicy().delay_for(RetryState(), status_code=429, now=const(now)).delay
    assert delay is not None
    assert 0 < delay <= 60.25
    assert (now + delay) % 60 == pytest.approx(0.25)


def test_429_window_follows_server_date() -> None:
    """When the server's Date disagrees with our clock, the window is read from the server's clock."""
    server_now = WINDOW_START + 50  # our clock says +20: 30 s behind the server
    headers = httpx.Headers({"Date": email.utils.formatdate(server_now, usegmt=True)})
    delay = RetryPolicy().delay_for(RetryState(), status_code=429, headers=headers, now=const(WINDOW_START + 20)).delay
    assert delay == pytest.approx(10.25)


def test_429_window_ignores_close_server_date() -> None:
    """A Date within a second of our clock is not trusted over our finer clock."""
    headers = httpx.Headers({"Date": email.utils.formatdate(WINDOW_START + 20, usegmt=True)})
    delay = (
        RetryPolicy().delay_for(RetryState(), status_code=429, headers=headers, now=const(WINDOW_START + 20.7)).delay
    )
    assert delay == pytest.approx(39.55)


def test_429_window_ignores_garbage_date() -> None:
    """An unparsable Date header falls back to our own clock."""
    headers = httpx.Headers({"Date": "yesterday-ish"})
    delay = RetryPolicy().delay_for(RetryState(), status_code=429, headers=headers, now=const(WINDOW_START + 20)).delay
    assert delay == pytest.approx(40.25)


def test_429_not_limited_by_max_retries() -> None:
    """max_retries does not cap 429s: they have their own budget."""
    assert len(run(RetryPolicy(), max_retries=1, status_code=429)) > 2
    assert len(run(RetryPolicy(rate_limit_window=None), max_retries=0, status_code=429)) > 2


@pytest.mark.parametrize("rng_value", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("offset", [0.0, 20.0, 59.99])
@pytest.mark.parametrize("window", [60.0, None])
def test_429_tolerates_a_throttled_minute(rng_value: float, offset: float, window: float | None) -> None:
    """With any jitter and clock, a 429 policy waits at least 60 s in total before giving up."""
    policy = RetryPolicy(rate_limit_window=window)
    delays = run(policy, status_code=429, rng=const(rng_value), clock=Clock(WINDOW_START + offset))
    assert sum(delays) >= 60.0
    assert sum(delays) <= policy.rate_limit_budget


def test_429_gives_up_with_reason() -> None:
    """Past the budget the decision explains itself."""
    policy = RetryPolicy(rate_limit_budget=10.0)
    decision = policy.delay_for(RetryState(rate_limited=3, rate_limit_waited=9.0), status_code=429)
    assert decision.delay is None
    assert "rate_limit_budget=10" in decision.reason


def test_429_and_5xx_counted_apart() -> None:
    """429 retries do not use up max_retries, and 5xx retries do not advance the 429 schedule."""
    state = RetryState()
    for _ in range(3):
        state.record(NO_WINDOW.delay_for(state, status_code=429, rng=const(0.0)), status_code=429)
    assert NO_WINDOW.delay_for(state, status_code=503, rng=const(0.0)).delay == 0.5
    state.record(NO_WINDOW.delay_for(state, status_code=503, rng=const(0.0)), status_code=503)
    assert NO_WINDOW.delay_for(state, status_code=429, rng=const(0.0)).delay == 16.0


@pytest.mark.parametrize("window", [60.0, None])
def test_no_rate_limit_budget_gives_up(window: float | None) -> None:
    """rate_limit_budget=0 means a 429 is final."""
    assert run(RetryPolicy(rate_limit_budget=0.0, rate_limit_window=window), status_code=429) == []


# -- Retry-After ---------------------------------------------------------------------------------


def test_retry_after_seconds_on_429() -> None:
    """Retry-After in seconds is honoured as is, without jitter."""
    decision = RetryPolicy().delay_for(
        RetryState(), status_code=429, headers=httpx.Headers({"Retry-After": "7"}), rng=const(1.0)
    )
    assert decision.delay == 7.0


def test_retry_after_seconds_on_503() -> None:
    """Retry-After also sets the wait of a retryable 5xx."""
    decision = RetryPolicy().delay_for(RetryState(), status_code=503, headers=httpx.Headers({"Retry-After": "3"}))
    assert decision.delay == 3.0


def test_retry_after_ms() -> None:
    """retry-after-ms is milliseconds and wins over Retry-After."""
    headers = httpx.Headers({"retry-after-ms": "1500", "Retry-After": "9"})
    assert RetryPolicy().delay_for(RetryState(), status_code=429, headers=headers).delay == 1.5


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": " 2.5 "}, 2.5),
        ({"retry-after": "0"}, 0.0),
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "bad", "retry-after": "4"}, 4.0),
        ({"retry-after-ms": "-5", "retry-after": "4"}, 4.0),
        ({"retry-after": HTTP_DATE}, 10.0),
        ({"retry-after": "Wed, 21 Oct 2015 07:27:00 GMT"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-3"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after": "inf"}, math.inf),
        ({"retry-after": "1e400"}, math.inf),
        ({"retry-after": ""}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    """Seconds, milliseconds and HTTP-dates parse; garbage, negatives and zone-less dates give None; an
    unrepresentably long wait is infinite (too long for any policy)."""
    assert parse_retry_after(httpx.Headers(headers), now=const(HTTP_DATE_TS - 10)) == expected


def test_parse_retry_after_plain_mapping() -> None:
    """A plain lower-case mapping works too (the client passes httpx.Headers)."""
    assert parse_retry_after({"retry-after": "5"}) == 5.0


def test_retry_after_http_date_uses_injected_now() -> None:
    """delay_for reads an HTTP-date Retry-After against its injected clock."""
    decision = RetryPolicy().delay_for(
        RetryState(), status_code=429, headers=httpx.Headers({"Retry-After": HTTP_DATE}), now=const(HTTP_DATE_TS - 10)
    )
    assert decision.delay == 10.0


@pytest.mark.parametrize("value", ["soon", "-3", "nan", ""])
def test_unusable_retry_after_falls_back_to_schedule(value: str) -> None:
    """A garbage or negative Retry-After is ignored: the 429 schedule applies."""
    decision = NO_WINDOW.delay_for(
        RetryState(), status_code=429, headers=httpx.Headers({"Retry-After": value}), rng=const(0.0)
    )
    assert decision.delay == 2.0


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize(
    "headers",
    [{"Retry-After": "121"}, {"Retry-After": "86400"}, {"retry-after-ms": "3600000"}, {"Retry-After": "1e400"}],
)
def test_retry_after_above_max_gives_up(status: int, headers: dict[str, str]) -> None:
    """Asking for longer than max_retry_after (120 s) is a give-up, not a hang."""
    decision = RetryPolicy().delay_for(RetryState(), status_code=status, headers=httpx.Headers(headers))
    assert decision.delay is None
    assert "max_retry_after=120" in decision.reason


def test_retry_after_far_http_date_gives_up() -> None:
    """An HTTP-date a day away is over max_retry_after too."""
    headers = httpx.Headers({"Retry-After": HTTP_DATE})
    assert parse_retry_after(headers, now=const(HTTP_DATE_TS - 86400)) == 86400.0
    decision = RetryPolicy(max_retry_after=60.0).delay_for(
        RetryState(), status_code=429, headers=httpx.Headers({"Retry-After": "86400"})
    )
    assert decision.delay is None


def test_retry_after_at_max_is_honoured() -> None:
    """A wait of exactly max_retry_after is still honoured."""
    decision = RetryPolicy().delay_for(RetryState(), status_code=429, headers=httpx.Headers({"Retry-After": "120"}))
    assert decision.delay == 120.0


def test_retry_after_does_not_lift_max_retries() -> None:
    """A 5xx with Retry-After still stops after max_retries."""
    delays = run(RetryPolicy(), max_retries=2, status_code=503, headers=httpx.Headers({"Retry-After": "1"}))
    assert delays == [1.0, 1.0]


def test_retry_after_counts_against_rate_limit_budget() -> None:
    """429 waits from Retry-After add up against rate_limit_budget."""
    delays = run(RetryPolicy(rate_limit_budget=100.0), status_code=429, headers=httpx.Headers({"Retry-After": "30"}))
    assert delays == [30.0, 30.0, 30.0]


def test_retry_after_zero_eventually_gives_up() -> None:
    """A server answering 429 with Retry-After: 0 forever does not make the client retry forever."""
    run(RetryPolicy(), status_code=429, headers=httpx.Headers({"Retry-After": "0"}), limit=10_000)


@pytest.mark.parametrize("value", [ABSURD_YEAR_DATE, "Wed, 21 Oct 99999 07:28:00 GMT"])
def test_retry_after_absurd_year_is_unusable(value: str) -> None:
    """An HTTP-date whose year cannot be represented is no usable header: the 429 schedule applies."""
    assert parse_retry_after(httpx.Headers({"Retry-After": value})) is None
    decision = NO_WINDOW.delay_for(
        RetryState(), status_code=429, headers=httpx.Headers({"Retry-After": value}), rng=const(0.0)
    )
    assert decision.delay == 2.0


# -- RetryState and RetryDecision ----------------------------------------------------------------


def test_state_record_counts_429_apart() -> None:
    """record() counts 429s and their waits apart from other retries; attempts counts both."""
    state = RetryState()
    assert state.attempts == 1
    state.record(RetryDecision(2.0, "status 429"), status_code=429)
    state.record(RetryDecision(4.0, "status 429"), status_code=429)
    state.record(RetryDecision(0.5, "status 503"), status_code=503)
    state.record(RetryDecision(1.0, "ConnectError"), status_code=None)
    assert (state.retries, state.rate_limited, state.rate_limit_waited) == (2, 2, 6.0)
    assert state.attempts == 5


def test_decision_retry_property() -> None:
    """A decision retries exactly when it carries a delay (0 included)."""
    assert RetryDecision(0.0, "x").retry is True
    assert RetryDecision(None, "x").retry is False


# -- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "base_delay",
        "max_delay",
        "rate_limit_base_delay",
        "rate_limit_max_delay",
        "rate_limit_budget",
        "max_retry_after",
    ],
)
@pytest.mark.parametrize("value", [-1.0, -0.001, math.nan, math.inf, "1"])
def test_policy_rejects_bad_numbers(name: str, value: object) -> None:
    """Delays and budgets must be finite numbers >= 0."""
    with pytest.raises(ValueError, match=name):
        RetryPolicy(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 0.0, -1.0, math.nan, math.inf, "60"])
def test_policy_rejects_bad_window(value: object) -> None:
    """rate_limit_window must be a finite number of seconds > 0, or None."""
    with pytest.raises(ValueError, match="rate_limit_window"):
        RetryPolicy(rate_limit_window=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, 4, None])
def test_the_policy_has_no_max_retries(value: object) -> None:
    """Retries are counted by the client alone: the policy refuses the keyword and names the one to use."""
    with pytest.raises(TypeError, match=r"pass max_retries= to the client"):
        RetryPolicy(max_retries=value)  # type: ignore[call-arg]
    assert "max_retries" not in attrs.fields_dict(RetryPolicy)


def test_retries_pass_the_clients_count_to_the_policy() -> None:
    """Retries.delay_for is the policy's decision with the client's max_retries."""
    retries = Retries(RetryPolicy(jitter=0.0), max_retries=1)
    first = retries.delay_for(RetryState(), status_code=503)
    assert first.delay == 0.5
    assert not retries.delay_for(RetryState(retries=1), status_code=503).retry


@pytest.mark.parametrize("value", [-0.1, 1.0, 1.5, math.nan, True, "0.2"])
def test_policy_rejects_bad_jitter(value: object) -> None:
    """jitter must be in [0, 1)."""
    with pytest.raises(ValueError, match="jitter"):
        RetryPolicy(jitter=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_delay": -1.0},
        {"max_retry_after": math.inf},
        {"rate_limit_window": 0},
        {"jitter": 1.0},
    ],
)
def test_policy_errors_are_invalid_argument_errors(kwargs: dict[str, object]) -> None:
    """Every validator raises the SDK's InvalidArgumentError (still a ValueError), not a bare ValueError."""
    with pytest.raises(InvalidArgumentError) as info:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)


def test_policy_accepts_edges() -> None:
    """Zeros are valid, and jitter 0 means no jitter at all."""
    policy = RetryPolicy(base_delay=0.0, jitter=0.0, rate_limit_budget=0.0, max_retry_after=0.0)
    assert policy.base_delay == 0.0
    assert not policy.delay_for(RetryState(), max_retries=0, status_code=500).retry
    assert RetryPolicy(jitter=0.0).delay_for(RetryState(), status_code=500, rng=const(1.0)).delay == 0.5


def test_default_policy_values() -> None:
    """The defaults the docstring states."""
    policy = RetryPolicy()
    assert (policy.base_delay, policy.max_delay) == (0.5, 8.0)
    assert DEFAULT_MAX_RETRIES == 4
    assert (policy.rate_limit_base_delay, policy.rate_limit_max_delay) == (2.0, 30.0)
    assert policy.rate_limit_budget >= 60.0
    assert policy.rate_limit_window == 60.0
    assert policy.jitter == 0.25


# -- properties ----------------------------------------------------------------------------------

header_values = st.one_of(
    st.text(max_size=40),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.datetimes(timezones=st.timezones()).map(lambda d: email.utils.format_datetime(d)),
    st.sampled_from(
        [HTTP_DATE, "Wed, 21 Oct 2015 07:28:00 -0000", "Mon, 99 Foo 20150 99:99:99 GMT", "1e400", ABSURD_YEAR_DATE]
    ),
)
headers_strategy = st.dictionaries(st.sampled_from(["retry-after", "retry-after-ms", "date", "x-other"]), header_values)
delay_values = st.floats(min_value=0.0, max_value=1e6)
policies = st.builds(
    RetryPolicy,
    base_delay=delay_values,
    max_delay=delay_values,
    rate_limit_base_delay=delay_values,
    rate_limit_max_delay=delay_values,
    rate_limit_budget=delay_values,
    max_retry_after=delay_values,
    rate_limit_window=st.one_of(st.none(), st.floats(min_value=0.001, max_value=1e4)),
    jitter=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
)
states = st.builds(
    RetryState,
    retries=st.integers(min_value=0, max_value=100),
    rate_limited=st.integers(min_value=0, max_value=100),
    rate_limit_waited=st.floats(min_value=0.0, max_value=1e7),
)


@given(
    policy=st.one_of(st.just(RetryPolicy()), policies),
    max_retries=st.integers(min_value=0, max_value=10),
    state=states,
    status_code=st.one_of(st.none(), st.sampled_from(sorted(RETRYABLE_STATUSES)), st.integers(100, 599)),
    headers=st.one_of(st.none(), headers_strategy),
    rng_value=st.floats(min_value=0.0, max_value=1.0),
    now_value=st.floats(min_value=0.0, max_value=4e9),
)
@settings(max_examples=300, deadline=None)
def test_delay_for_never_raises_and_is_bounded(
    policy: RetryPolicy,
    max_retries: int,
    state: RetryState,
    status_code: int | None,
    headers: dict[str, str] | None,
    rng_value: float,
    now_value: float,
) -> None:
    """For any headers and state, delay_for answers, and any delay is finite, >= 0 and bounded."""
    decision = policy.delay_for(
        state,
        max_retries=max_retries,
        status_code=status_code,
        headers=headers,
        error="ReadError",
        rng=const(rng_value),
        now=const(now_value),
    )
    assert isinstance(decision.reason, str)
    if decision.delay is not None:
        assert math.isfinite(decision.delay)
        assert decision.delay >= 0
        # A wait for the next rate-limit window may exceed the other caps by a margin of at most 0.25 s.
        window = (policy.rate_limit_window or 0.0) + 0.25
        assert decision.delay <= max(policy.max_delay, policy.rate_limit_max_delay, policy.max_retry_after, window)


@given(headers=headers_strategy, now_value=st.floats(min_value=0.0, max_value=4e9))
@settings(max_examples=300, deadline=None)
def test_parse_retry_after_never_raises(headers: dict[str, str], now_value: float) -> None:
    """parse_retry_after answers None or a number >= 0 (infinite only for an absurd wait) for any header values."""
    value = parse_retry_after(headers, now=const(now_value))
    assert value is None or value >= 0

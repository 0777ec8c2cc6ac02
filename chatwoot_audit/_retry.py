"""When to retry and how long to wait: a pure policy, no sleeping and no I/O.

The sync and async clients each have one place that sleeps; both ask :meth:`Retries.delay_for`.

How many times a failed request is retried is the client's ``max_retries``, and only that: the
:class:`RetryPolicy` says how long each wait is, and it has no count of its own, so that no two settings
can disagree. :class:`Retries` holds the two together for the clients.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Final, Self

import attrs
import httpx

from ._errors import InvalidArgumentError

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "RETRYABLE_STATUSES",
    "Retries",
    "RetryDecision",
    "RetryPolicy",
    "RetryState",
    "Throttle",
    "parse_retry_after",
]

DEFAULT_MAX_RETRIES: Final = 4

# 520-524 are the transient origin errors of Cloudflare, which often fronts hosted Chatwoot.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 521, 522, 523, 524})
# However short the waits a server asks for, a request stops retrying 429s after this many.
MAX_RATE_LIMITED_ATTEMPTS = 1000


def parse_retry_after(headers: Mapping[str, str], *, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP-date.

    Returns None when there is no usable header: Chatwoot itself never sends one, proxies and hosted
    services may. A wait too large to represent is ``math.inf`` (too long, whatever the limit).
    """
    if not isinstance(headers, httpx.Headers):
        headers = {str(k).lower(): v for k, v in headers.items()}
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            value = float(raw_ms) / 1000.0
        except ValueError:
            value = math.nan
        if value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        value = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError, OverflowError):  # OverflowError: a year past any C long
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - now())
    return value if value >= 0 else None


@attrs.frozen
class RetryDecision:
    """What to do after a failed attempt: wait ``delay`` seconds and retry, or give up (``delay`` None)."""

    delay: float | None
    reason: str

    @property
    def retry(self) -> bool:
        return self.delay is not None


def _non_negative(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise InvalidArgumentError(f"{attribute.name} must be a finite number >= 0, not {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How long a client waits before it retries a request that failed in a way worth retrying.

    Connection errors, timeouts and 5xx answers wait ``min(base_delay * 2**n, max_delay)`` seconds times a
    jitter factor in [0.75, 1], up to the client's ``max_retries`` times (the one place retries are
    counted: the policy has no count of its own).

    A 429 without Retry-After is Chatwoot's own throttle (Rack::Attack): it counts requests in fixed
    windows of ``rate_limit_window`` seconds aligned on multiples of that length, and says nothing about
    when to come back. So the first two such answers wait for the next window to begin (by the server's
    ``Date`` header when its clock disagrees with ours by more than a second). After that, or with
    ``rate_limit_window=None``, waits grow as ``min(rate_limit_base_delay * 2**n, rate_limit_max_delay)``.
    Either way a request keeps trying until its waits add up to ``rate_limit_budget`` seconds, so a walk
    gets through a throttled minute. A Retry-After (or retry-after-ms) header is honoured up to
    ``max_retry_after`` seconds; asking for longer is an error, not a hang.
    """

    base_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    rate_limit_base_delay: float = attrs.field(default=2.0, validator=_non_negative)
    rate_limit_max_delay: float = attrs.field(default=30.0, validator=_non_negative)
    rate_limit_budget: float = attrs.field(default=150.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=120.0, validator=_non_negative)
    rate_limit_window: float | None = attrs.field(default=60.0)
    jitter: float = attrs.field(default=0.25)

    @rate_limit_window.validator
    def _check_window(self, attribute: attrs.Attribute[float | None], value: float | None) -> None:
        if value is not None and (
            isinstance(value, bool) or not (isinstance(value, int | float) and math.isfinite(value) and value > 0)
        ):
            raise InvalidArgumentError(f"rate_limit_window must be a number of seconds > 0 or None, not {value!r}")

    def __new__(cls, *args: Any, **kwargs: Any) -> Self:
        # Runs before attrs' __init__, which would refuse the keyword with a bare TypeError.
        if "max_retries" in kwargs:
            raise TypeError(
                "RetryPolicy has no max_retries: pass max_retries= to the client, the one place retries are "
                "counted (ChatwootAudit(max_retries=8, retry_policy=RetryPolicy(...)))"
            )
        return super().__new__(cls)

    @jitter.validator
    def _check_jitter(self, attribute: attrs.Attribute[float], value: float) -> None:
        if isinstance(value, bool) or not (isinstance(value, int | float) and 0 <= value < 1):
            raise InvalidArgumentError(f"jitter must be in [0, 1), not {value!r}")

    def _jittered(self, delay: float, rng: Callable[[], float]) -> float:
        return delay * (1.0 - self.jitter * rng())

    def _until_next_window(self, window: float, headers: Mapping[str, str] | None, now: float) -> float:
        server_now = now
        date = None
        if headers is not None:
            date = (
                headers.get("date") if isinstance(headers, httpx.Headers) else headers.get("date", headers.get("Date"))
            )
        if date:
            try:
                stamped = email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                stamped = None
            # Date has whole seconds; trust our finer clock unless the two clearly disagree.
            if stamped is not None and abs(stamped - now) > 1.5:
                server_now = stamped
        margin = min(0.25, window / 50)
        return window - (server_now % window) + margin

    def delay_for(
        self,
        state: RetryState,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
        rng: Callable[[], float] = random.random,
        now: Callable[[], float] = time.time,
    ) -> RetryDecision:
        """Decide about the attempt that just failed with ``status_code`` (or a transport ``error``).

        ``state`` counts this request's earlier retries; the caller records the decision with
        :meth:`RetryState.record` when it retries. ``max_retries`` is the client's: how many failures
        other than 429s a request retries.
        """
        what = f"status {status_code}" if status_code is not None else (error or "error")
        if status_code is not None and status_code not in RETRYABLE_STATUSES:
            return RetryDecision(None, f"{what} is not retryable")
        retry_after = parse_retry_after(headers, now=now) if headers is not None else None
        if retry_after is not None and retry_after > self.max_retry_after:
            return RetryDecision(
                None,
                f"{what}: the server asked to wait {retry_after:.0f}s, over max_retry_after={self.max_retry_after:g}s",
            )
        if status_code == 429:
            if retry_after is not None:
                delay = retry_after
            elif self.rate_limit_window is not None and state.rate_limited < 2:
                delay = self._until_next_window(self.rate_limit_window, headers, now())
            else:
                exp = min(max(state.rate_limited - (0 if self.rate_limit_window is None else 2), 0), 32)
                delay = self._jittered(min(self.rate_limit_base_delay * 2**exp, self.rate_limit_max_delay), rng)
            # A server may ask for no wait at all; each 429 still spends a little of the budget, so that a
            # server that never lets up ends in an error rather than a busy loop.
            delay = max(delay, min(self.rate_limit_base_delay / 10, self.rate_limit_max_delay))
            if (
                state.rate_limit_waited + delay > self.rate_limit_budget
                or state.rate_limited >= MAX_RATE_LIMITED_ATTEMPTS
            ):
                return RetryDecision(
                    None,
                    f"{what}: still throttled after waiting {state.rate_limit_waited:.0f}s "
                    f"(rate_limit_budget={self.rate_limit_budget:g}s)",
                )
            return RetryDecision(delay, what)
        if state.retries >= max_retries:
            return RetryDecision(None, f"{what} after {state.retries} retries (max_retries={max_retries})")
        if retry_after is not None:
            return RetryDecision(retry_after, what)
        exp = min(state.retries, 32)
        return RetryDecision(self._jittered(min(self.base_delay * 2**exp, self.max_delay), rng), what)


@attrs.frozen
class Retries:
    """A client's retrying: its policy (how long to wait) and its ``max_retries`` (how many times)."""

    policy: RetryPolicy
    max_retries: int

    def delay_for(
        self,
        state: RetryState,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
    ) -> RetryDecision:
        """:meth:`RetryPolicy.delay_for` with this client's ``max_retries``."""
        return self.policy.delay_for(
            state, max_retries=self.max_retries, status_code=status_code, headers=headers, error=error
        )


@attrs.define
class RetryState:
    """The retries one request has made so far: 429s are counted apart from other failures."""

    retries: int = 0
    rate_limited: int = 0
    rate_limit_waited: float = 0.0

    def record(self, decision: RetryDecision, *, status_code: int | None) -> None:
        assert decision.delay is not None
        if status_code == 429:
            self.rate_limited += 1
            self.rate_limit_waited += decision.delay
        else:
            self.retries += 1

    @property
    def attempts(self) -> int:
        """Attempts made so far, the first included."""
        return 1 + self.retries + self.rate_limited


@attrs.define
class Throttle:
    """How many requests a concurrent walk may have in flight, shared by all of its requests.

    Starts at the walk's ``concurrency``. A 429 halves it and holds every request back until the wait it
    earned is over; each run of successes as long as the current limit raises it by one again, up to
    the ceiling (additive increase, multiplicative decrease).
    """

    ceiling: int
    limit: int = attrs.field()
    resume_at: float = 0.0
    _streak: int = 0

    @limit.default
    def _limit_default(self) -> int:
        return self.ceiling

    def wait(self, now: float) -> float:
        """Seconds to hold a request back before sending it."""
        return max(0.0, self.resume_at - now)

    def rate_limited(self, now: float, delay: float) -> None:
        """A request was throttled and will wait ``delay`` seconds: halve the limit, hold everyone back."""
        self.limit = max(1, self.limit // 2)
        self.resume_at = max(self.resume_at, now + delay)
        self._streak = 0

    def succeeded(self) -> None:
        """A request got through: after as many in a row as the limit, allow one more at once."""
        self._streak += 1
        if self._streak >= self.limit and self.limit < self.ceiling:
            self.limit += 1
            self._streak = 0


# Reported where users import it from, as every public class is (tracebacks, reprs, help()).
RetryPolicy.__module__ = "chatwoot_audit"

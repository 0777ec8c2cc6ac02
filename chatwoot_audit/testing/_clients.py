"""SDK clients wired to an emulator in process, with retry waits of milliseconds.

The real retry schedule is right for a real server and wrong for a test: it waits for Chatwoot's next
one-minute throttle window after a 429, and half a second and more after a 5xx. ``TEST_RETRY_POLICY``
keeps the same shape (windows, then exponential waits, capped and budgeted) at a scale a test suite can
afford, so that code which handles throttling and outages runs through it in milliseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import httpx

from .._client import AsyncChatwootAudit, ChatwootAudit
from .._retry import RetryPolicy

if TYPE_CHECKING:
    from ._core import Emulator

__all__ = ["IN_PROCESS_BASE_URL", "TEST_RETRY_POLICY", "async_client", "sync_client"]

TEST_RETRY_POLICY: Final = RetryPolicy(
    base_delay=0.001,
    max_delay=0.01,
    rate_limit_base_delay=0.002,
    rate_limit_max_delay=0.02,
    # A throttle that never lets up ends in RateLimitError after half a second, not after minutes.
    rate_limit_budget=0.5,
    rate_limit_window=0.01,
    jitter=0.0,
)
"""The retry policy of ``Emulator.client()``: every wait in milliseconds, 429 windows of 10 ms included.

Up to the client's ``max_retries`` (4 by default) retries of a connection error, a timeout or a 5xx (1, 2,
4, 8 ms); a 429 waits for the next 10 ms window twice, then 2, 4, 8 ms and so on up to 20 ms, until its
waits add up to half a second."""

IN_PROCESS_BASE_URL: Final = "https://chatwoot.test"
"""The base URL of in-process clients. No request leaves the process; ``https`` because the SDK refuses
to send a token over plain http to any host but loopback."""


def _options(emulator: Emulator, overrides: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "base_url": IN_PROCESS_BASE_URL,
        "api_access_token": emulator.admin_token,
        "account_id": emulator.account_id,
        "retry_policy": TEST_RETRY_POLICY,
        # A slow fault or latency longer than this ends in APITimeoutError, as it would on a network.
        "timeout": 10.0,
    }
    options.update(overrides)
    return options


def sync_client(emulator: Emulator, overrides: dict[str, Any]) -> ChatwootAudit:
    """A ``ChatwootAudit`` answered by ``emulator`` through its httpx transport; see ``Emulator.client``."""
    options = _options(emulator, overrides)
    if options.get("http_client") is None:
        # Nothing from the environment (a .netrc login, say) belongs on requests to a server in process.
        options["http_client"] = httpx.Client(transport=emulator.transport(), trust_env=False)
    return ChatwootAudit(**options)


def async_client(emulator: Emulator, overrides: dict[str, Any]) -> AsyncChatwootAudit:
    """The async twin of :func:`sync_client`: an ``AsyncChatwootAudit``, for asyncio and trio alike."""
    options = _options(emulator, overrides)
    if options.get("http_client") is None:
        options["http_client"] = httpx.AsyncClient(transport=emulator.transport(), trust_env=False)
    return AsyncChatwootAudit(**options)

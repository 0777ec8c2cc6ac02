"""Clients wired to the emulator over either face, with retry waits short enough for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx

from chatwoot_audit import AsyncChatwootAudit, ChatwootAudit, RetryPolicy
from chatwoot_audit.testing import Emulator

# Real schedules wait seconds; these keep the shape (exponential, capped, budgeted) at a thousandth.
FAST_RETRIES = RetryPolicy(
    base_delay=0.001,
    max_delay=0.01,
    rate_limit_base_delay=0.005,
    rate_limit_max_delay=0.05,
    rate_limit_budget=10.0,
    rate_limit_window=None,
    jitter=0.0,
)

FAST_MAX_RETRIES = 6

MEMORY_BASE_URL = "https://chatwoot.test"


def _options(emu: Emulator, kwargs: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {
        "api_access_token": emu.admin_token,
        "account_id": emu.account_id,
        "retry_policy": FAST_RETRIES,
        "max_retries": FAST_MAX_RETRIES,
        "timeout": 5.0,
    }
    options.update(kwargs)
    return options


@contextmanager
def sync_client(emu: Emulator, face: str, **kwargs: Any) -> Iterator[ChatwootAudit]:
    """A ChatwootAudit talking to ``emu`` in process (``face="memory"``) or over loopback (``"socket"``)."""
    options = _options(emu, kwargs)
    if face == "memory":
        with (
            httpx.Client(transport=emu.transport()) as http,
            ChatwootAudit(MEMORY_BASE_URL, http_client=http, **options) as client,
        ):
            yield client
    else:
        with emu.serve() as server, ChatwootAudit(server.base_url, **options) as client:
            yield client


@asynccontextmanager
async def async_client(emu: Emulator, face: str, **kwargs: Any) -> AsyncIterator[AsyncChatwootAudit]:
    """The async twin of :func:`sync_client`."""
    options = _options(emu, kwargs)
    if face == "memory":
        async with (
            httpx.AsyncClient(transport=emu.transport()) as http,
            AsyncChatwootAudit(MEMORY_BASE_URL, http_client=http, **options) as client,
        ):
            yield client
    else:
        with emu.serve() as server:
            async with AsyncChatwootAudit(server.base_url, **options) as client:
                yield client


def ids(entries: list[dict[str, Any]]) -> list[int]:
    return [int(entry["id"]) for entry in entries]

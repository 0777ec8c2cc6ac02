"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs under asyncio and under trio."""
    return str(request.param)


@pytest.fixture(params=["memory", "socket"])
def face(request: pytest.FixtureRequest) -> str:
    """The emulator in process (an httpx transport) or over a real loopback socket."""
    return str(request.param)

"""The async faces under trio: waiting goes through anyio, so trio works as asyncio does."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from chatwoot_audit.testing import Emulator

PATH = "/api/v1/accounts/{}/audit_logs"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    """Run on trio."""
    return "trio"


@pytest.fixture(params=["transport", "socket"])
async def client_for(
    request: pytest.FixtureRequest, anyio_backend: str
) -> AsyncIterator[tuple[Emulator, httpx.AsyncClient]]:
    """An emulator with latency and a few faults, and an AsyncClient reaching it through one face."""
    emu = Emulator(seed=4, entries=30, latency=0.005, faults={2: "drop", 3: "truncate", 4: "slow"}, slow_delay=5.0)
    if request.param == "socket":
        with emu.serve() as server:
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                yield emu, client
    else:
        async with httpx.AsyncClient(base_url="http://chatwoot.test", transport=emu.transport()) as client:
            yield emu, client


async def test_trio_answers_and_faults(client_for: tuple[Emulator, httpx.AsyncClient]) -> None:
    """Latency, drop, truncate and slow behave on trio as on asyncio."""
    emu, client = client_for
    headers = {"api_access_token": emu.admin_token}
    url = PATH.format(emu.account_id)
    response = await client.get(url, headers=headers)
    assert response.json()["total_entries"] == 30
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(url, headers=headers)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.get(url, headers=headers)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(url, headers=headers, timeout=httpx.Timeout(10.0, read=0.05))
    response = await client.get(url, headers={"api_access_token": emu.tokens["agent"]})
    assert response.json() == {"error": "You are not authorized to do this action"}
    assert [record.fault for record in emu.requests] == [None, "drop", "truncate", "slow", None]

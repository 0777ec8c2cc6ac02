"""A faithful fake of Chatwoot's audit-log endpoint, for tests, demos and benchmarks.

``Emulator`` answers ``GET /api/v1/accounts/{account_id}/audit_logs`` as a real Chatwoot server does (not
as its OpenAPI description says): 401s in two body shapes, 404 for an unknown account, an empty 200 when
the feature is off, 429 as plain text without Retry-After, ``page`` coerced like Ruby's ``to_i``, 25 or 15
entries a page, many entries per second with no tie-breaker, a ``Date`` header on every answer. On top
of that it injects what production does to clients: latency, new entries arriving mid-walk, late commits
(entries of a slow transaction that appear seconds below the top, often with ids lower than ones already
seen), entries from a host whose clock runs fast (``add_entry`` with a future ``created_at``), unstable
tie order, rate limits and faults (5xx, HTML where JSON was expected, broken JSON, dropped connections,
truncated bodies, slow answers, and the real server's 401s, 404 and 429 at the requests of your choice).

Two faces share one emulator::

    from chatwoot_audit.testing import Emulator

    emu = Emulator(seed=1, entries=60, faults={1: "429", 2: "502"})
    with emu.client() as client:                       # a ChatwootAudit in process, retries in milliseconds
        logs = list(client.logs())
    http = httpx.Client(transport=emu.transport(), base_url="https://chatwoot.test")   # plain httpx
    with emu.serve() as server:                                                          # a real socket
        httpx.get(f"{server.base_url}/api/v1/accounts/{emu.account_id}/audit_logs",
                  headers={"api_access_token": emu.admin_token})

The history ends when the emulator is built (``now=`` pins it). Installing the package also gives pytest
a ``chatwoot_emulator`` fixture: see ``chatwoot_audit.testing._plugin``.

``python -m chatwoot_audit.testing`` runs it as a standalone server.
"""

from ._auth import ROLES
from ._clients import TEST_RETRY_POLICY
from ._core import ConnectionDropped, Emulator, RequestRecord
from ._faults import FAULT_KINDS, RANDOM_FAULT_KINDS, FaultKind, Faults, RandomFaults
from ._ratelimit import ManualClock
from ._replies import Reply
from ._server import EmulatorServer
from ._transport import EmulatorTransport

__all__ = [
    "FAULT_KINDS",
    "RANDOM_FAULT_KINDS",
    "ROLES",
    "TEST_RETRY_POLICY",
    "ConnectionDropped",
    "Emulator",
    "EmulatorServer",
    "EmulatorTransport",
    "FaultKind",
    "Faults",
    "ManualClock",
    "RandomFaults",
    "Reply",
    "RequestRecord",
]

"""A user's test of an export through a flaky proxy, written as the emulator's docs show it."""

from chatwoot_audit import ChatwootAudit
from chatwoot_audit.testing import Emulator


def test_export_survives_a_flaky_proxy() -> None:
    """A user's test: a full export survives a 502 and a dropped connection while entries arrive."""
    # A 502 on request 2, a dropped connection on request 4, and a new entry after every request.
    emu = Emulator(seed=42, entries=120, faults={2: "502", 4: "drop"}, arrivals_per_request=1)
    with (
        emu.serve() as server,
        ChatwootAudit(base_url=server.base_url, api_access_token=emu.admin_token, account_id=emu.account_id) as client,
    ):
        expected = {entry["id"] for entry in emu.entries}  # what exists when the walk starts
        seen = [log.id for log in client.logs()]
    assert expected <= set(seen)
    assert len(seen) == len(set(seen))
    assert [record.fault for record in emu.requests if record.fault] == ["502", "drop"]

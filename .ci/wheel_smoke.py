"""Run by .ci/run in a fresh venv holding only the built wheel, from outside the source tree.

It checks that what a user installs imports and works: both packages with their py.typed markers, a
real walk against the emulator over loopback, and the command line without the cli extra.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import chatwoot_audit_generated

import chatwoot_audit
from chatwoot_audit import ChatwootAudit, Checkpoint
from chatwoot_audit.testing import Emulator


def main() -> int:
    source = Path(__file__).resolve().parent.parent
    for package in (chatwoot_audit, chatwoot_audit_generated):
        folder = Path(package.__file__).resolve().parent
        assert source not in folder.parents, f"{package.__name__} was imported from the source tree: {folder}"
        assert (folder / "py.typed").is_file(), f"{package.__name__} ships no py.typed"

    emu = Emulator(seed=1, entries=120, arrivals_per_request=1)
    before = {entry["id"] for entry in emu.entries}
    with emu.serve() as server, ChatwootAudit(server.base_url, emu.admin_token, emu.account_id) as client:
        ids = [log.id for log in client.logs(concurrency=4)]
        assert len(ids) == len(set(ids)), "the walk repeated entries"
        assert before <= set(ids), "the walk lost entries"
        cp = Checkpoint()
        assert len(list(client.logs_after(cp))) >= len(before)

    script = shutil.which("chatwoot-audit", path=str(Path(sys.executable).parent))
    assert script, "the chatwoot-audit command is not installed"
    shown = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "export" in shown.stdout, shown.stdout
    if importlib.util.find_spec("rich") is None:
        demo = subprocess.run([script, "demo"], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
        assert demo.returncode != 0, demo.stdout + demo.stderr
        assert "chatwoot-audit[cli]" in demo.stderr, demo.stderr
    print(f"wheel ok: chatwoot-audit {chatwoot_audit.__version__}, {len(ids)} entries walked over loopback")
    return 0


if __name__ == "__main__":
    sys.exit(main())

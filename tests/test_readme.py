"""Every Python example in the README runs, against the emulator over loopback.

``tests/test_docs.py`` runs the examples of ``docs/`` the same way, with :func:`serve_examples` and
:func:`run_example`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chatwoot_audit import AuditLog
from chatwoot_audit.testing import Emulator

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_readme_has_examples() -> None:
    """The README shows code for every part of the API it describes."""
    text = "\n".join(BLOCKS)
    for name in ("ChatwootAudit", "AsyncChatwootAudit", "logs_after", "Checkpoint", "RetryPolicy", "Emulator"):
        assert name in text


def test_the_readme_stays_short() -> None:
    """The README is an introduction; the details live in docs/."""
    assert len(README.read_bytes()) < 16 * 1024


def serve_examples(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on loopback, named by the CHATWOOT_* variables the examples read, in a folder of their own."""
    emu = Emulator(seed=7, entries=180)
    with emu.serve() as running:
        monkeypatch.setenv("CHATWOOT_BASE_URL", running.base_url)
        monkeypatch.setenv("CHATWOOT_API_ACCESS_TOKEN", emu.admin_token)
        monkeypatch.setenv("CHATWOOT_ACCOUNT_ID", str(emu.account_id))
        monkeypatch.chdir(tmp_path)
        yield emu


def run_example(code: str, source: str, server: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """Run ``code`` as written, then the tests it defines; ``ship`` stands for the reader's own log store."""
    shipped: list[AuditLog] = []
    namespace: dict[str, Any] = {"__name__": "doc_example", "ship": shipped.append}
    exec(compile(code, source, "exec"), namespace)  # noqa: S102 - the documentation's own examples
    for name, value in list(namespace.items()):
        if name.startswith("test_") and callable(value):
            value()
    if "ship(" in code:
        assert sorted(log.id for log in shipped) == sorted(entry["id"] for entry in server.entries)
    if "print(" in code:
        assert capsys.readouterr().out.strip()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    """An emulator on loopback, named by the CHATWOOT_* variables the examples read."""
    yield from serve_examples(monkeypatch, tmp_path)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, server: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    """The example runs as written."""
    run_example(code, str(README), server, capsys)

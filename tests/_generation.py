"""Regenerations shared by the whole test session: each costs about a second, so each input runs once."""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.util
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import regenerate
from _spec import OVERRIDES_PATH, SPEC_PATH

_WORK = Path(tempfile.mkdtemp(prefix="chatwoot-audit-tests-generated-"))
atexit.register(shutil.rmtree, _WORK, True)


@functools.cache
def regenerated(spec_text: str | None = None, overrides_text: str | None = None) -> tuple[Path, tuple[str, ...]]:
    """generated/ as regeneration makes it from these inputs, and its notes; from openapi/ itself (the stamp
    naming it) when neither is given.

    The folder is shared: read it, never change it.
    """
    key = hashlib.sha256(f"{spec_text}\0{overrides_text}".encode()).hexdigest()[:16]
    folder = _WORK / key
    target = folder / "generated"
    target.mkdir(parents=True)
    spec, overrides = SPEC_PATH, OVERRIDES_PATH
    if spec_text is not None:
        spec = folder / "audit_logs.yaml"
        spec.write_text(spec_text, encoding="utf-8")
    if overrides_text is not None:
        overrides = folder / "overrides.yaml"
        overrides.write_text(overrides_text, encoding="utf-8")
    notes = regenerate.generate_into(target, spec_path=spec, overrides_path=overrides)
    return target, tuple(notes)


@contextmanager
def imported(package: Path, name: str) -> Iterator[ModuleType]:
    """A generated package imported under another name, so that it cannot clash with the committed one."""
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        for loaded in [m for m in sys.modules if m.partition(".")[0] == name]:
            del sys.modules[loaded]

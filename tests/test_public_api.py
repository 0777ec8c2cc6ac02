"""The public surface: what __all__ promises, documented."""

from __future__ import annotations

import inspect

import chatwoot_audit
import chatwoot_audit.testing


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted as ruff sorts it (constants first) and names only what the package defines."""
    names = [n for n in chatwoot_audit.__all__ if n != "__version__"]
    assert names == sorted(names, key=lambda name: (not name.isupper(), name))
    for name in chatwoot_audit.__all__:
        assert hasattr(chatwoot_audit, name)


def test_every_public_name_and_method_has_a_docstring() -> None:
    """Every exported class and function, and every public method and property of the classes, says what it is."""
    missing = []
    for module in (chatwoot_audit, chatwoot_audit.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if not inspect.getdoc(obj):
                missing.append(name)
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") or not (callable(member) or isinstance(member, property)):
                        continue
                    if not inspect.getdoc(member):
                        missing.append(f"{name}.{attr}")
    assert missing == []

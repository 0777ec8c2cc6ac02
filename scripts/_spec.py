"""Reading the vendored spec and applying the overrides in openapi/: shared by the scripts and the tests."""

from __future__ import annotations

import copy
import hashlib
import io
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPENAPI = ROOT / "openapi"
SPEC_PATH = OPENAPI / "audit_logs.yaml"
OVERRIDES_PATH = OPENAPI / "overrides.yaml"
CONFIG_PATH = OPENAPI / "generator.yaml"
AUDIT_LOGS_PATH = "/api/v1/accounts/{account_id}/audit_logs"


class SpecError(Exception):
    """The spec or an override cannot be used as it is."""


def load_yaml(text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except YAMLError as exc:
        raise SpecError(f"not valid YAML: {exc}") from exc


def dump_yaml(data: Any, *, width: int = 80) -> str:
    """YAML in the layout of the published spec: block style, keys in document order, wide lines.

    ``width`` is where plain scalars wrap; a caller that places its own folds passes a larger one.
    """
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt", pure=True)
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = width
    buf = io.StringIO()
    yaml.dump(data, buf)
    return buf.getvalue()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _resolve_parent(doc: Any, pointer: str) -> tuple[Any, str]:
    if not pointer.startswith("/"):
        raise SpecError(f"override path {pointer!r} is not a JSON pointer")
    tokens = [_unescape(t) for t in pointer[1:].split("/")]
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise SpecError(f"override path {pointer!r}: {token!r} does not exist in the spec")
    return node, tokens[-1]


def apply_overrides(spec: Any, overrides: Any, *, start: int = 1) -> Any:
    """Return a copy of ``spec`` with the JSON-Patch-like ``overrides`` applied in order.

    Every override needs a ``reason``; ``replace`` and ``remove`` need their target to exist, so that an
    upstream change that moves a field is reported instead of silently skipped. Messages number the
    overrides from ``start``, so that one applied alone is still named by its place in the file.
    """
    if not isinstance(overrides, list):
        raise SpecError("overrides must be a list of operations")
    doc = copy.deepcopy(spec)
    for number, item in enumerate(overrides, start=start):
        if not isinstance(item, dict):
            raise SpecError(f"override #{number} is not a mapping")
        op, pointer, reason = item.get("op"), item.get("path"), item.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise SpecError(f"override #{number} ({pointer}) has no reason")
        if not isinstance(pointer, str):
            raise SpecError(f"override #{number} has no path")
        parent, key = _resolve_parent(doc, pointer)
        if op in ("replace", "remove"):
            present = key in parent if isinstance(parent, dict) else key.isdigit() and int(key) < len(parent)
            if not present:
                raise SpecError(f"override #{number}: {op} of {pointer!r}, which does not exist in the spec")
        if op in ("add", "replace"):
            if "value" not in item:
                raise SpecError(f"override #{number} ({pointer}) has no value")
            value = copy.deepcopy(item["value"])
            if isinstance(parent, list):
                if key == "-":
                    parent.append(value)
                elif op == "add":
                    parent.insert(int(key), value)
                else:
                    parent[int(key)] = value
            else:
                parent[key] = value
        elif op == "remove":
            del parent[int(key) if isinstance(parent, list) else key]
        else:
            raise SpecError(f"override #{number} ({pointer}): unknown op {op!r}")
    return doc


def pointer_exists(doc: Any, pointer: str) -> bool:
    """Whether the JSON pointer names something in ``doc`` (a key of a mapping or an index of a list)."""
    try:
        parent, key = _resolve_parent(doc, pointer)
    except SpecError:
        return False
    if isinstance(parent, dict):
        return key in parent
    return isinstance(parent, list) and key.isdigit() and int(key) < len(parent)


def load_spec(path: Path = SPEC_PATH) -> Any:
    return load_yaml(path.read_text(encoding="utf-8"))


def merged_spec(spec_path: Path = SPEC_PATH, overrides_path: Path = OVERRIDES_PATH) -> Any:
    """The vendored spec with the overrides applied: what the generator is fed."""
    return apply_overrides(load_spec(spec_path), load_yaml(overrides_path.read_text(encoding="utf-8")))


def response_schema(spec: Any, status: str = "200") -> Any:
    """The JSON schema of one response of the audit-log operation, with the spec's components beside it."""
    schema = spec["paths"][AUDIT_LOGS_PATH]["get"]["responses"][status]["content"]["application/json"]["schema"]
    return {**schema, "components": spec["components"]}

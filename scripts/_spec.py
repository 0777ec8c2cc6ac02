"""Reading the vendored spec and applying the overrides in openapi/: shared by the scripts and the tests."""

from __future__ import annotations

import copy
import hashlib
import io
import re
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


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


# What value_at returns for a pointer that names nothing: unlike None, never a value a spec holds.
MISSING: Any = _Missing()


def value_at(doc: Any, pointer: str) -> Any:
    """What the JSON pointer names in ``doc``, or MISSING."""
    try:
        parent, key = _resolve_parent(doc, pointer)
    except SpecError:
        return MISSING
    if isinstance(parent, dict):
        return parent.get(key, MISSING)
    if isinstance(parent, list) and key.isdigit() and int(key) < len(parent):
        return parent[int(key)]
    return MISSING


def escape(token: str) -> str:
    """A key as one token of a JSON pointer."""
    return token.replace("~", "~0").replace("/", "~1")


def component(doc: Any, ref: str) -> tuple[str, str, Any]:
    """The kind, name and value of the component a ``#/components/<kind>/<name>`` reference points to."""
    match = re.fullmatch(r"#/components/([^/]+)/([^/]+)", ref)
    if match is None:
        raise SpecError(f"$ref {ref!r} does not point into #/components/ (only those references are supported)")
    kind, name = (_unescape(token) for token in match.groups())
    section = (doc.get("components") or {}).get(kind) if isinstance(doc, dict) else None
    if not isinstance(section, dict) or name not in section:
        raise SpecError(f"$ref {ref!r} points to nothing in the document")
    return kind, name, section[name]


def deref(doc: Any, node: Any) -> Any:
    """``node``, or what its ``$ref`` points to when that exists."""
    ref = node.get("$ref") if isinstance(node, dict) else None
    if isinstance(ref, str):
        try:
            return component(doc, ref)[2]
        except SpecError:
            return node
    return node


def schema_types(doc: Any, schema: Any, _seen: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """The JSON types a schema accepts in the order it names them, "null" last however it is spelled; () for any.

    OpenAPI 3.0 marks null with ``nullable: true``, 3.1 with a type array: both read the same here.
    References, oneOf and anyOf contribute their members' types.
    """
    if not isinstance(schema, dict):
        return ()
    ref = schema.get("$ref")
    if isinstance(ref, str):
        try:
            target = component(doc, ref)[2]
        except SpecError:
            return ()
        return () if ref in _seen else schema_types(doc, target, _seen | {ref})
    declared = schema.get("type")
    found = [str(t) for t in (declared if isinstance(declared, list) else [declared] if declared else [])]
    for key in ("oneOf", "anyOf"):
        for member in schema.get(key) or ():
            member_types = schema_types(doc, member, _seen)
            if not member_types:
                return ()
            found.extend(member_types)
    if not found:
        return ()
    if schema.get("nullable") is True or None in (schema.get("enum") or ()):
        found.append("null")
    unique = list(dict.fromkeys(found))
    return tuple(t for t in unique if t != "null") + (("null",) if "null" in unique else ())


def json_schema(node: Any) -> Any:
    """A copy of an OpenAPI schema as JSON Schema 2020-12 reads it: ``nullable: true`` as a "null" type.

    An OpenAPI 3.0 document spells null with ``nullable``, which JSON Schema ignores; validating against the
    3.1 spelling accepts what both mean.
    """
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    # A boolean "nullable" is the keyword; a schema under that name (a property called nullable) stays.
    out = {
        key: json_schema(value) for key, value in node.items() if not (key == "nullable" and isinstance(value, bool))
    }
    if node.get("nullable") is True:
        declared = out.get("type")
        if isinstance(declared, str):
            out["type"] = [declared, "null"]
        elif isinstance(declared, list) and "null" not in declared:
            out["type"] = [*declared, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def load_spec(path: Path = SPEC_PATH) -> Any:
    return load_yaml(path.read_text(encoding="utf-8"))


def merged_spec(spec_path: Path = SPEC_PATH, overrides_path: Path = OVERRIDES_PATH) -> Any:
    """The vendored spec with the overrides applied: what the generator is fed."""
    return apply_overrides(load_spec(spec_path), load_yaml(overrides_path.read_text(encoding="utf-8")))


def response_schema(spec: Any, status: str = "200") -> Any:
    """The JSON schema of one response of the audit-log operation, with the spec's components beside it.

    Nullability reads the same in either OpenAPI spelling (see json_schema).
    """
    schema = spec["paths"][AUDIT_LOGS_PATH]["get"]["responses"][status]["content"]["application/json"]["schema"]
    return json_schema({**schema, "components": spec["components"]})

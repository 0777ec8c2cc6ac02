"""Refresh openapi/audit_logs.yaml from Chatwoot's full application spec, and say what changed.

    python scripts/update_spec.py SOURCE --check                     # report; exit 1 on a change that matters
    python scripts/update_spec.py SOURCE                             # write openapi/audit_logs.yaml
    python scripts/update_spec.py SOURCE --dry-run                   # report only, exit 0
    python scripts/update_spec.py SOURCE --output /tmp/audit_logs.yaml

SOURCE is a path or an http(s) URL, such as the raw file in Chatwoot's repository:
https://raw.githubusercontent.com/chatwoot/chatwoot/develop/swagger/tag_groups/application_swagger.json

From the source (JSON or YAML) it keeps the audit-log path, every component that path references
(transitively: schemas, parameters, responses, the security schemes its `security` names) and the
document's openapi, info, servers, security and tags, and writes them in the layout of the published spec.
It then reports, against the current openapi/audit_logs.yaml:

- what changed: fields, types, enums, required keys, parameters (with required and default), responses
  (with media types), the operationId and tags; each with the facade file(s) it concerns, and whether an
  override hides it. Descriptions, examples and the document's info, tags and servers are listed apart.
- what each override in openapi/overrides.yaml now does: one whose target upstream changed hides that
  change (a pinned one holds a name on purpose), one the new spec makes redundant can go, one that no
  longer applies must be fixed before regenerating.
- what the facade (chatwoot_audit/) must change to match the new merged spec, edit by edit.

Nothing else is touched: regenerate generated/ yourself.

Exit status: 0 when nothing changed or the new spec was written (or, with --dry-run, would be); with
--check, which never writes, 0 when only descriptions and examples changed and 1 on anything else; 2 when
the source cannot be used (missing, not JSON or YAML, no audit-log path), with a one-line message.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _contract
from _spec import (
    AUDIT_LOGS_PATH,
    MISSING,
    OVERRIDES_PATH,
    ROOT,
    SPEC_PATH,
    SpecError,
    _unescape,
    apply_overrides,
    component,
    deref,
    dump_yaml,
    escape,
    json_schema,
    load_spec,
    load_yaml,
    sha256_file,
    value_at,
)

TOP_LEVEL = ("openapi", "info", "servers", "security", "tags")
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
FETCH_TIMEOUT = 60.0

# The published spec is written by js-yaml with its defaults: a string longer than 80 columns less its
# indentation is folded (>-) at the last space that keeps each line within that width, and a shorter one
# stays on one line however far it reaches. Doing the same keeps a rewrite of an unchanged spec identical,
# so that `git diff` on openapi/ shows only what upstream changed.
_LINE_WIDTH = 80
_NO_WRAP = 1 << 16


@dataclass(frozen=True)
class Change:
    """One readable line of a spec diff; ``cosmetic`` ones (descriptions, examples) change no behaviour.

    ``pointer`` is where in the spec it happened (a JSON pointer): what overrides and facade parts match.
    """

    text: str
    cosmetic: bool = False
    pointer: str = field(default="", compare=False)


# ---------------------------------------------------------------------------------------------- reading


def read_source(source: str) -> str:
    """The text at ``source``, a local path or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked just above)
            source, headers={"Accept": "application/json, application/yaml;q=0.9, */*;q=0.1"}
        )
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:  # noqa: S310
                data: bytes = response.read()
        except urllib.error.URLError as exc:
            raise SpecError(f"cannot fetch it: {exc.reason}") from exc
        except (OSError, ValueError) as exc:
            raise SpecError(f"cannot fetch it: {exc}") from exc
    else:
        try:
            data = Path(source).read_bytes()
        except FileNotFoundError:
            raise SpecError("no such file") from None
        except IsADirectoryError:
            raise SpecError("is a directory, not a spec file") from None
        except OSError as exc:
            raise SpecError(f"cannot read it: {exc.strerror}") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SpecError("not JSON or YAML (not UTF-8 text)") from None


def parse_document(text: str) -> dict[str, Any]:
    """The OpenAPI document in ``text``, JSON or YAML."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        # A document that opens like JSON is meant as JSON: its own error (often a truncated download) says more.
        if text.lstrip().startswith(("{", "[")):
            raise SpecError(f"not valid JSON: {exc}") from None
        try:
            doc = load_yaml(text)
        except SpecError:
            raise SpecError("not JSON or YAML") from None
    if not isinstance(doc, dict):
        raise SpecError("not an OpenAPI document (JSON or YAML, but not a mapping)")
    return doc


# ------------------------------------------------------------------------------------------- extracting


def _refs(node: Any) -> Iterator[str]:
    """Every reference in ``node``: ``$ref`` values and discriminator mappings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "discriminator" and isinstance(value, dict) and isinstance(value.get("mapping"), dict):
                yield from (v for v in value["mapping"].values() if isinstance(v, str) and v.startswith("#/"))
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def extract(full: dict[str, Any]) -> dict[str, Any]:
    """The audit-log subset of a full Chatwoot spec: the path, what it references, and the document's header."""
    paths = full.get("paths")
    if not isinstance(paths, dict) or not isinstance(paths.get(AUDIT_LOGS_PATH), dict):
        raise SpecError(f"no {AUDIT_LOGS_PATH} path in the document")
    path_item = paths[AUDIT_LOGS_PATH]

    wanted: dict[str, set[str]] = {}
    requirements = [full.get("security") or []]
    requirements += [path_item[m].get("security") or [] for m in METHODS if isinstance(path_item.get(m), dict)]
    for requirement in (r for reqs in requirements for r in reqs if isinstance(r, dict)):
        for scheme in requirement:
            component(full, f"#/components/securitySchemes/{scheme}")
            wanted.setdefault("securitySchemes", set()).add(scheme)
    pending = list(_refs(path_item))
    while pending:
        kind, name, target = component(full, pending.pop())
        if name not in wanted.setdefault(kind, set()):
            wanted[kind].add(name)
            pending.extend(_refs(target))

    out: dict[str, Any] = {}
    for key in TOP_LEVEL:
        if key in full:
            out[key] = copy.deepcopy(full[key])
        elif key == "security":
            # Absent and empty mean the same (no document-wide requirement); the published page writes [].
            out[key] = []
    out["paths"] = {AUDIT_LOGS_PATH: copy.deepcopy(path_item)}
    components = {
        kind: {name: copy.deepcopy(value) for name, value in section.items() if name in wanted[kind]}
        for kind, section in full.get("components", {}).items()
        if kind in wanted
    }
    if components:
        out["components"] = components
    return out


# -------------------------------------------------------------------------------------------- rendering


def follow_layout(new: Any, old: Any) -> Any:
    """``new`` with its mapping keys in the order ``old`` has them (new keys last), so that diffs stay small."""
    if isinstance(new, dict):
        ref = old if isinstance(old, dict) else {}
        keys = [k for k in ref if k in new] + [k for k in new if k not in ref]
        return {k: follow_layout(new[k], ref.get(k)) for k in keys}
    if isinstance(new, list):
        ref_items = old if isinstance(old, list) else []
        return [follow_layout(item, ref_items[i] if i < len(ref_items) else None) for i, item in enumerate(new)]
    return new


def _js_yaml_folds(text: str, width: int) -> list[int]:
    """Where js-yaml's foldLine breaks ``text``: the indexes of the spaces it turns into line breaks."""
    folds: list[int] = []
    start = current = 0
    for match in re.finditer(r" [^ ]", text):
        following = match.start()
        if following - start > width:
            end = current if current > start else following
            folds.append(end)
            start = end + 1
        current = following
    if len(text) - start > width and current > start:
        folds.append(current)
    return folds


def _styled(node: Any, column: int) -> Any:
    """``node`` with its long strings marked for folding; ``column`` is where its content starts."""
    if isinstance(node, str):
        width = max(40, _LINE_WIDTH - column)
        if len(node) <= width or "\n" in node or node != node.strip():
            return node
        from ruamel.yaml.scalarstring import FoldedScalarString

        folded = FoldedScalarString(node)
        folded.fold_pos = _js_yaml_folds(node, width)
        return folded
    if isinstance(node, dict):
        return {key: _styled(value, column + 2) for key, value in node.items()}
    if isinstance(node, list):
        return [_styled(item, column + 2) for item in node]
    return node


def render(spec: dict[str, Any], current: Any) -> str:
    """The YAML text of ``spec`` in the layout of the published spec and the key order of ``current``."""
    return dump_yaml(_styled(follow_layout(spec, current), 0), width=_NO_WRAP)


# ---------------------------------------------------------------------------------------------- diffing

_COSMETIC = frozenset({"description", "summary", "example", "examples", "externalDocs", "x-codeSamples"})
_SCHEMA_HANDLED = frozenset({"type", "nullable", "format", "enum", "required", "properties", "items", "$ref"})
# The document's info, tag descriptions and servers reach no generated code but docstrings: the package
# and project names are configured, and the facade passes its own base URL.
_DOCUMENTATION = frozenset({"info", "tags", "servers"})
_OPERATION = f"/paths/{escape(AUDIT_LOGS_PATH)}"


def _brief(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else ""


def _key_changes(
    label: str, old: Any, new: Any, skip: frozenset[str] = frozenset(), pointer: str = ""
) -> Iterator[Change]:
    """One line per top-level key of two mappings that differs, other than the ``skip`` ones."""
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}
    for key in [*old_map, *(k for k in new_map if k not in old_map)]:
        if key in skip or old_map.get(key) == new_map.get(key):
            continue
        cosmetic, where = key in _COSMETIC, f"{pointer}/{escape(key)}"
        if key not in new_map:
            yield Change(f"{label} {key} removed", cosmetic, where)
        elif key not in old_map:
            shown = _brief(new_map[key])
            yield Change(f"{label} {key} added" + (f": {shown}" if shown else ""), cosmetic, where)
        else:
            before, after = _brief(old_map[key]), _brief(new_map[key])
            text = f"{label} {key} {before} -> {after}" if before and after else f"{label} {key} changed"
            yield Change(text, cosmetic, where)


def _type_text(schema: Any) -> str:
    """A short name for what a schema accepts: ``string``, ``integer | null``, ``array of audit_log``..."""
    if not isinstance(schema, dict):
        return "?"
    if isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    declared = schema.get("type")
    types = [str(t) for t in (declared if isinstance(declared, list) else [declared] if declared else [])]
    if schema.get("nullable") is True and "null" not in types:
        types.append("null")
    names = []
    for name in types:
        if name == "array" and "items" in schema:
            name = f"array of {_type_text(schema['items'])}"
        elif "format" in schema and name != "null":
            name = f"{name} ({schema['format']})"
        names.append(name)
    combined = next((key for key in ("oneOf", "anyOf", "allOf") if key in schema), None)
    return " | ".join(names) or combined or "any"


def _enum_change(label: str, old: Any, new: Any, pointer: str) -> Change:
    if not isinstance(new, list):
        return Change(f"{label} enum removed (now open; was {', '.join(map(str, old))})", pointer=pointer)
    if not isinstance(old, list):
        return Change(f"{label} enum added: {', '.join(map(str, new))}", pointer=pointer)
    parts = [
        f"{verb} {', '.join(map(str, values))}"
        for verb, values in (
            ("added", [v for v in new if v not in old]),
            ("removed", [v for v in old if v not in new]),
        )
        if values
    ]
    return Change(
        f"{label} enum values {'; '.join(parts)}" if parts else f"{label} enum values reordered", False, pointer
    )


def _schema_changes(label: str, old: Any, new: Any, pointer: str = "") -> Iterator[Change]:
    """Fields added or removed, types, enums and required keys changed, recursively through inline schemas."""
    if old == new:
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        yield Change(f"{label} changed", pointer=pointer)
        return
    if _type_text(old) != _type_text(new):
        yield Change(f"{label} type {_type_text(old)} -> {_type_text(new)}", pointer=f"{pointer}/type")
    elif "null" in _type_text(old).split(" | ") and _nullability(old) != _nullability(new):
        yield Change(f"{label} null spelled as {_nullability(new)}, was {_nullability(old)}", True, f"{pointer}/type")
    if old.get("enum") != new.get("enum"):
        yield _enum_change(label, old.get("enum"), new.get("enum"), f"{pointer}/enum")
    old_required, new_required = set(old.get("required") or []), set(new.get("required") or [])
    required = f"{pointer}/required"
    yield from (Change(f"{label}.{name} now required", False, required) for name in sorted(new_required - old_required))
    yield from (
        Change(f"{label}.{name} no longer required", False, required) for name in sorted(old_required - new_required)
    )
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    for name, schema in new_props.items():
        if name not in old_props:
            yield Change(f"{label}.{name} added ({_type_text(schema)})", pointer=f"{pointer}/properties/{escape(name)}")
    for name, schema in old_props.items():
        where = f"{pointer}/properties/{escape(name)}"
        if name not in new_props:
            yield Change(f"{label}.{name} removed", pointer=where)
        else:
            yield from _schema_changes(f"{label}.{name}", schema, new_props[name], where)
    # A referenced item type is named by _type_text; only an inline one has insides of its own to compare.
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict) and "$ref" not in {*old_items, *new_items}:
        yield from _schema_changes(f"{label}[]", old_items, new_items, f"{pointer}/items")
    yield from _key_changes(label, old, new, skip=_SCHEMA_HANDLED, pointer=pointer)


def _nullability(schema: dict[str, Any]) -> str:
    return "nullable: true (OpenAPI 3.0)" if schema.get("nullable") is True else "a type array (OpenAPI 3.1)"


def _mapping(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def _parameters(spec: Any, path_item: dict[str, Any], method: str) -> dict[str, tuple[str, Any]]:
    """The operation's parameters by a readable key, path-level ones included, references resolved, each with
    the pointer to where it is written."""
    found: dict[str, tuple[str, Any]] = {}
    for where, raw_list in (("", path_item.get("parameters")), (f"/{method}", path_item[method].get("parameters"))):
        for index, raw in enumerate(raw_list or []):
            param = _mapping(deref(spec, raw))
            if param:
                ref = _mapping(raw).get("$ref")
                pointer = str(ref)[1:] if isinstance(ref, str) else f"{_OPERATION}{where}/parameters/{index}"
                found[f"{param.get('name')} ({param.get('in')})"] = (pointer, param)
    return found


def _parameter_text(param: dict[str, Any]) -> str:
    """What the report says of a parameter: its type, whether it is required, its default."""
    schema = _mapping(param.get("schema"))
    parts = [_type_text(schema), "required" if param.get("required") is True else "optional"]
    if "default" in schema:
        parts.append(f"default {_brief(schema['default']) or 'set'}: sent on every request")
    return ", ".join(parts)


def _media_text(spec: Any, response: Any) -> str:
    """The media types of a response, with the schema of each: ``application/json: auth_error``."""
    content = _mapping(_mapping(deref(spec, response)).get("content"))
    shown = [f"{media}: {_type_text(_mapping(value).get('schema'))}" for media, value in content.items()]
    return ", ".join(shown) or "no content"


def _operation_changes(prefix: str, old_spec: Any, new_spec: Any, method: str) -> Iterator[Change]:
    old_item, new_item = old_spec["paths"][AUDIT_LOGS_PATH], new_spec["paths"][AUDIT_LOGS_PATH]
    old_op, new_op = old_item[method], new_item[method]
    here = f"{_OPERATION}/{method}"
    old_params = _parameters(old_spec, old_item, method)
    new_params = _parameters(new_spec, new_item, method)
    for key, (where, param) in new_params.items():
        if key not in old_params:
            yield Change(f"{prefix}parameter {key} added ({_parameter_text(param)})", pointer=where)
    for key, (where, param) in old_params.items():
        if key not in new_params:
            yield Change(f"{prefix}parameter {key} removed ({_parameter_text(param)})", pointer=where)
            continue
        label, (new_where, new_param) = f"{prefix}parameter {key}", new_params[key]
        yield from _schema_changes(label, param.get("schema"), new_param.get("schema"), f"{new_where}/schema")
        yield from _key_changes(label, param, new_param, skip=frozenset({"schema", "name", "in"}), pointer=new_where)

    old_responses, new_responses = old_op.get("responses") or {}, new_op.get("responses") or {}
    for code, response in new_responses.items():
        if code not in old_responses:
            where = f"{here}/responses/{escape(str(code))}"
            yield Change(f"{prefix}response {code} added ({_media_text(new_spec, response)})", pointer=where)
    for code, response in old_responses.items():
        where = f"{here}/responses/{escape(str(code))}"
        if code not in new_responses:
            yield Change(f"{prefix}response {code} removed (was {_media_text(old_spec, response)})", pointer=where)
            continue
        old_r, new_r = _mapping(deref(old_spec, response)), _mapping(deref(new_spec, new_responses[code]))
        old_content, new_content = old_r.get("content") or {}, new_r.get("content") or {}
        for media in [*old_content, *(m for m in new_content if m not in old_content)]:
            label = f"{prefix}response {code}" + ("" if media == "application/json" else f" ({media})")
            at = f"{where}/content/{escape(media)}"
            if media not in new_content:
                yield Change(f"{prefix}response {code} content {media} removed", pointer=at)
            elif media not in old_content:
                shown = _type_text(_mapping(new_content[media]).get("schema"))
                yield Change(f"{prefix}response {code} content {media} added ({shown})", pointer=at)
            else:
                old_schema, new_schema = (
                    _mapping(old_content[media]).get("schema"),
                    _mapping(new_content[media]).get("schema"),
                )
                yield from _schema_changes(label, old_schema, new_schema, f"{at}/schema")
        yield from _key_changes(f"{prefix}response {code}", old_r, new_r, skip=frozenset({"content"}), pointer=where)
    yield from _key_changes(
        f"{prefix}operation", old_op, new_op, skip=frozenset({"parameters", "responses"}), pointer=here
    )


def diff_specs(old: Any, new: Any) -> list[Change]:
    """What changed from ``old`` to ``new`` (two audit-log specs), one readable line each."""
    changes = [
        Change(c.text, c.cosmetic or c.pointer.lstrip("/") in _DOCUMENTATION, c.pointer)
        for c in _key_changes("top-level", old, new, skip=frozenset({"paths", "components"}))
    ]
    old_item = (old.get("paths") or {}).get(AUDIT_LOGS_PATH) if isinstance(old, dict) else None
    new_item = (new.get("paths") or {}).get(AUDIT_LOGS_PATH) if isinstance(new, dict) else None
    if not isinstance(old_item, dict) or not isinstance(new_item, dict):
        verb = "added" if isinstance(new_item, dict) else "removed"
        return [*changes, Change(f"path {AUDIT_LOGS_PATH} {verb}", pointer=_OPERATION)]
    for method in METHODS:
        # The audit-log path has one operation, GET: its changes read best without a prefix.
        prefix = "" if method == "get" else f"{method.upper()} "
        old_op, new_op = old_item.get(method), new_item.get(method)
        if isinstance(old_op, dict) and isinstance(new_op, dict):
            changes.extend(_operation_changes(prefix, old, new, method))
        elif isinstance(old_op, dict) or isinstance(new_op, dict):
            verb = "added" if new_op else "removed"
            changes.append(Change(f"operation {method.upper()} {verb}", pointer=f"{_OPERATION}/{method}"))
    changes.extend(
        _key_changes("path", old_item, new_item, skip=frozenset({*METHODS, "parameters"}), pointer=_OPERATION)
    )

    old_components, new_components = old.get("components") or {}, new.get("components") or {}
    for kind in [*old_components, *(k for k in new_components if k not in old_components)]:
        if kind in ("parameters", "responses"):
            continue  # reported where the operation uses them, under their own names
        old_section, new_section = old_components.get(kind) or {}, new_components.get(kind) or {}
        noun = {"schemas": "schema", "securitySchemes": "security scheme"}.get(kind, f"component {kind}")
        for name in new_section:
            if name not in old_section:
                changes.append(Change(f"{noun} {name} added", pointer=f"/components/{kind}/{escape(name)}"))
        for name, value in old_section.items():
            where = f"/components/{kind}/{escape(name)}"
            if name not in new_section:
                changes.append(Change(f"{noun} {name} removed", pointer=where))
            elif kind == "schemas":
                changes.extend(_schema_changes(name, value, new_section[name], where))
            else:
                changes.extend(_key_changes(f"{noun} {name}", value, new_section[name], pointer=where))
    return changes


# ------------------------------------------------------------------------------------ the facade's part


def facade_part(change: Change, entry_schema: str = "audit_log") -> str | None:
    """Which facade file(s) a change concerns, and why; None for a change no facade code reads."""
    if change.cosmetic:
        return None
    tokens = [_unescape(t) for t in change.pointer.split("/")[1:]]
    if tokens[:3] == ["components", "schemas", entry_schema]:
        name = tokens[4] if len(tokens) > 4 and tokens[3] == "properties" else None
        if name == "action" and tokens[5:6] == ["enum"]:
            return "chatwoot_audit/_models.py (AuditAction names the known actions; AuditLog.action stays open)"
        if name in _contract.ENTRY_BY_HAND:
            return f"chatwoot_audit/_convert.py (parse_entry reads {name} by hand) and chatwoot_audit/_models.py"
        return "chatwoot_audit/_models.py (FIELDS and AuditLog; the parser takes its types from the regenerated table)"
    if tokens[:1] == ["components"] and tokens[1:2] == ["securitySchemes"]:
        return "chatwoot_audit/_config.py (token_header) and chatwoot_audit/_http.py (request_headers)"
    if tokens[:2] == ["components", "parameters"] or "parameters" in tokens[2:4]:
        return "chatwoot_audit/_http.py (PageRequest sends page, and every default the spec gives a parameter)"
    if tokens[:2] != ["paths", AUDIT_LOGS_PATH] or len(tokens) < 4:
        return None
    if tokens[3] in ("operationId", "tags"):
        return (
            "none in chatwoot_audit/ (it reads chatwoot_audit_generated.spec_table), but the generated endpoint "
            "module and page class are named after it: code using client.generated, tests/test_generated.py, "
            "tests/test_client.py and class_overrides in openapi/generator.yaml"
        )
    if tokens[3:5] == ["responses", "200"]:
        return "chatwoot_audit/_convert.py (parse_page) and chatwoot_audit/_models.py (AuditLogPage)"
    if tokens[3:4] == ["responses"]:
        return "chatwoot_audit/_errors.py (one status -> class table) and chatwoot_audit/_http.py (status_error)"
    return None


# ------------------------------------------------------------------------------------------ overrides


def override_problems(spec: Any, overrides: Any) -> list[str]:
    """Every override that does not apply to ``spec``, as apply_overrides words it; the others are still tried."""
    if not isinstance(overrides, list):
        overrides = [overrides]
    problems: list[str] = []
    doc = spec
    for number, item in enumerate(overrides, start=1):
        try:
            doc = apply_overrides(doc, [item], start=number)
        except SpecError as exc:
            # A target whose parent is gone is worded by its pointer alone; the number finds it in the file.
            message = str(exc)
            problems.append(message if message.startswith(f"override #{number}") else f"override #{number}: {message}")
    return problems


def label(pointer: str) -> str:
    """A pointer as the report names it: ``audit_log.user_id type``, ``response 200.per_page``, ``operationId``."""
    tokens = [_unescape(t) for t in pointer.split("/")[1:]]
    if tokens[:2] == ["components", "schemas"] and len(tokens) > 2:
        text, rest = tokens[2], tokens[3:]
    elif tokens[:2] == ["paths", AUDIT_LOGS_PATH] and len(tokens) > 3 and tokens[3] == "responses":
        text, rest = f"response {tokens[4]}" if len(tokens) > 4 else "responses", tokens[5:]
        if rest[:1] == ["content"] and len(rest) > 2 and rest[2] == "schema":
            rest = rest[3:]
    elif tokens[:2] == ["paths", AUDIT_LOGS_PATH] and len(tokens) > 3:
        text, rest = tokens[3], tokens[4:]
    else:
        return pointer
    while rest:
        if rest[0] == "properties" and len(rest) > 1:
            text, rest = f"{text}.{rest[1]}", rest[2:]
        elif rest[0] == "items":
            text, rest = f"{text}[]", rest[1:]
        else:
            text, rest = f"{text} {rest[0]}", rest[1:]
    return text


def _described(pointer: str, old: Any, new: Any) -> list[Change]:
    """What changed at ``pointer`` between two values, as the diff words it."""
    if isinstance(old, dict) and isinstance(new, dict):
        return list(_schema_changes(label(pointer), old, new, pointer))
    shown = (_value_text(pointer, old), _value_text(pointer, new))
    return [
        Change(
            f"{label(pointer)} {shown[0] or 'changed'} -> {shown[1] or '(long)'}",
            pointer.endswith(tuple(f"/{k}" for k in _COSMETIC)),
            pointer,
        )
    ]


def _value_text(pointer: str, value: Any) -> str:
    if pointer.endswith("/type") and isinstance(value, list):
        return " | ".join(map(str, value))
    return _brief(value)


def audit_overrides(old: Any, new: Any, overrides: Any) -> list[Change]:
    """What each override does to the new upstream spec that it did not do to the old one, one line each.

    An override whose target upstream changed hides that change (a pinned one holds a name on purpose,
    and the line says so); one without which the new merged spec would be the same is redundant. Each line
    is cosmetic when all it hides is.
    """
    items = overrides if isinstance(overrides, list) else []
    merged = _merged_or_none(new, items)
    found = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict) and isinstance(item.get("path"), str):
            others = items[: number - 1] + items[number:]
            redundant = merged is not None and item.get("pin") is not True and _merged_or_none(new, others) == merged
            change = _audit_one(number, item, value_at(old, item["path"]), value_at(new, item["path"]), redundant)
            if change is not None:
                found.append(change)
    return found


def _audit_one(number: int, item: dict[str, Any], before: Any, after: Any, redundant: bool) -> Change | None:
    pointer, op, name = item["path"], item.get("op"), f"override #{number}"
    where = label(pointer)
    if redundant:
        return Change(
            f"{name} ({op} {where}) is redundant: the new spec says the same without it; drop it", False, pointer
        )
    if before == after or (op == "remove" and after is MISSING):
        return None  # unchanged upstream, or removed there too (then it no longer applies: reported apart)
    if before is MISSING and op == "add":
        shown = f" ({_brief(after)})" if _brief(after) else ""
        return Change(
            f"{name} adds {where}, which the new spec now has itself{shown}: check it is still needed", False, pointer
        )
    hidden = _described(pointer, before, after)
    texts = "; ".join(c.text for c in hidden)
    value = _value_text(pointer, item.get("value"))
    if item.get("pin") is True:
        return Change(f"{name} pins {where} to {value}, which upstream changed: {texts}", False, pointer)
    kept = "the override removes it" if op == "remove" else f"the merged spec keeps {value}" if value else ""
    return Change(
        f"{name} hides an upstream change: {texts}" + (f" ({kept})" if kept else ""),
        all(c.cosmetic for c in hidden),
        pointer,
    )


def _merged_or_none(spec: Any, overrides: list[Any]) -> Any:
    try:
        return json_schema(apply_overrides(spec, overrides))
    except SpecError:
        return None


def hidden_by(change: Change, new: Any, overrides: Any) -> list[int]:
    """The numbers of the overrides that hold where ``change`` happened in ``new`` with a value of their own:
    there the merged spec says what they say, not what upstream now does."""
    items = overrides if isinstance(overrides, list) else []
    merged, upstream = _merged_or_none(new, items), json_schema(new)
    numbers = []
    for number, item in enumerate(items, start=1):
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, str) or not (change.pointer == path or change.pointer.startswith(f"{path}/")):
            continue
        if merged is None or value_at(merged, path) != value_at(upstream, path):
            numbers.append(number)
    return numbers


# -------------------------------------------------------------------------------------------------- CLI


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(path)


def _print_block(title: str, lines: list[str]) -> None:
    if lines:
        print(title)
        for line in lines:
            print(f"  {line}")


@dataclass(frozen=True)
class Report:
    """Everything update_spec says about a new upstream spec; ``matters`` is what --check exits 1 on."""

    changes: list[Change]
    overrides: list[Change]
    broken_overrides: list[str]
    facade: list[_contract.Problem]
    # For each change, the overrides that hide it (hidden_by).
    hidden: list[list[int]]
    entry_schema: str = "audit_log"

    @property
    def matters(self) -> bool:
        return bool(
            self.broken_overrides
            or self.facade
            or any(not c.cosmetic for c in self.changes)
            or any(not c.cosmetic for c in self.overrides)
        )

    def lines(self) -> list[str]:
        """The changes that matter, each followed by the facade part it concerns and the overrides hiding it."""
        out = []
        for change, hiding in zip(self.changes, self.hidden, strict=True):
            if change.cosmetic:
                continue
            out.append(change.text + (f" (hidden by override #{', #'.join(map(str, hiding))})" if hiding else ""))
            part = facade_part(change, self.entry_schema)
            if part:
                out.append(f"    facade: {part}")
        return out


def report(current: Any, new: dict[str, Any], overrides: Any) -> Report:
    """Compare ``new`` (an extracted upstream spec) with ``current`` under ``overrides``, and the facade with it."""
    broken = override_problems(new, overrides)
    facade: list[_contract.Problem] = []
    entry_schema = "audit_log"
    if not broken:
        try:
            table = _contract.table(apply_overrides(new, overrides if isinstance(overrides, list) else []))
        except SpecError as exc:
            facade = [_contract.Problem(f"the merged spec cannot serve the facade: {exc}", fatal=True)]
        else:
            entry_schema = table.entry_schema
            facade = _contract.facade_problems(table)
    changes = diff_specs(current, new)
    return Report(
        changes=changes,
        overrides=audit_overrides(current, new, overrides),
        broken_overrides=broken,
        facade=facade,
        entry_schema=entry_schema,
        hidden=[hidden_by(change, new, overrides) if not change.cosmetic else [] for change in changes],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="path or http(s) URL of Chatwoot's full application spec, JSON or YAML")
    parser.add_argument("--output", type=Path, default=SPEC_PATH, help="where to write (openapi/audit_logs.yaml)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="report the changes, write nothing")
    mode.add_argument(
        "--check",
        action="store_true",
        help="report and write nothing; exit 1 if anything but descriptions and examples changed",
    )
    args = parser.parse_args(argv)
    output: Path = args.output

    try:
        new = extract(parse_document(read_source(args.source)))
    except SpecError as exc:
        print(f"update_spec: {args.source}: {exc}", file=sys.stderr)
        return 2
    try:
        current = load_spec(SPEC_PATH) if SPEC_PATH.exists() else {}
        overrides = load_yaml(OVERRIDES_PATH.read_text(encoding="utf-8")) if OVERRIDES_PATH.exists() else []
    except SpecError as exc:
        print(f"update_spec: openapi/: {exc}", file=sys.stderr)
        return 2

    found = report(current, new, overrides)
    baseline, overrides_file = _shown(SPEC_PATH), _shown(OVERRIDES_PATH)
    print(f"Changes from {baseline}:")
    for line in found.lines() or ["none to paths, fields, types, enums, parameters or responses"]:
        print(f"  {line}")
    _print_block("Descriptions and examples only:", [c.text for c in found.changes if c.cosmetic])
    _print_block(f"{overrides_file}: what the overrides now do to upstream:", [c.text for c in found.overrides])
    _print_block(
        f"{overrides_file}: these overrides no longer apply to the new spec; fix them before regenerating:",
        found.broken_overrides,
    )
    _print_block(
        "The facade (chatwoot_audit/) against the new merged spec; edit it after regenerating:",
        [p.text for p in found.facade],
    )

    text = render(new, current)
    if args.check:
        verdict = "changes that matter (above)" if found.matters else "only descriptions and examples changed"
        print(f"check: {verdict}; nothing written")
        return 1 if found.matters else 0
    if output.exists() and output.read_text(encoding="utf-8") == text:
        print(f"{_shown(output)} is up to date")
        return 0
    if args.dry_run:
        print(f"dry run: {_shown(output)} not written (run again without --dry-run, then python scripts/regenerate.py)")
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    print(f"wrote {_shown(output)} (sha256 {sha256_file(output)})")
    if output.resolve() == SPEC_PATH.resolve():
        print(
            "Next: fix the overrides named above in openapi/overrides.yaml, run python scripts/regenerate.py, "
            "make the facade edits it names, run the tests, and note the new spec sha256 in CHANGELOG.md"
        )
    else:
        print(f"regenerate.py reads {baseline}: copy it there, then run python scripts/regenerate.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())

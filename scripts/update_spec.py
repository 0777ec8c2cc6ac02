"""Refresh openapi/audit_logs.yaml from Chatwoot's full application spec, and say what changed.

    python scripts/update_spec.py ../chatwoot/swagger/tag_groups/application_swagger.json
    python scripts/update_spec.py SOURCE --dry-run                   # report only
    python scripts/update_spec.py SOURCE --output /tmp/audit_logs.yaml

SOURCE is a path or an http(s) URL, such as the raw file in Chatwoot's repository:
https://raw.githubusercontent.com/chatwoot/chatwoot/develop/swagger/tag_groups/application_swagger.json

From the source (JSON or YAML) it keeps the audit-log path, every component that path references
(transitively: schemas, parameters, responses, the security schemes its `security` names) and the
document's openapi, info, servers, security and tags, and writes them in the layout of the published spec.
It then prints what changed against the current openapi/audit_logs.yaml (fields, types, enums,
parameters, responses; descriptions and examples apart), every override in openapi/overrides.yaml that no
longer applies, and what to run next. Nothing else is touched: regenerate generated/ yourself.

Exit status: 0 when nothing changed or the new spec was written (or, with --dry-run, would be); 2 when the
source cannot be used (missing, not JSON or YAML, no audit-log path), with a one-line message.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _spec import (
    AUDIT_LOGS_PATH,
    OVERRIDES_PATH,
    ROOT,
    SPEC_PATH,
    SpecError,
    _unescape,
    apply_overrides,
    dump_yaml,
    load_spec,
    load_yaml,
    pointer_exists,
    sha256_file,
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
    """One readable line of a spec diff; ``cosmetic`` ones (descriptions, examples) change no behaviour."""

    text: str
    cosmetic: bool = False


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


def _component_of(doc: dict[str, Any], ref: str) -> tuple[str, str, Any]:
    match = re.fullmatch(r"#/components/([^/]+)/([^/]+)", ref)
    if match is None:
        raise SpecError(f"$ref {ref!r} does not point into #/components/ (only those references are supported)")
    kind, name = (_unescape(token) for token in match.groups())
    section = doc.get("components", {}).get(kind)
    if not isinstance(section, dict) or name not in section:
        raise SpecError(f"$ref {ref!r} points to nothing in the document")
    return kind, name, section[name]


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
            _component_of(full, f"#/components/securitySchemes/{scheme}")
            wanted.setdefault("securitySchemes", set()).add(scheme)
    pending = list(_refs(path_item))
    while pending:
        kind, name, target = _component_of(full, pending.pop())
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


def _brief(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 40 else ""


def _key_changes(label: str, old: Any, new: Any, skip: frozenset[str] = frozenset()) -> Iterator[Change]:
    """One line per top-level key of two mappings that differs, other than the ``skip`` ones."""
    old_map = old if isinstance(old, dict) else {}
    new_map = new if isinstance(new, dict) else {}
    for key in [*old_map, *(k for k in new_map if k not in old_map)]:
        if key in skip or old_map.get(key) == new_map.get(key):
            continue
        cosmetic = key in _COSMETIC
        if key not in new_map:
            yield Change(f"{label} {key} removed", cosmetic)
        elif key not in old_map:
            shown = _brief(new_map[key])
            yield Change(f"{label} {key} added" + (f": {shown}" if shown else ""), cosmetic)
        else:
            before, after = _brief(old_map[key]), _brief(new_map[key])
            yield Change(
                f"{label} {key} {before} -> {after}" if before and after else f"{label} {key} changed", cosmetic
            )


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


def _enum_change(label: str, old: Any, new: Any) -> Change:
    if not isinstance(new, list):
        return Change(f"{label} enum removed (now open; was {', '.join(map(str, old))})")
    if not isinstance(old, list):
        return Change(f"{label} enum added: {', '.join(map(str, new))}")
    parts = [
        f"{verb} {', '.join(map(str, values))}"
        for verb, values in (
            ("added", [v for v in new if v not in old]),
            ("removed", [v for v in old if v not in new]),
        )
        if values
    ]
    return Change(f"{label} enum values {'; '.join(parts)}" if parts else f"{label} enum values reordered")


def _schema_changes(label: str, old: Any, new: Any) -> Iterator[Change]:
    """Fields added or removed, types, enums and required keys changed, recursively through inline schemas."""
    if old == new:
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        yield Change(f"{label} changed")
        return
    if _type_text(old) != _type_text(new):
        yield Change(f"{label} type {_type_text(old)} -> {_type_text(new)}")
    if old.get("enum") != new.get("enum"):
        yield _enum_change(label, old.get("enum"), new.get("enum"))
    old_required, new_required = set(old.get("required") or []), set(new.get("required") or [])
    yield from (Change(f"{label}.{name} now required") for name in sorted(new_required - old_required))
    yield from (Change(f"{label}.{name} no longer required") for name in sorted(old_required - new_required))
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    for name, schema in new_props.items():
        if name not in old_props:
            yield Change(f"{label}.{name} added ({_type_text(schema)})")
    for name, schema in old_props.items():
        if name not in new_props:
            yield Change(f"{label}.{name} removed")
        else:
            yield from _schema_changes(f"{label}.{name}", schema, new_props[name])
    # A referenced item type is named by _type_text; only an inline one has insides of its own to compare.
    old_items, new_items = old.get("items"), new.get("items")
    if isinstance(old_items, dict) and isinstance(new_items, dict) and "$ref" not in {*old_items, *new_items}:
        yield from _schema_changes(f"{label}[]", old_items, new_items)
    yield from _key_changes(label, old, new, skip=_SCHEMA_HANDLED)


def _mapping(node: Any) -> dict[str, Any]:
    return node if isinstance(node, dict) else {}


def _deref(spec: Any, node: Any) -> dict[str, Any]:
    """``node``, or what its ``$ref`` points to; {} for anything that is not a mapping."""
    ref = _mapping(node).get("$ref")
    if isinstance(ref, str):
        with contextlib.suppress(SpecError):
            node = _component_of(spec, ref)[2]
    return _mapping(node)


def _parameters(spec: Any, path_item: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    """The operation's parameters by a readable key, path-level ones included, references resolved."""
    found: dict[str, Any] = {}
    for raw in [*(path_item.get("parameters") or []), *(operation.get("parameters") or [])]:
        param = _deref(spec, raw)
        if param:
            found[f"{param.get('name')} ({param.get('in')})"] = param
    return found


def _operation_changes(prefix: str, old_spec: Any, new_spec: Any, method: str) -> Iterator[Change]:
    old_item, new_item = old_spec["paths"][AUDIT_LOGS_PATH], new_spec["paths"][AUDIT_LOGS_PATH]
    old_op, new_op = old_item[method], new_item[method]
    old_params = _parameters(old_spec, old_item, old_op)
    new_params = _parameters(new_spec, new_item, new_op)
    for key, param in new_params.items():
        if key not in old_params:
            yield Change(f"{prefix}parameter {key} added ({_type_text(param.get('schema'))})")
    for key, param in old_params.items():
        if key not in new_params:
            yield Change(f"{prefix}parameter {key} removed")
            continue
        label = f"{prefix}parameter {key}"
        yield from _schema_changes(label, param.get("schema"), new_params[key].get("schema"))
        yield from _key_changes(label, param, new_params[key], skip=frozenset({"schema", "name", "in"}))

    old_responses, new_responses = old_op.get("responses") or {}, new_op.get("responses") or {}
    for code, response in new_responses.items():
        if code not in old_responses:
            content = _deref(new_spec, (_deref(new_spec, response).get("content") or {}).get("application/json"))
            shown = f" ({_type_text(content['schema'])})" if "schema" in content else ""
            yield Change(f"{prefix}response {code} added{shown}")
    for code, response in old_responses.items():
        if code not in new_responses:
            yield Change(f"{prefix}response {code} removed")
            continue
        old_r, new_r = _deref(old_spec, response), _deref(new_spec, new_responses[code])
        old_content, new_content = old_r.get("content") or {}, new_r.get("content") or {}
        for media in [*old_content, *(m for m in new_content if m not in old_content)]:
            label = f"{prefix}response {code}" + ("" if media == "application/json" else f" ({media})")
            if media not in new_content:
                yield Change(f"{label} content removed")
            elif media not in old_content:
                yield Change(f"{label} content added ({_type_text(_mapping(new_content[media]).get('schema'))})")
            else:
                old_schema, new_schema = (
                    _mapping(old_content[media]).get("schema"),
                    _mapping(new_content[media]).get("schema"),
                )
                yield from _schema_changes(label, old_schema, new_schema)
        yield from _key_changes(f"{prefix}response {code}", old_r, new_r, skip=frozenset({"content"}))
    yield from _key_changes(f"{prefix}operation", old_op, new_op, skip=frozenset({"parameters", "responses"}))


def diff_specs(old: Any, new: Any) -> list[Change]:
    """What changed from ``old`` to ``new`` (two audit-log specs), one readable line each."""
    changes = list(_key_changes("top-level", old, new, skip=frozenset({"paths", "components"})))
    old_item = (old.get("paths") or {}).get(AUDIT_LOGS_PATH) if isinstance(old, dict) else None
    new_item = (new.get("paths") or {}).get(AUDIT_LOGS_PATH) if isinstance(new, dict) else None
    if not isinstance(old_item, dict) or not isinstance(new_item, dict):
        return [*changes, Change(f"path {AUDIT_LOGS_PATH} {'added' if isinstance(new_item, dict) else 'removed'}")]
    for method in METHODS:
        # The audit-log path has one operation, GET: its changes read best without a prefix.
        prefix = "" if method == "get" else f"{method.upper()} "
        old_op, new_op = old_item.get(method), new_item.get(method)
        if isinstance(old_op, dict) and isinstance(new_op, dict):
            changes.extend(_operation_changes(prefix, old, new, method))
        elif isinstance(old_op, dict) or isinstance(new_op, dict):
            changes.append(Change(f"operation {method.upper()} {'added' if new_op else 'removed'}"))
    changes.extend(_key_changes("path", old_item, new_item, skip=frozenset({*METHODS, "parameters"})))

    old_components, new_components = old.get("components") or {}, new.get("components") or {}
    for kind in [*old_components, *(k for k in new_components if k not in old_components)]:
        if kind in ("parameters", "responses"):
            continue  # reported where the operation uses them, under their own names
        old_section, new_section = old_components.get(kind) or {}, new_components.get(kind) or {}
        noun = {"schemas": "schema", "securitySchemes": "security scheme"}.get(kind, f"component {kind}")
        for name in new_section:
            if name not in old_section:
                changes.append(Change(f"{noun} {name} added"))
        for name, value in old_section.items():
            if name not in new_section:
                changes.append(Change(f"{noun} {name} removed"))
            elif kind == "schemas":
                changes.extend(_schema_changes(name, value, new_section[name]))
            else:
                changes.extend(_key_changes(f"{noun} {name}", value, new_section[name]))
    return changes


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


def overrides_now_upstream(old: Any, new: Any, overrides: Any) -> list[str]:
    """Overrides that add something the old spec lacked and the new one has: they now overwrite upstream."""
    found = []
    for number, item in enumerate(overrides if isinstance(overrides, list) else [], start=1):
        if not isinstance(item, dict) or item.get("op") != "add" or not isinstance(item.get("path"), str):
            continue
        path = item["path"]
        if pointer_exists(new, path) and not pointer_exists(old, path):
            found.append(f"override #{number} adds {path}, which the new spec now has itself")
    return found


# -------------------------------------------------------------------------------------------------- CLI


def _shown(path: Path) -> str:
    resolved = path.resolve()
    return resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else str(path)


def _print_block(title: str, lines: list[str]) -> None:
    if lines:
        print(title)
        for line in lines:
            print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="path or http(s) URL of Chatwoot's full application spec, JSON or YAML")
    parser.add_argument("--output", type=Path, default=SPEC_PATH, help="where to write (openapi/audit_logs.yaml)")
    parser.add_argument("--dry-run", action="store_true", help="report the changes, write nothing")
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

    text = render(new, current)
    changes = diff_specs(current, new)
    baseline = _shown(SPEC_PATH)
    semantic = [c.text for c in changes if not c.cosmetic]
    print(f"Changes from {baseline}:")
    for line in semantic or ["none to paths, fields, types, enums, parameters or responses"]:
        print(f"  {line}")
    _print_block("Descriptions and examples only:", [c.text for c in changes if c.cosmetic])
    _print_block(
        f"{_shown(OVERRIDES_PATH)}: these overrides no longer apply to the new spec; fix them before regenerating:",
        override_problems(new, overrides),
    )
    _print_block(
        f"{_shown(OVERRIDES_PATH)}: these overrides replace what the new spec now says itself; check they are "
        "still needed:",
        overrides_now_upstream(current, new, overrides),
    )

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
        print("Next: python scripts/regenerate.py, then review generated/ and note the new spec sha256 in CHANGELOG.md")
    else:
        print(f"regenerate.py reads {baseline}: copy it there, then run python scripts/regenerate.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the chatwoot_audit facade takes from the merged spec, and which facade edit a spec change needs.

At run time the facade reads the spec only through the table that scripts/regenerate.py writes into the
generated package (``chatwoot_audit_generated/spec_table.py``, rendered by :func:`render_table`): the
request of the audit-log operation, and each field of an entry with its JSON types and whether it is
required. Typed Python cannot come from a table, so a few things stay written by hand: ``FIELDS`` and the
attributes of ``AuditLog`` (``chatwoot_audit/_models.py``), the three entry fields ``parse_entry`` reads
itself and the page keys ``parse_page`` reads (``chatwoot_audit/_convert.py``). :func:`facade_problems`
compares them with a merged spec and words each difference as the edit that removes it; the test suite
fails on any, update_spec.py reports them, and regeneration refuses the ones the facade cannot run with.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from _spec import AUDIT_LOGS_PATH, ROOT, SpecError, component, deref, schema_types

FACADE: Final = ROOT / "chatwoot_audit"
MODELS: Final = FACADE / "_models.py"
GENERATED_PACKAGE: Final = "chatwoot_audit_generated"
TABLE_MODULE: Final = "spec_table"

# parse_entry reads these three itself: the id names an entry in every message, action and created_at
# are what an entry means. Each must be required, with exactly these types.
ENTRY_BY_HAND: Final = {"id": ("integer",), "action": ("string",), "created_at": ("integer", "number", "string")}
# The keys parse_page reads, with the JSON type each must have.
PAGE_KEYS: Final = {"per_page": "integer", "total_entries": "integer", "current_page": "integer", "audit_logs": "array"}
# Attributes of AuditLog that are not API fields.
_BOOKKEEPING: Final = frozenset({"extra"})
_PYTHON: Final = {
    "integer": "int",
    "number": "float",
    "string": "str",
    "boolean": "bool",
    "object": "dict[str, Any]",
    "array": "list[Any]",
}


@dataclass(frozen=True)
class Field:
    """A property of a schema: its JSON types ("null" last when nullable; () for any value), and whether
    the schema requires it."""

    name: str
    types: tuple[str, ...]
    required: bool

    @property
    def nullable(self) -> bool:
        return "null" in self.types

    def shown(self) -> str:
        return " | ".join(self.types) or "any"


@dataclass(frozen=True)
class Parameter:
    """A parameter of the operation. The generated client sends a default it has on every request."""

    name: str
    location: str
    types: tuple[str, ...]
    required: bool
    has_default: bool = False
    default: Any = None


@dataclass(frozen=True)
class Table:
    """What the facade reads from the merged spec: the request, the page's fields and an entry's fields."""

    operation_id: str
    method: str
    path: str
    parameters: tuple[Parameter, ...]
    page_fields: tuple[Field, ...]
    entry_schema: str
    entry_fields: tuple[Field, ...]

    def path_names(self) -> list[str]:
        return re.findall(r"{([^}]*)}", self.path)


def _fields(spec: Any, schema: Any) -> tuple[Field, ...]:
    schema = deref(spec, schema)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return ()
    required = set(schema.get("required") or ())
    return tuple(Field(str(name), schema_types(spec, value), name in required) for name, value in properties.items())


def _parameters(spec: Any, path_item: dict[str, Any], operation: dict[str, Any]) -> tuple[Parameter, ...]:
    # Path-level parameters first; the operation's own replace those of the same name and place.
    found: dict[tuple[str, str], Parameter] = {}
    for raw in [*(path_item.get("parameters") or ()), *(operation.get("parameters") or ())]:
        param = deref(spec, raw)
        if not isinstance(param, dict) or "name" not in param:
            continue
        schema = deref(spec, param.get("schema"))
        schema = schema if isinstance(schema, dict) else {}
        key = (str(param["name"]), str(param.get("in")))
        found[key] = Parameter(
            name=key[0],
            location=key[1],
            types=schema_types(spec, schema),
            required=param.get("required") is True,
            has_default="default" in schema,
            default=schema.get("default"),
        )
    return tuple(found.values())


def table(spec: Any) -> Table:
    """The table of a merged spec; SpecError when it lacks what the facade cannot do without."""
    path_item = (spec.get("paths") or {}).get(AUDIT_LOGS_PATH) if isinstance(spec, dict) else None
    operation = path_item.get("get") if isinstance(path_item, dict) else None
    if not isinstance(path_item, dict) or not isinstance(operation, dict):
        raise SpecError(f"no GET operation on {AUDIT_LOGS_PATH}")
    ok = deref(spec, (operation.get("responses") or {}).get("200"))
    media = (ok.get("content") or {}).get("application/json") if isinstance(ok, dict) else None
    page = deref(spec, media.get("schema")) if isinstance(media, dict) else None
    items = ((page.get("properties") or {}).get("audit_logs") or {}).get("items") if isinstance(page, dict) else None
    if not isinstance(items, dict):
        raise SpecError(
            "the 200 answer has no audit_logs array described by a schema; chatwoot_audit/_convert.py "
            "(parse_page) reads the entries from it"
        )
    ref = items.get("$ref")
    entry_schema = component(spec, ref)[1] if isinstance(ref, str) else "audit_logs[]"
    entry_fields = _fields(spec, items)
    if not entry_fields:
        raise SpecError(f"the entries of the 200 answer ({entry_schema}) have no properties")
    return Table(
        operation_id=str(operation.get("operationId", "")),
        method="GET",
        path=AUDIT_LOGS_PATH,
        parameters=_parameters(spec, path_item, operation),
        page_fields=_fields(spec, page),
        entry_schema=entry_schema,
        entry_fields=entry_fields,
    )


# ------------------------------------------------------------------------------------------- rendering

TABLE_SOURCE_HEAD: Final = '''\
"""What the merged spec (openapi/ with its overrides) says about the audit-log operation, as data.

Written from the same merged spec the generator reads, for the chatwoot_audit facade: the request it
builds (method, path, parameters, each parameter's default) and the fields of an entry, each with its
JSON types ("null" last when nullable, () for any value) and whether the spec requires it, in the
spec's order.
"""

from typing import Any, Final, NamedTuple


class Field(NamedTuple):
    """A property of a schema."""

    name: str
    types: tuple[str, ...]
    required: bool


class Parameter(NamedTuple):
    """A parameter of the operation; the generated client sends ``default`` when ``has_default``."""

    name: str
    location: str
    types: tuple[str, ...]
    required: bool
    has_default: bool
    default: Any

'''


def render_table(t: Table) -> str:
    """The Python source of ``spec_table.py`` (formatted by the generator's formatter afterwards)."""

    def field_line(f: Field) -> str:
        return f"    Field(name={f.name!r}, types={f.types!r}, required={f.required!r}),"

    lines = [
        TABLE_SOURCE_HEAD,
        f"OPERATION_ID: Final = {t.operation_id!r}",
        f"METHOD: Final = {t.method!r}",
        f"PATH: Final = {t.path!r}",
        "PARAMETERS: Final[tuple[Parameter, ...]] = (",
        *(
            f"    Parameter(name={p.name!r}, location={p.location!r}, types={p.types!r}, required={p.required!r}, "
            f"has_default={p.has_default!r}, default={p.default!r}),"
            for p in t.parameters
        ),
        ")",
        f"ENTRY_SCHEMA: Final = {t.entry_schema!r}",
        "PAGE_FIELDS: Final[tuple[Field, ...]] = (",
        *(field_line(f) for f in t.page_fields),
        ")",
        "AUDIT_LOG_FIELDS: Final[tuple[Field, ...]] = (",
        *(field_line(f) for f in t.entry_fields),
        ")",
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------- the facade's side


@dataclass(frozen=True)
class Facade:
    """The facade's hand-written side: FIELDS, and each public attribute of AuditLog with its annotation."""

    fields: tuple[str, ...]
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_source(cls, models: Path = MODELS) -> Facade:
        """Read from the source of chatwoot_audit/_models.py, without importing the package."""
        tree = ast.parse(models.read_text(encoding="utf-8"), filename=str(models))
        fields: tuple[str, ...] = ()
        annotations: dict[str, str] = {}
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "FIELDS" for t in targets) and node.value is not None:
                    fields = tuple(ast.literal_eval(node.value))
            elif isinstance(node, ast.ClassDef) and node.name == "AuditLog":
                for item in node.body:
                    if (
                        isinstance(item, ast.AnnAssign)
                        and isinstance(item.target, ast.Name)
                        and not item.target.id.startswith("_")
                    ):
                        annotations[item.target.id] = ast.unparse(item.annotation)
        return cls(fields, annotations)


@dataclass(frozen=True)
class Problem:
    """A difference between the facade and a merged spec, worded as the edit that removes it.

    ``fatal`` ones leave the facade unable to send a request: regeneration refuses them.
    """

    text: str
    fatal: bool = False


def _names(annotation: str) -> set[str]:
    """The type names a union annotation is made of: ``dict[str, Any] | None`` -> {"dict", "None"}."""
    try:
        node = ast.parse(annotation, mode="eval").body
    except SyntaxError:
        return {annotation}
    names: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, ast.BinOp) and isinstance(item.op, ast.BitOr):
            pending += [item.left, item.right]
        elif isinstance(item, ast.Subscript):
            pending.append(item.value)
        elif isinstance(item, ast.Constant) and item.value is None:
            names.add("None")
        elif isinstance(item, ast.Name):
            names.add(item.id)
        elif isinstance(item, ast.Attribute):
            names.add(item.attr)
        else:
            names.add(ast.unparse(item))
    return names


def _optional(f: Field) -> bool:
    # Only a null is None. A field the spec does not require but never sends as null reads as its type's
    # empty value when a server leaves it out (_convert.py), so strict code needs no None checks.
    return f.nullable or not f.types


# The default of an attribute the spec lets a server leave out, as the parser fills it in.
_EMPTY: Final = {"integer": "0", "number": "0", "string": '""', "boolean": "False"}
_EMPTY_FACTORY: Final = {"object": "dict", "array": "list"}


def annotation(f: Field) -> str:
    """The annotation an AuditLog attribute needs for ``f``."""
    concrete = [_PYTHON.get(t, "Any") for t in f.types if t != "null"] or ["Any"]
    return " | ".join([*dict.fromkeys(concrete), *(["None"] if _optional(f) and concrete != ["Any"] else [])])


def declaration(f: Field) -> str:
    """The line that declares ``f`` on AuditLog, mutable JSON kept out of the hash as the others are."""
    mutable = any(t in ("object", "array") for t in f.types) or not f.types
    first = next((t for t in f.types if t != "null"), None)
    if f.required and not _optional(f):
        value = " = attrs.field(hash=False)" if mutable else ""
    elif _optional(f):
        value = " = attrs.field(default=None, hash=False)" if mutable else " = None"
    elif mutable:
        value = f" = attrs.field(factory={_EMPTY_FACTORY.get(first or '', 'dict')}, hash=False)"
    else:
        value = f" = {_EMPTY.get(first or '', 'None')}"
    return f"{f.name}: {annotation(f)}{value}"


def _request_problems(t: Table) -> Iterator[Problem]:
    where = "chatwoot_audit/_http.py (PageRequest)"
    if t.path_names() != ["account_id"]:
        yield Problem(f"the path is now {t.path}: {where} fills in account_id only", fatal=True)
    query = {p.name: p for p in t.parameters if p.location == "query"}
    if "page" not in query:
        yield Problem(f"the operation has no page query parameter any more: {where} sends one", fatal=True)
    for p in t.parameters:
        if p.required and not p.has_default and p.location != "path" and p.name != "page":
            yield Problem(
                f"the {p.location} parameter {p.name} is now required, with no default: {where} does not send it",
                fatal=True,
            )


def _page_problems(t: Table) -> Iterator[Problem]:
    present = {f.name: f for f in t.page_fields}
    where = "chatwoot_audit/_convert.py (parse_page) and chatwoot_audit/_models.py (AuditLogPage)"
    for key, json_type in PAGE_KEYS.items():
        found = present.get(key)
        if found is None:
            yield Problem(f"the 200 answer no longer has {key}, which {where} read")
        elif found.types not in ((json_type,), ()):
            yield Problem(f"the 200 answer's {key} is now {found.shown()}; {where} read it as {json_type}")


def _entry_problems(t: Table, facade: Facade) -> Iterator[Problem]:
    schema, models = t.entry_schema, "chatwoot_audit/_models.py"
    spec = {f.name: f for f in t.entry_fields}
    for name, types in ENTRY_BY_HAND.items():
        f = spec.get(name)
        allowed = f is not None and f.required and bool(f.types) and set(f.types) <= set(types)
        if not allowed:
            said = "missing" if f is None else f"{f.shown()}, {'required' if f.required else 'optional'}"
            yield Problem(
                f"{schema}.{name} is {said} in the merged spec; chatwoot_audit/_convert.py (parse_entry) reads "
                f"it by hand as a required {' or '.join(types)}, and {models} types AuditLog.{name}: change both, "
                "or keep it with an override in openapi/overrides.yaml"
            )

    names = [f.name for f in t.entry_fields]
    for index, name in enumerate(names):
        if name in facade.fields:
            continue
        if name in _BOOKKEEPING:
            yield Problem(
                f"{schema}.{name} is in the merged spec, but AuditLog.{name} holds the keys the facade does not "
                f"know (and CSV exports them in a column of that name): it stays there until {models} gives the "
                "field an attribute of another name, with to_dict and the CSV column to match"
            )
            continue
        place = f"after '{names[index - 1]}'" if index else "first"
        edit = f"add '{name}' to FIELDS {place}"
        if name not in facade.annotations:
            edit += f" and `{declaration(spec[name])}` to AuditLog"
        yield Problem(
            f"{schema}.{name} ({spec[name].shown()}) is in the merged spec but not in the facade: in {models} "
            f"{edit} (until then the parser keeps it in AuditLog.extra)"
        )
    for name in facade.fields:
        if name not in spec:
            yield Problem(
                f"'{name}' is in FIELDS but no longer in the merged spec's {schema}: remove it from FIELDS and "
                f"AuditLog in {models}, or keep it with an override in openapi/overrides.yaml"
            )
    if [n for n in facade.fields if n in spec] != [n for n in names if n in facade.fields]:
        yield Problem(f"FIELDS in {models} is not in the merged spec's order: {', '.join(names)}")

    for name in facade.fields:
        f = spec.get(name)
        if f is None or name == "created_at":
            continue  # reported above; created_at is a datetime, converted by parse_created_at
        declared = facade.annotations.get(name)
        if declared is None:
            yield Problem(
                f"'{name}' is in FIELDS but AuditLog has no such attribute: add `{declaration(f)}` in {models}"
            )
        elif _names(declared) != _names(annotation(f)):
            yield Problem(
                f"AuditLog.{name} is `{declared}` but the merged spec says {schema}.{name} is {f.shown()}"
                f"{'' if f.required else ', optional'}: change it to `{declaration(f)}` in {models} (the parser "
                "already reads the regenerated types)"
            )
    for name in facade.annotations:
        if name not in facade.fields and name not in _BOOKKEEPING:
            yield Problem(f"AuditLog.{name} is not in FIELDS: add it there in {models}, or remove the attribute")


def facade_problems(t: Table, facade: Facade | None = None) -> list[Problem]:
    """Every difference between the facade and the table of a merged spec, as the edit that removes it."""
    facade = facade or Facade.from_source()
    return [*_request_problems(t), *_page_problems(t), *_entry_problems(t, facade)]


# ---------------------------------------------------------------------------- the facade's imports


@dataclass(frozen=True)
class Import:
    """One name the facade imports from the generated package (``name`` None for ``import module``)."""

    source: Path
    module: str
    name: str | None


def facade_imports(facade: Path = FACADE) -> list[Import]:
    """Every import of the generated package in the facade's source, type-checking ones included."""
    found: list[Import] = []
    for path in sorted(facade.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module.partition(".")[0] == GENERATED_PACKAGE:
                    found.extend(Import(path, node.module, alias.name) for alias in node.names)
            elif isinstance(node, ast.Import):
                found.extend(
                    Import(path, alias.name, None)
                    for alias in node.names
                    if alias.name.partition(".")[0] == GENERATED_PACKAGE
                )
    return found


def _module_file(package_dir: Path, module: str) -> Path | None:
    parts = module.split(".")[1:]
    package = package_dir.joinpath(*parts, "__init__.py")
    if package.is_file():
        return package
    plain = package_dir.joinpath(*parts[:-1], f"{parts[-1]}.py") if parts else None
    return plain if plain is not None and plain.is_file() else None


def _defines(path: Path, name: str) -> bool:
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return True
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
        if isinstance(node, ast.Import | ast.ImportFrom) and any(
            (alias.asname or alias.name.partition(".")[0]) == name for alias in node.names
        ):
            return True
    return False


def missing_imports(package_dir: Path, imports: list[Import]) -> list[str]:
    """The facade's imports that the generated package in ``package_dir`` does not provide."""
    problems = []
    for item in imports:
        module_file = _module_file(package_dir, item.module)
        shown = item.source.relative_to(ROOT).as_posix() if item.source.is_relative_to(ROOT) else str(item.source)
        if module_file is None:
            problems.append(f"{shown} imports {item.module}, which regeneration no longer produces")
        elif item.name is not None and not (
            _defines(module_file, item.name) or _module_file(package_dir, f"{item.module}.{item.name}")
        ):
            problems.append(f"{shown} imports {item.name} from {item.module}, which no longer defines it")
    return problems

"""Regenerate generated/ from openapi/ with the pinned openapi-python-client.

    python scripts/regenerate.py            # rewrite generated/ (running it twice gives no diff)
    python scripts/regenerate.py --check    # regenerate into a temporary folder; exit 1 with a diff on drift

The spec (openapi/audit_logs.yaml) is merged with openapi/overrides.yaml, the generator runs on the result
with openapi/generator.yaml, and a stamp (generated/stamp.json) records the generator and formatter
versions and the sha256 of each input. Nothing is fetched from the network.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _spec import (
    CONFIG_PATH,
    OVERRIDES_PATH,
    ROOT,
    SPEC_PATH,
    SpecError,
    merged_spec,
    sha256_file,
)

# The generator and the formatter its post-hooks run both shape the committed output: a new release of
# either changes generated/, so both are pinned here and in pyproject.toml's dev extra.
GENERATOR_VERSION = "0.29.1"
RUFF_VERSION = "0.17.6"
PACKAGE = "chatwoot_audit_generated"
GENERATED = ROOT / "generated"

README = """\
# generated/

Everything here is written by `python scripts/regenerate.py` from `openapi/`. Do not edit it by hand:
`python scripts/regenerate.py --check` (run in CI) fails on any difference. To change the generated
client, add an override with a reason to `openapi/overrides.yaml` and regenerate.
`stamp.json` records the generator and formatter versions and the sha256 of each input.
"""


class RegenerateError(Exception):
    """Regeneration cannot run or failed; the message says what to do."""


def _installed(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def check_tools() -> Path:
    """Refuse to run with other tool versions than the pinned ones; return the bin dir holding ruff."""
    found = _installed("openapi-python-client")
    if found != GENERATOR_VERSION:
        raise RegenerateError(
            f"openapi-python-client=={GENERATOR_VERSION} is needed (found {found or 'none'}); "
            f"install it with: pip install -e '.[dev]'"
        )
    found_ruff = _installed("ruff")
    if found_ruff != RUFF_VERSION:
        raise RegenerateError(
            f"ruff=={RUFF_VERSION} is needed to format the generated code (found {found_ruff or 'none'}); "
            f"install it with: pip install -e '.[dev]'"
        )
    bindir = Path(sys.executable).parent
    if not (bindir / "ruff").exists() and shutil.which("ruff") is None:
        raise RegenerateError(f"the ruff executable was not found next to {sys.executable} or on PATH")
    return bindir


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


def stamp(spec_path: Path = SPEC_PATH, overrides_path: Path = OVERRIDES_PATH) -> dict[str, str]:
    return {
        "generator": f"openapi-python-client=={GENERATOR_VERSION}",
        "formatter": f"ruff=={RUFF_VERSION}",
        "spec": _shown(spec_path),
        "spec_sha256": sha256_file(spec_path),
        "overrides_sha256": sha256_file(overrides_path),
        "config_sha256": sha256_file(CONFIG_PATH),
    }


def generate_into(target: Path, spec_path: Path = SPEC_PATH, overrides_path: Path = OVERRIDES_PATH) -> None:
    """Write the whole of generated/ (package, stamp, README) into the empty folder ``target``.

    The inputs default to openapi/; pointing them elsewhere tries a candidate spec without touching it.
    """
    bindir = check_tools()
    try:
        spec = merged_spec(spec_path, overrides_path)
    except SpecError as exc:
        raise RegenerateError(f"{_shown(overrides_path)}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="chatwoot-audit-regen-") as tmp:
        merged = Path(tmp) / "spec.json"
        merged.write_text(json.dumps(spec, indent=2), encoding="utf-8")
        out = Path(tmp) / PACKAGE
        env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
        cmd = [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(merged),
            "--config",
            str(CONFIG_PATH),
            "--meta",
            "none",
            "--output-path",
            str(out),
            "--fail-on-warning",
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not out.is_dir():
            raise RegenerateError(f"openapi-python-client failed:\n{proc.stdout}{proc.stderr}")
        (out / "py.typed").write_text("", encoding="utf-8")
        shutil.copytree(out, target / PACKAGE, ignore=shutil.ignore_patterns(".ruff_cache", "__pycache__"))
    (target / "stamp.json").write_text(json.dumps(stamp(spec_path, overrides_path), indent=2) + "\n", encoding="utf-8")
    (target / "README.md").write_text(README, encoding="utf-8")


def _files(folder: Path) -> dict[str, Path]:
    return {
        p.relative_to(folder).as_posix(): p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8", errors="replace").splitlines(keepends=True)


def diff_trees(expected: Path, actual: Path) -> str:
    """A unified diff from what regeneration produces (``expected``) to what is committed (``actual``)."""
    want, have = _files(expected), _files(actual)
    chunks: list[str] = []
    for name in sorted(want.keys() | have.keys()):
        a = _lines(want[name]) if name in want else []
        b = _lines(have[name]) if name in have else []
        if a != b:
            chunks.extend(
                difflib.unified_diff(a, b, f"regenerated/{name}", f"generated/{name}" if name in have else "/dev/null")
            )
            if chunks and not chunks[-1].endswith("\n"):
                chunks.append("\n")
    return "".join(chunks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare generated/ with a fresh regeneration")
    parser.add_argument("--output", type=Path, default=GENERATED, help="folder to write or check (generated/)")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="chatwoot-audit-generated-") as tmp:
            fresh = Path(tmp)
            generate_into(fresh)
            if args.check:
                diff = diff_trees(fresh, args.output)
                if diff:
                    sys.stdout.write(diff)
                    print(
                        f"\n{args.output} differs from what scripts/regenerate.py produces (diff above: "
                        "- regenerated, + committed). Fix openapi/ instead of editing generated code, then "
                        "run: python scripts/regenerate.py",
                        file=sys.stderr,
                    )
                    return 1
                print(f"{args.output} is up to date ({stamp()['generator']})")
                return 0
            if args.output.exists():
                shutil.rmtree(args.output)
            shutil.copytree(fresh, args.output)
            print(f"wrote {args.output} ({stamp()['generator']}, spec sha256 {stamp()['spec_sha256'][:12]})")
            return 0
    except RegenerateError as exc:
        print(f"regenerate: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

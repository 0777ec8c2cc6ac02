"""``chatwoot-audit demo``: a real export from an emulator on 127.0.0.1, then a summary of what it holds.

No configuration and no network beyond loopback: the emulator serves realistic entries, the export runs
through the same code as ``chatwoot-audit export`` (concurrent walk, whole-record appends), and the summary
is read back from the file it wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from .._redact import Secret, add_secret
from ._connect import Connection, RequestStats, open_client
from ._exits import ExitCode
from ._export import Export, FileTarget
from ._files import read_lines
from ._formats import Encoder
from ._progress import require_rich
from ._resume import ExportParams

__all__ = ["DEMO_FILE", "demo_command", "tally"]

DEMO_FILE: Final = "chatwoot-audit-demo.jsonl"
_LATENCY: Final = 0.01
_CONCURRENCY: Final = 8
_TOP: Final = 5
_SYSTEM: Final = "(system)"


def tally(entries: Iterable[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """How many entries per action, per auditable type and per user (``(system)`` when there is none)."""
    counts: dict[str, Counter[str]] = {"action": Counter(), "auditable_type": Counter(), "user": Counter()}
    for entry in entries:
        counts["action"][str(entry.get("action"))] += 1
        counts["auditable_type"][str(entry.get("auditable_type"))] += 1
        counts["user"][str(entry.get("username") or _SYSTEM)] += 1
    return counts


def _read_back(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_lines(path) if line.strip()]


def demo_command(args: argparse.Namespace) -> int:
    """Run ``chatwoot-audit demo``."""
    require_rich()
    from rich.columns import Columns
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..testing import Emulator

    console = Console()
    path = Path(args.output or DEMO_FILE)
    emulator = Emulator(seed=args.seed, entries=args.entries, latency=_LATENCY)
    token = emulator.admin_token
    add_secret(token)
    show_progress = not args.quiet and sys.stderr.isatty()
    stats = RequestStats(read_totals=show_progress)
    encoder = Encoder("jsonl")
    with emulator.serve() as server:
        console.print(
            f"Started a Chatwoot emulator at [bold]{escape(server.base_url)}[/] "
            f"(account {emulator.account_id}, {args.entries:,} audit-log entries)."
        )
        # trust_env=False: proxy variables must not send loopback traffic anywhere.
        connection = Connection(
            base_url=server.base_url, account_id=emulator.account_id, token=Secret(token), trust_env=False
        )
        with open_client(connection, stats, concurrency=_CONCURRENCY) as client:
            params = ExportParams(base_url=str(client.base_url), account_id=client.account_id, format="jsonl")
            export = Export(
                FileTarget(path, encoder, keep_state=False),
                encoder,
                params,
                concurrency=_CONCURRENCY,
                destination=str(path),
            )
            result = export.run(client, stats, progress=show_progress)
    counts = tally(_read_back(path))
    tables = []
    for key, title in (("action", "By action"), ("auditable_type", "By type"), ("user", "By user")):
        table = Table(title=title, title_justify="left")
        table.add_column(key.replace("_", " "))
        table.add_column("entries", justify="right")
        for value, count in counts[key].most_common(_TOP):
            # Text from the server (and below, the path from the command line) is shown as is, never as markup.
            table.add_row(escape(value), f"{count:,}")
        hidden = len(counts[key]) - _TOP
        if hidden > 0:
            table.add_row(f"[dim]… {hidden} more[/]", "")
        tables.append(table)
    console.print(Columns(tables, padding=(0, 4)))
    console.print(
        f"Exported [bold]{result.written:,}[/] entries in {result.seconds:.2f} s "
        f"({result.pages} pages, {_CONCURRENCY} at a time) to [bold]{escape(str(path.absolute()))}[/]"
    )
    console.print(
        "Next: point it at your server:\n"
        "  export CHATWOOT_BASE_URL=https://chat.example.com CHATWOOT_ACCOUNT_ID=1\n"
        "  export CHATWOOT_API_ACCESS_TOKEN=...   # an administrator's access token\n"
        "  chatwoot-audit export --output audit.jsonl",
        highlight=False,
    )
    return ExitCode.OK

"""The command line's flags, help texts and examples (argparse only: no dependency beyond the standard library)."""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Callable
from typing import Final

from .._config import ENV_ACCOUNT_ID, ENV_API_ACCESS_TOKEN, ENV_BASE_URL
from .._version import __version__
from ._exits import EXIT_CODES_HELP
from ._formats import FORMATS
from ._times import TIME_FORMS

__all__ = ["FOLLOW_DELIVERY", "PROG", "build_parser"]

PROG = "chatwoot-audit"

_DESCRIPTION = """\
Export, follow and archive a Chatwoot account's audit log (GET /api/v1/accounts/{id}/audit_logs).

Try it without a server first: chatwoot-audit demo
"""

_MAIN_EPILOG = f"""\
configuration (flags win over the environment):
  {ENV_BASE_URL:<26} {"the server, e.g. https://chat.example.com":<44} (--base-url URL)
  {ENV_ACCOUNT_ID:<26} {"the account id":<44} (--account-id N)
  {ENV_API_ACCESS_TOKEN:<26} {"an administrator's access token":<44} (--token-file FILE)
  The token is never taken as a plain flag and never printed.

examples:
  chatwoot-audit demo
  chatwoot-audit export --output audit.jsonl
  chatwoot-audit export --since 7d --format csv --output last-week.csv
  chatwoot-audit follow --checkpoint audit.checkpoint | vector --config vector.toml
  chatwoot-audit sync --into audit.sqlite

{EXIT_CODES_HELP}"""


def _paragraph(text: str) -> str:
    return textwrap.fill(text, width=104, subsequent_indent="  ")


# What follow promises about delivery: said once, here; docs/cli.md quotes it (tests/test_docs.py checks).
FOLLOW_DELIVERY: Final[str] = _paragraph(
    "delivery: the checkpoint file is replaced atomically after the lines it covers are written. A clean "
    "stop and restart neither repeats nor drops an entry. After a crash (kill -9, power loss), stdout may "
    "repeat the lines written since the last save (at most 100); with --output FILE the checkpoint also "
    "records the file's size and a restart cuts the file back to it, so the file holds every entry exactly "
    "once. A line written to a pipe counts as delivered: lines its reader had not read when it died are lost "
    "to it. An entry that becomes visible more than 5 minutes after its created_at may be missed (the "
    "checkpoint's overlap)."
)

_EXPORT_EPILOG = f"""\
{
    _paragraph(
        f"times (--since, --until): {TIME_FORMS}. Both bounds are inclusive; a date alone means midnight UTC "
        "at its start. So --until 2026-07-01 includes the entries stamped 2026-07-01T00:00:00Z: for months "
        "that do not overlap, end each at its last second (--until 2026-06-30T23:59:59Z)."
    )
}

filters (--action, --type, --user): repeat a flag or give a comma list; values of one flag are
  alternatives, different flags must all match, case is ignored. --user takes a username (email) or a
  numeric user id. The API has no filters: every entry in the window is read, only the output is filtered.

formats: jsonl (default; one API object a line), csv (a column per API field in the server's order,
  nested objects as compact JSON, created_at as ISO-8601 UTC), json (one array). With --output and no
  --format, the suffix decides (.jsonl/.ndjson, .csv, .json).

interrupted? An export to a file keeps FILE.resume.json beside it until it completes; run
  export -o FILE --resume to continue with the stored parameters (flags given again must match): the
  file ends up with every entry exactly once (the entries that arrived in the meantime come at its end,
  so it is not strictly newest first).

examples:
  chatwoot-audit export > audit.jsonl
  chatwoot-audit export --output audit.jsonl --concurrency 8
  chatwoot-audit export --output audit.jsonl --resume          # after Ctrl-C or a crash
  chatwoot-audit export --since 2026-06-01 --until 2026-06-30T23:59:59Z --format csv -o june.csv
  chatwoot-audit export --since 24h --action sign_in,sign_out --user admin@acme.example
  chatwoot-audit export --type AccountUser --type Team --format json -o people.json

{EXIT_CODES_HELP}"""

_FOLLOW_EPILOG = f"""\
Writes each new entry as one JSON line on stdout (or --output FILE), oldest first, and nothing else;
notes and warnings go to stderr. Outages (network, 5xx, a 200 that is not JSON, throttling) are logged and
retried at the next poll; a refused token, a missing account or JSON that is not an audit-log page stops it
(exit 3, 4 or 5). SIGINT or SIGTERM stops it cleanly: exit 0.

{FOLLOW_DELIVERY}

{_paragraph(f"--since (fresh checkpoint only): {TIME_FORMS}. Default: the whole history.")}

examples:
  chatwoot-audit follow --checkpoint audit.checkpoint | vector --config vector.toml
  chatwoot-audit follow --since 1h --interval 10 --checkpoint cp.json --output audit.jsonl
  chatwoot-audit follow --once --checkpoint cp.json >> audit.jsonl       # from cron

{EXIT_CODES_HELP}"""

_SYNC_EPILOG = f"""\
The first run loads the whole history (or from --since), later runs add only what is new; --follow keeps
polling. One file holds any number of accounts and servers, keyed by server (the base URL without a
trailing slash) and account id. Query it with the sqlite3 shell or any SQLite client: table audit_logs
(one row per entry, the API's field names, created_at as ISO-8601 UTC text and created_at_unix as Unix
seconds, JSON columns auditable, audited_changes and extra), view audit_changes (one row per changed field:
field, old, new), table sources (each account's checkpoint).

delivery: entries and the checkpoint are committed in the same transaction, every --batch-size entries,
  every second and at the end. After any stop (Ctrl-C, SIGTERM, kill -9, power loss) a rerun continues,
  and the file holds every entry exactly once. An entry that becomes visible more than 5 minutes after its
  created_at may be missed (the checkpoint's overlap), as with follow.

{_paragraph(f"--since (first sync of an account only): {TIME_FORMS}. Default: the whole history.")}

examples:
  chatwoot-audit sync --into audit.sqlite
  chatwoot-audit sync --into audit.sqlite --follow --interval 60
  sqlite3 audit.sqlite "SELECT created_at, username, action, auditable_type FROM audit_logs LIMIT 10"

{EXIT_CODES_HELP}"""  # noqa: S608 - help text that shows a query, not one built from input

_DEMO_EPILOG = """\
Starts the emulator on 127.0.0.1 (nothing else is contacted), exports its entries through the same code as
`chatwoot-audit export` (8 pages at a time) into a JSON Lines file, overwriting it, and shows who did what.

examples:
  chatwoot-audit demo
  chatwoot-audit demo --output /tmp/demo.jsonl --entries 2000
"""


def _int_at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _concurrency(text: str) -> int:
    value = _positive_int(text)
    if value > 64:
        raise argparse.ArgumentTypeError(f"must be at most 64, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, not {text}")
    return value


def _common(debug_default: object) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=debug_default,
        help="show tracebacks and the SDK's debug log (requests, retries) on stderr",
    )
    common.add_argument(
        "-q", "--quiet", action="store_true", default=debug_default, help="print only warnings and errors on stderr"
    )
    return common


def _connection() -> argparse.ArgumentParser:
    group_parser = argparse.ArgumentParser(add_help=False)
    group = group_parser.add_argument_group("connection (flags win over the environment)")
    group.add_argument("--base-url", metavar="URL", help=f"the Chatwoot server (default: ${ENV_BASE_URL})")
    group.add_argument(
        "--account-id",
        metavar="N",
        type=_positive_int,
        help=f"the account whose log to read (default: ${ENV_ACCOUNT_ID})",
    )
    group.add_argument(
        "--token-file",
        metavar="FILE",
        help=f"read the access token from FILE (default: ${ENV_API_ACCESS_TOKEN}); never a plain flag",
    )
    group.add_argument(
        "--token-header",
        choices=("api_access_token", "Api-Access-Token"),
        default="api_access_token",
        help="the token header's spelling; Api-Access-Token gets through proxies that drop underscores (nginx)",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// URL to a host other than this machine (the token travels in clear)",
    )
    group.add_argument("--timeout", type=_seconds, metavar="SECONDS", help="per request (default: 30, connect 10)")
    group.add_argument(
        "--max-retries",
        type=_non_negative_int,
        metavar="N",
        help="retries of a failed request (default: 4); 429s are retried apart, for up to about 150 s a request",
    )
    return group_parser


def _filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (repeatable, or comma lists)")
    group.add_argument("--action", action="append", metavar="ACTION", help="create, update, destroy, sign_in, sign_out")
    group.add_argument(
        "--type", action="append", metavar="TYPE", help="auditable_type: AccountUser, Inbox, Team, User, ..."
    )
    group.add_argument("--user", action="append", metavar="USER", help="a username (email) or a numeric user id")


def build_parser() -> argparse.ArgumentParser:
    """The ``chatwoot-audit`` parser with its subcommands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=_DESCRIPTION,
        epilog=_MAIN_EPILOG,
        formatter_class=formatter,
        parents=[_common(False)],
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # In subcommands the shared flags default to SUPPRESS, so one given before the subcommand is kept.
    common = _common(argparse.SUPPRESS)
    connection = _connection()

    export = commands.add_parser(
        "export",
        help="write every entry, or a window, to a file or stdout (JSONL, CSV, JSON)",
        description="Write every audit-log entry (or a window of them) as JSON Lines, CSV or a JSON array.",
        epilog=_EXPORT_EPILOG,
        formatter_class=formatter,
        parents=[common, connection],
    )
    window = export.add_argument_group("what and where")
    window.add_argument("--since", metavar="TIME", help="entries at or after TIME (e.g. 7d, 2026-06-01)")
    window.add_argument("--until", metavar="TIME", help="entries at or before TIME")
    window.add_argument(
        "-f", "--format", choices=FORMATS, help="output format (default: from --output's suffix, or jsonl)"
    )
    window.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of stdout (overwritten; - is stdout)"
    )
    window.add_argument("--resume", action="store_true", help="continue an interrupted export to --output FILE")
    window.add_argument(
        "--concurrency", type=_concurrency, default=4, metavar="N", help="pages fetched at once, 1-64 (default: 4)"
    )
    window.add_argument(
        "--spreadsheet-safe",
        action="store_true",
        help="csv: prefix cells starting with = + - @ with ' so spreadsheets never run them as formulas",
    )
    window.add_argument("--no-progress", action="store_true", help="no progress bar, even on a terminal")
    _filters(export)

    follow = commands.add_parser(
        "follow",
        help="poll for new entries and write them as JSON Lines, with a durable checkpoint",
        description="Poll for new audit-log entries and write each as a JSON line, oldest first, as they appear.",
        epilog=_FOLLOW_EPILOG,
        formatter_class=formatter,
        parents=[common, connection],
    )
    where = follow.add_argument_group("what and where")
    where.add_argument("--checkpoint", metavar="FILE", help="where delivery stands; created if missing (recommended)")
    where.add_argument("-o", "--output", metavar="FILE", help="append to FILE instead of stdout")
    where.add_argument("--since", metavar="TIME", help="with a fresh checkpoint: start at TIME (default: everything)")
    where.add_argument("--interval", type=_seconds, default=30.0, metavar="SECONDS", help="between polls (default: 30)")
    where.add_argument("--once", action="store_true", help="poll once, deliver what is new, and exit")
    where.add_argument(
        "--concurrency", type=_concurrency, default=1, metavar="N", help="pages fetched at once, 1-64 (default: 1)"
    )
    _filters(follow)

    sync = commands.add_parser(
        "sync",
        help="copy entries into a SQLite archive, exactly once; later runs add what is new",
        description="Copy the audit log into a SQLite file, exactly once, and keep it up to date.",
        epilog=_SYNC_EPILOG,
        formatter_class=formatter,
        parents=[common, connection],
    )
    into = sync.add_argument_group("what and where")
    into.add_argument("--into", metavar="FILE", required=True, help="the SQLite archive; created if missing")
    into.add_argument("--since", metavar="TIME", help="first sync of an account: start at TIME (default: everything)")
    into.add_argument("--follow", action="store_true", help="keep polling for new entries until stopped")
    into.add_argument(
        "--interval", type=_seconds, default=30.0, metavar="SECONDS", help="--follow: between polls (default: 30)"
    )
    into.add_argument(
        "--concurrency", type=_concurrency, default=4, metavar="N", help="pages fetched at once, 1-64 (default: 4)"
    )
    into.add_argument(
        "--batch-size", type=_positive_int, default=2000, metavar="N", help="entries per transaction (default: 2000)"
    )

    demo = commands.add_parser(
        "demo",
        help="export from a local emulator and summarise it: no server or configuration needed",
        description="Export a realistic audit log from an emulator on 127.0.0.1 and show what it holds.",
        epilog=_DEMO_EPILOG,
        formatter_class=formatter,
        parents=[common],
    )
    demo.add_argument("-o", "--output", metavar="FILE", help="where to write (default: ./chatwoot-audit-demo.jsonl)")
    demo.add_argument("--entries", type=_positive_int, default=500, metavar="N", help="entries to serve (default: 500)")
    demo.add_argument("--seed", type=int, default=7, help="another seed, other entries (default: 7)")

    commands.add_parser(
        "emulator",
        help="run the emulator as a standalone server (same as python -m chatwoot_audit.testing)",
        add_help=False,
    )
    return parser

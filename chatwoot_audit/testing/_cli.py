"""The standalone emulator: parse flags, serve on 127.0.0.1, print where, stop on SIGINT or SIGTERM.

Reused by any command that wants to start an emulator (``main(argv)`` returns the exit status).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shlex
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType

from ._auth import ROLES
from ._core import Emulator
from ._faults import FAULT_KINDS, RandomFaults, check_kind

_EPILOG = f"""\
Prints one JSON line on stdout:
  {{"base_url": ..., "account_id": ..., "api_access_token": ...}}
where the token is an administrator's, then serves until SIGINT or SIGTERM.

With --env it prints shell lines instead, then closes stdout and serves:
  export CHATWOOT_BASE_URL=... CHATWOOT_ACCOUNT_ID=... CHATWOOT_API_ACCESS_TOKEN=...
  export CHATWOOT_EMULATOR_PID=...
so that a shell can take them and leave it serving in the background:
  eval "$(chatwoot-audit emulator --env &)"
  chatwoot-audit export --since 1d
  kill "$CHATWOOT_EMULATOR_PID"

The newest entry is stamped at start-up, with the history running back from
there; --now pins that moment (and --seed everything else) for the same
entries on every run.

Tokens depend only on --seed. Add --print-tokens to the same command to get
every role's token in that line too, as "tokens": {{role: token}}, with
"other_account_id" and "suspended_account_id". Roles:
  {", ".join(ROLES)}
"""


def build_parser(*, prog: str = "python -m chatwoot_audit.testing") -> argparse.ArgumentParser:
    """The emulator's command-line flags; ``prog`` names the command in usage lines."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Serve a fake Chatwoot audit-log API on 127.0.0.1 that behaves like the real server.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default)")
    parser.add_argument("--entries", type=_non_negative, default=60, help="entries to start with (default 60)")
    parser.add_argument(
        "--per-page",
        type=_positive,
        default=25,
        help="entries per page: 25 like v4.14.1+, 15 like v4.14.0 (default 25)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="fixes entries, tokens, tie order, late commits and random faults"
    )
    parser.add_argument(
        "--now",
        type=_moment,
        default=None,
        metavar="TIME",
        help="created_at of the newest entry, as Unix seconds or ISO 8601 with a zone (default: start-up time)",
    )
    parser.add_argument("--latency-ms", type=_non_negative_float, default=0.0, help="milliseconds every answer waits")
    parser.add_argument(
        "--arrivals-per-request", type=_non_negative, default=0, help="new entries written after each request"
    )
    parser.add_argument("--arrivals-per-second", type=_rate, default=0.0, help="new entries written per second")
    parser.add_argument(
        "--late-commits-per-request",
        "--late-commits",
        type=_non_negative,
        default=0,
        metavar="N",
        help="entries that become visible late after each request, stamped within --late-window of the newest",
    )
    parser.add_argument(
        "--late-commits-per-second",
        type=_rate,
        default=0.0,
        metavar="R",
        help="entries that become visible late per second",
    )
    parser.add_argument(
        "--late-window",
        type=_second_range,
        default=(1, 120),
        metavar="LO:HI",
        help="seconds behind the newest entry a late one is stamped, drawn uniformly (default 1:120)",
    )
    parser.add_argument("--unstable-ties", action="store_true", help="reorder equal timestamps on every request")
    parser.add_argument(
        "--rate-limit",
        type=_positive,
        default=None,
        help="requests per window (a minute unless --rate-window) before 429s",
    )
    parser.add_argument(
        "--rate-window",
        type=_positive_float,
        default=60.0,
        help="seconds of a rate-limit window, aligned on multiples of it like Rack::Attack's (default 60)",
    )
    parser.add_argument("--feature-disabled", action="store_true", help="answer empty pages, as without the feature")
    parser.add_argument(
        "--faults",
        type=_schedule,
        default=None,
        metavar="N=KIND,...",
        help=f"fail given requests, e.g. 1=429,3=502,7=drop; kinds: {', '.join(FAULT_KINDS)}",
    )
    parser.add_argument(
        "--fault-probability", type=_probability, default=None, metavar="P", help="fail each request with probability P"
    )
    parser.add_argument(
        "--slow-delay", type=_non_negative_float, default=5.0, help="seconds a 'slow' fault delays (default 5)"
    )
    parser.add_argument("--print-tokens", action="store_true", help="add every role's token to the JSON line")
    parser.add_argument(
        "--env",
        action="store_true",
        help="print shell export lines (CHATWOOT_BASE_URL, ...) instead of the JSON line; see below",
    )
    return parser


def main(argv: list[str] | None = None, *, prog: str = "python -m chatwoot_audit.testing") -> int:
    """Run the emulator until interrupted; returns the exit status."""
    args = build_parser(prog=prog).parse_args(argv)
    if args.faults is not None and args.fault_probability is not None:
        print("error: --faults and --fault-probability cannot be combined", file=sys.stderr)
        return 2
    faults = args.faults
    if args.fault_probability is not None:
        faults = RandomFaults(args.fault_probability)
    emulator = Emulator(
        seed=args.seed,
        entries=args.entries,
        per_page=args.per_page,
        feature_enabled=not args.feature_disabled,
        latency=args.latency_ms / 1000.0,
        arrivals_per_request=args.arrivals_per_request,
        arrivals_per_second=args.arrivals_per_second,
        late_commits_per_request=args.late_commits_per_request,
        late_commits_per_second=args.late_commits_per_second,
        late_window=args.late_window,
        unstable_ties=args.unstable_ties,
        rate_limit=args.rate_limit,
        rate_window=args.rate_window,
        faults=faults,
        slow_delay=args.slow_delay,
        now=args.now,
    )
    stop = threading.Event()
    try:
        server = emulator.serve(port=args.port)
    except (OSError, OverflowError) as exc:
        print(f"error: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 1
    with _stop_on_signals(stop), server:
        if args.env:
            _print_env(server.base_url, emulator)
            while not stop.wait(0.2):
                pass
            return 0
        line: dict[str, object] = {
            "base_url": server.base_url,
            "account_id": emulator.account_id,
            "api_access_token": emulator.admin_token,
        }
        if args.print_tokens:
            line["tokens"] = emulator.tokens
            line["other_account_id"] = emulator.other_account_id
            line["suspended_account_id"] = emulator.suspended_account_id
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        # A timeout keeps the wait interruptible everywhere signals are delivered between bytecodes.
        while not stop.wait(0.2):
            pass
    return 0


def _print_env(base_url: str, emulator: Emulator) -> None:
    variables = {
        "CHATWOOT_BASE_URL": base_url,
        "CHATWOOT_ACCOUNT_ID": str(emulator.account_id),
        "CHATWOOT_API_ACCESS_TOKEN": emulator.admin_token,
    }
    assignments = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
    sys.stdout.write(f"export {assignments}\nexport CHATWOOT_EMULATOR_PID={os.getpid()}\n")
    sys.stdout.flush()
    # A shell reading these lines through $(...) waits for the end of the output, which would otherwise
    # come only when the server stops. Only the process's own stdout is let go: not a caller's replacement.
    stdout = sys.__stdout__
    if stdout is not None and sys.stdout is stdout:
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stdout.fileno())
            os.close(devnull)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("must be a number of at least 0")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number of at least 0")
    return value


def _second_range(text: str) -> tuple[int, int]:
    low, colon, high = text.partition(":")
    try:
        bounds = (int(low), int(high)) if colon else None
    except ValueError:
        bounds = None
    if bounds is None:
        raise argparse.ArgumentTypeError("must be LO:HI in whole seconds, e.g. 1:120")
    if not 0 <= bounds[0] <= bounds[1]:
        raise argparse.ArgumentTypeError("must have 0 <= LO <= HI")
    return bounds


def _positive_float(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds above 0")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _moment(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                "must be Unix seconds or an ISO 8601 time, e.g. 2026-06-16T09:41:27Z"
            ) from None
        if moment.tzinfo is None:
            raise argparse.ArgumentTypeError("an ISO 8601 time needs its zone, e.g. Z or +02:00") from None
        return moment.timestamp()
    if not math.isfinite(value) or not 0 <= value < 253_402_300_800:
        raise argparse.ArgumentTypeError("must be Unix seconds between 1970 and 9999")
    return value


def _schedule(text: str) -> dict[int, str]:
    schedule: dict[int, str] = {}
    for item in filter(None, text.split(",")):
        number, _, kind = item.partition("=")
        try:
            schedule[int(number)] = check_kind(kind.strip())
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{item!r}: {exc}") from exc
    return schedule

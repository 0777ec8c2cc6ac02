"""What docs/benchmarks.md claims about speed and memory, measured as ratios against a baseline in the same run.

    python scripts/bench.py            # the full sizes (about two minutes)
    python scripts/bench.py --quick    # smaller sizes, under a minute

Every figure is a ratio of two measurements taken in this process against the same emulator, which runs
in a process of its own on 127.0.0.1 (``python -m chatwoot_audit.testing``): absolute seconds on a shared
machine mean little, ratios travel. Each timing is the best of ``--repeat`` runs.

1. overhead: sequential ``logs()`` throughput / a plain httpx + json loop over the same pages (goal >= 0.8)
2. concurrency, 20 ms latency a request, against a bare asyncio + httpx loop that keeps k requests in
   flight over the same pages (a semaphore): sync and async ``logs(concurrency=8)`` / sequential ``logs()``
   (goal >= 5x), async c=8 / sync c=8 (goal >= 0.9), async c=k / the bare loop at k (goals >= 0.9 at 8,
   >= 0.85 at 16), async c=16 / sync c=16, and the cost of a client not entered with ``async with``
   (its walks go in batches)
3. memory: peak traced memory over a 1,000,000-entry history minus that over a 100,000-entry one, for a
   full ``logs()`` walk and for a first ``logs_after(Checkpoint())`` (goals < 5 MB each), and the
   requests and time before a first sync's first entry at both sizes (goal: a few requests, the same at
   both sizes; the time a ratio of the two)
4. windows: requests ``logs(until=...)`` spends before its first entry deep in the history / requests a
   linear walk spends to get there
5. rate limit: entries/s under an emulated Rack::Attack limit / the limit's ceiling (goal >= 0.8, no error)
6. recovery: requests a complete walk spends per page of history, in-process on an emulator whose ties
   reorder on every request and where about half of all page boundaries fall inside a tie group: with
   nothing arriving (goal <= 1.8), and with an arrival and a late commit after every request (bounded:
   at most 3 requests a page plus a constant, by the walk's re-read budget), with how many of those walks
   gave up with IncompleteWalkError rather than prove what they read
7. archive: a first ``chatwoot-audit sync --into`` (SQLite) / ``chatwoot-audit export`` to JSON Lines over the
   same emulator, each command in a process of its own (goal >= 0.8); ``scripts/_bench_archive.py``
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

import anyio
import httpx

from chatwoot_audit import AsyncChatwootAudit, ChatwootAudit, Checkpoint, IncompleteWalkError, RetryPolicy
from chatwoot_audit.testing import Emulator


@contextmanager
def emulator(*flags: str) -> Iterator[dict[str, Any]]:
    """The emulator in its own process; yields the JSON line it prints (base_url, account_id, token)."""
    cmd = [sys.executable, "-m", "chatwoot_audit.testing", "--port", "0", *flags]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator did not start: {' '.join(cmd)}")
        yield json.loads(line)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def best(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    """The shortest of ``repeat`` timed runs, and what the last run returned."""
    (seconds, result), _ = duel(repeat, run, lambda: None)
    return seconds, result


def duel(repeat: int, one: Callable[[], Any], other: Callable[[], Any]) -> tuple[tuple[float, Any], tuple[float, Any]]:
    """The best of ``repeat`` runs of each, taken in turns, so that a noisy moment hurts both alike."""
    times: tuple[list[float], list[float]] = ([], [])
    results: list[Any] = [None, None]
    for _ in range(repeat):
        for i, run in enumerate((one, other)):
            gc.collect()
            start = time.perf_counter()
            results[i] = run()
            times[i].append(time.perf_counter() - start)
    return (min(times[0]), results[0]), (min(times[1]), results[1])


def client(info: dict[str, Any], **kwargs: Any) -> ChatwootAudit:
    return ChatwootAudit(info["base_url"], info["api_access_token"], info["account_id"], **kwargs)


def url(info: dict[str, Any]) -> str:
    return f"{info['base_url']}/api/v1/accounts/{info['account_id']}/audit_logs"


def plain_loop(info: dict[str, Any]) -> int:
    """The baseline a user would write: httpx, json, page after page until an empty one."""
    count = 0
    headers = {"api_access_token": info["api_access_token"]}
    with httpx.Client(headers=headers) as http:
        page = 1
        while True:
            body = http.get(url(info), params={"page": page}).json()
            if not body["audit_logs"]:
                return count
            count += len(body["audit_logs"])
            page += 1


def sdk_walk(info: dict[str, Any], concurrency: int = 1) -> int:
    with client(info) as sdk:
        return sum(1 for _ in sdk.logs(concurrency=concurrency))


def async_sdk_walk(info: dict[str, Any], concurrency: int, *, enter: bool = True) -> int:
    async def run() -> int:
        sdk = AsyncChatwootAudit(info["base_url"], info["api_access_token"], info["account_id"])
        if not enter:
            try:
                return sum([1 async for _ in sdk.logs(concurrency=concurrency)])
            finally:
                await sdk.aclose()
        async with sdk:
            return sum([1 async for _ in sdk.logs(concurrency=concurrency)])

    return anyio.run(run)


def bare_sliding(info: dict[str, Any], pages: int, k: int) -> int:
    """A bare asyncio + httpx loop over the same pages that keeps k requests in flight (a semaphore)."""

    async def run() -> int:
        headers = {"api_access_token": info["api_access_token"]}
        async with httpx.AsyncClient(headers=headers) as http:
            room = asyncio.Semaphore(k)

            async def one(page: int) -> int:
                async with room:
                    return len((await http.get(url(info), params={"page": page})).json()["audit_logs"])

            return sum(await asyncio.gather(*(one(p) for p in range(1, pages + 1))))

    return asyncio.run(run())


def rounds(repeat: int, runs: dict[str, Callable[[], Any]]) -> dict[str, tuple[float, Any]]:
    """The best of ``repeat`` runs of each, taken in turns, so that a noisy moment hurts all alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, run in runs.items():
            gc.collect()
            start = time.perf_counter()
            results[name] = run()
            times[name].append(time.perf_counter() - start)
    return {name: (min(times[name]), results[name]) for name in runs}


def report(name: str, ratio: float, goal: str, ok: bool, detail: str) -> bool:
    mark = "ok " if ok else "MISS"
    print(f"  [{mark}] {name}: {ratio:.3g} (goal {goal}) {detail}")
    return ok


def bench_overhead(entries: int, repeat: int) -> bool:
    print(f"1. overhead: {entries} entries, no added latency")
    with emulator("--entries", str(entries)) as info:
        (base, n1), (sdk, n2) = duel(repeat, lambda: plain_loop(info), lambda: sdk_walk(info))
    assert n1 == n2 == entries, (n1, n2)
    ratio = (n2 / sdk) / (n1 / base)
    return report(
        "logs() / plain httpx loop",
        ratio,
        ">= 0.8",
        ratio >= 0.8,
        f"({n2 / sdk:,.0f} vs {n1 / base:,.0f} entries/s)",
    )


def bench_concurrency(pages: int, repeat: int) -> bool:
    entries = pages * 25
    print(f"2. concurrency: {pages} pages, 20 ms latency a request")
    with emulator("--entries", str(entries), "--latency-ms", "20") as info:
        runs: dict[str, Callable[[], Any]] = {"sequential": lambda: sdk_walk(info)}
        for k in (8, 16):
            runs[f"sync {k}"] = lambda k=k: sdk_walk(info, k)  # type: ignore[misc]
            runs[f"async {k}"] = lambda k=k: async_sdk_walk(info, k)  # type: ignore[misc]
            runs[f"bare {k}"] = lambda k=k: bare_sliding(info, pages, k)  # type: ignore[misc]
        runs["async 8, not entered"] = lambda: async_sdk_walk(info, 8, enter=False)
        best = rounds(repeat, runs)
    assert all(n == entries for _, n in best.values()), {name: n for name, (_, n) in best.items()}
    t = {name: seconds for name, (seconds, _) in best.items()}
    seq = t["sequential"]
    ok = report("sync logs(concurrency=8) / sequential logs()", seq / t["sync 8"], ">= 5", seq / t["sync 8"] >= 5, "")
    ok &= report(
        "async logs(concurrency=8) / sequential logs()", seq / t["async 8"], ">= 5", seq / t["async 8"] >= 5, ""
    )
    for k, goal in ((8, 0.9), (16, 0.85)):
        ratio = t[f"bare {k}"] / t[f"async {k}"]
        ok &= report(
            f"async logs(concurrency={k}) / bare httpx, {k} in flight", ratio, f">= {goal:g}", ratio >= goal, ""
        )
    twins = t["sync 8"] / t["async 8"]
    ok &= report("async logs(concurrency=8) / sync logs(concurrency=8)", twins, ">= 0.9", twins >= 0.9, "")
    twins = t["sync 16"] / t["async 16"]
    report("async logs(concurrency=16) / sync logs(concurrency=16)", twins, "none", True, "")
    unentered = t["async 8"] / t["async 8, not entered"]
    report(
        "async c=8, client not entered (batches) / entered",
        unentered,
        "none",
        True,
        f"({seq / t['async 8, not entered']:.1f}x sequential)",
    )
    detail = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in t.items())
    print(f"  best times: {detail}")
    return ok


def traced(run: Callable[[], int]) -> tuple[int, int]:
    """What ``run`` returned, and the peak of memory traced while it ran."""
    gc.collect()
    tracemalloc.start()
    try:
        n = run()
        return n, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def first_sync(info: dict[str, Any]) -> int:
    with client(info) as sdk:
        return sum(1 for _ in sdk.logs_after(Checkpoint()))


def first_entry(info: dict[str, Any]) -> tuple[float, int]:
    """Seconds and requests before a first sync hands out its first entry."""
    asked = [0]

    def count(request: httpx.Request) -> None:
        asked[0] += 1

    with (
        httpx.Client(event_hooks={"request": [count]}) as http,
        client(info, http_client=http) as sdk,
    ):
        start = time.perf_counter()
        logs = sdk.logs_after(Checkpoint())
        next(logs)
        seconds = time.perf_counter() - start
        logs.close()
    return seconds, asked[0]


def bench_memory(large: int, repeat: int) -> bool:
    small = large // 10
    print(f"3. memory: a {large:,}-entry history against a {small:,}-entry one")
    peaks: dict[tuple[str, int], int] = {}
    firsts: dict[int, tuple[float, int]] = {}
    for size in (small, large):
        with emulator("--entries", str(size)) as info:
            walks: dict[str, Callable[[dict[str, Any]], int]] = {"logs()": sdk_walk, "first logs_after": first_sync}
            for name, walk in walks.items():
                n, peaks[name, size] = traced(partial(walk, info))
                assert n == size, f"{name} found {n} of {size}"
            firsts[size] = min(first_entry(info) for _ in range(repeat))
    ok = True
    for name in ("logs()", "first logs_after"):
        extra = (peaks[name, large] - peaks[name, small]) / 2**20
        detail = f"(peaks {peaks[name, small] / 2**20:.1f} MB and {peaks[name, large] / 2**20:.1f} MB)"
        ok = report(f"{name}: peak({large:,}) - peak({small:,}) in MB", extra, "< 5", extra < 5, detail) and ok
    (t_small, r_small), (t_large, r_large) = firsts[small], firsts[large]
    return (
        report(
            f"first entry of a first sync: time at {large:,} / at {small:,}",
            t_large / t_small,
            "a few requests at both sizes",
            max(r_small, r_large) <= 8,
            f"({r_small} and {r_large} requests; best {t_small * 1000:.1f} ms and {t_large * 1000:.1f} ms)",
        )
        and ok
    )


def bench_windows(entries: int) -> bool:
    print(f"4. windows: until 90% deep into {entries:,} entries")
    with emulator("--entries", str(entries)) as info:
        counted = {"n": 0}

        def hook(request: httpx.Request) -> None:
            counted["n"] += 1

        with httpx.Client(event_hooks={"request": [hook]}) as http, client(info, http_client=http) as sdk:
            total = sdk.page(1).total_pages
            deep = sdk.page(int(total * 0.9))
            until = deep.items[0].created_at
            counted["n"] = 0
            first = next(iter(sdk.logs(until=until)))
            spent = counted["n"]
    assert first.created_at <= until
    linear = int(total * 0.9)
    ratio = spent / linear
    return report(
        "requests of until-search / requests of a linear walk to it",
        ratio,
        "small",
        ratio < 0.1,
        f"({spent} vs {linear} requests over {total} pages)",
    )


def bench_rate_limit(window: float, limit: int, windows: int) -> bool:
    print(f"5. rate limit: {limit} requests per {window:g} s window, entries read in {windows} whole windows")
    entries = limit * 25 * (windows + 2)  # more than the limit lets through in the time measured
    # The emulator counts in windows aligned on wall-clock multiples, as Rack::Attack does.
    flags = ("--entries", str(entries), "--rate-limit", str(limit), "--rate-window", str(window))
    with emulator(*flags) as info:
        policy = RetryPolicy(rate_limit_window=window, rate_limit_base_delay=window / 30, rate_limit_max_delay=window)
        with client(info, retry_policy=policy) as sdk:
            # Whole windows from a boundary on: the count measures the limit, not the luck of the first one.
            time.sleep(window - time.time() % window)
            start = time.perf_counter()
            n = 0
            for _ in sdk.logs(concurrency=8):
                n += 1
                if time.perf_counter() - start >= windows * window:
                    break
            elapsed = time.perf_counter() - start
    ceiling = limit / window * 25
    ratio = (n / elapsed) / ceiling
    return report(
        "entries/s / ceiling",
        ratio,
        ">= 0.8",
        ratio >= 0.8,
        f"({n / elapsed:,.0f} vs {ceiling:,.0f} entries/s over {elapsed:.1f} s, no error)",
    )


def tied_history(entries: int, seed: int) -> Emulator:
    """An emulator whose history repeats a second about half the time, so ties straddle half the boundaries."""
    emu = Emulator(seed=seed, entries=0, unstable_ties=True)
    rng = random.Random(seed)
    stamp = 1_781_000_000
    for entry_id in range(1, entries + 1):
        stamp += 0 if rng.random() < 0.5 else rng.randint(1, 30)
        emu.add_entry(id=entry_id, created_at=stamp)
    return emu


def recovery_walks(entries: int, walks: int, **knobs: Any) -> tuple[float, float, int, float]:
    """Requests per page over ``walks`` walks, the worst walk's margin to its bound, how many gave up, and
    the share of tied boundaries. The bound: the walk's own pages (as many as the list holds when it
    ends), two re-reads for each, and a constant for the rounds' reference reads."""
    spent = pages = given_up = 0
    worst = 0.0
    tied = 0.0
    for seed in range(walks):
        emu = tied_history(entries, seed)
        stamps = [row["created_at"] for row in emu.entries]
        boundaries = range(25, len(stamps), 25)
        tied += sum(stamps[b - 1] == stamps[b] for b in boundaries) / max(1, len(boundaries)) / walks
        emu.configure(**knobs)
        own = -(-entries // 25)
        with (
            httpx.Client(transport=emu.transport(), base_url="https://chatwoot.test") as http,
            ChatwootAudit("https://chatwoot.test", emu.admin_token, emu.account_id, http_client=http) as sdk,
        ):
            try:
                for _ in sdk.logs():
                    pass
            except IncompleteWalkError:
                given_up += 1
        spent += emu.request_count
        pages += own
        worst = max(worst, emu.request_count / (3 * -(-emu.total_entries // 25) + 26))
    return spent / pages, worst, given_up, tied


def bench_recovery(entries: int, walks: int) -> bool:
    print(f"6. recovery: {walks} walks of {entries:,} entries each, ties reordered on every request")
    quiet, _, quiet_gave_up, tied = recovery_walks(entries, walks)
    ok = report(
        "requests a page, nothing arriving",
        quiet,
        "<= 1.8",
        quiet <= 1.8 and quiet_gave_up == 0,
        f"({tied:.0%} of boundaries tied; {quiet_gave_up} of {walks} walks gave up)",
    )
    busy, busy_worst, busy_gave_up, _ = recovery_walks(
        entries, walks, arrivals_per_request=1, late_commits_per_request=1
    )
    return (
        report(
            "requests a page, an arrival and a late commit after every request",
            busy,
            "bounded",
            busy_worst <= 1,
            f"(the worst walk spent {busy_worst:.0%} of its bound of 3 a page + 26; {busy_gave_up} of {walks} "
            "gave up, saying how many entries they could not account for)",
        )
        and ok
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes: under a minute")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per figure; the best counts")
    parser.add_argument("--only", type=int, action="append", help="run only these benchmarks (1-7)")
    args = parser.parse_args(argv)
    quick = args.quick
    chosen = set(args.only or range(1, 8))
    print(f"chatwoot-audit benchmarks ({'quick' if quick else 'full'}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC,")
    print(f"  Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    results = []
    if 1 in chosen:
        results.append(bench_overhead(5_000 if quick else 25_000, args.repeat))
    if 2 in chosen:
        results.append(bench_concurrency(120 if quick else 240, args.repeat))
    if 3 in chosen:
        results.append(bench_memory(100_000 if quick else 1_000_000, args.repeat))
    if 4 in chosen:
        results.append(bench_windows(20_000 if quick else 100_000))
    if 5 in chosen:
        results.append(bench_rate_limit(2.0, 40, 3 if quick else 8))
    if 6 in chosen:
        results.append(bench_recovery(2_500 if quick else 5_000, 4 if quick else 10))
    if 7 in chosen:
        # Imported here: the archive's benchmark builds on this module's helpers.
        from _bench_archive import bench_archive

        results.append(bench_archive(5_000 if quick else 25_000, args.repeat))
    print("all goals met" if all(results) else "some goals missed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The progress display on stderr: entries, pages, rate and time left. Rich is imported only here and in _demo.

Shown only when stderr is a terminal. The bar measures what is known to be left: entries against the
server's ``total_entries`` for a whole export, or the part of the ``--since`` window already covered
(entries come newest first, so ``created_at`` says how far back the walk has come).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._models import AuditLog
from ._connect import RequestStats
from ._exits import UsageError

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["INSTALL_HINT", "ExportProgress", "NoProgress", "require_rich"]

INSTALL_HINT = "the command line needs the cli extra (rich): pip install 'chatwoot-audit[cli]'"


def require_rich() -> None:
    """Refuse to run, with the way to install it, when the ``cli`` extra is missing."""
    try:
        import rich  # noqa: F401
    except ImportError:
        raise UsageError(INSTALL_HINT) from None


class NoProgress:
    """No display: what a pipe or a log file gets."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def update(self, *, scanned: int, written: int, last: AuditLog | None) -> None:
        """Note how far the walk has come."""


class ExportProgress(NoProgress):
    """A rich progress bar for an export."""

    # Redrawing is throttled: a fast walk yields thousands of entries a second.
    _EVERY = 0.05

    def __init__(
        self, stats: RequestStats, *, since: int | None, until: int | None, description: str = "Exporting"
    ) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

        self._stats = stats
        self._since, self._until = since, until
        self._newest: int | None = until
        self._started = time.monotonic()
        self._last_draw = 0.0
        self._scanned = self._written = 0
        self._last: AuditLog | None = None
        self._progress: Progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            redirect_stdout=False,
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(description, total=None, detail="starting")

    def __enter__(self) -> ExportProgress:
        self._progress.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._draw(force=True, done=exc_type is None)
        self._progress.stop()

    def update(self, *, scanned: int, written: int, last: AuditLog | None) -> None:
        """Note how far the walk has come; redrawn at most every 50 ms."""
        self._scanned, self._written, self._last = scanned, written, last
        self._draw()

    def _draw(self, *, force: bool = False, done: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < self._EVERY:
            return
        self._last_draw = now
        elapsed = max(now - self._started, 1e-6)
        fields: dict[str, Any] = {
            "detail": (
                f"{self._written:,} entries"
                + (f" of {self._scanned:,} read" if self._scanned != self._written else "")
                + f" · {self._stats.pages:,} pages · {self._scanned / elapsed:,.0f}/s"
            )
        }
        if self._since is None and self._until is None:
            total = self._stats.total_entries
            fields.update(total=max(total, self._scanned) if total is not None else None, completed=self._scanned)
        elif self._since is not None and self._last is not None:
            # Entries come newest first: the window is covered from its top (until, or the newest entry) down.
            stamp = self._last.timestamp
            if self._newest is None:
                self._newest = stamp
            span = max(self._newest - self._since, 1)
            fields.update(total=span, completed=min(max(self._newest - stamp, 0), span))
        if done:
            # The walk is over: whatever was estimated, nothing is left.
            fields.update(total=max(self._scanned, 1), completed=max(self._scanned, 1))
        self._progress.update(self._task, **fields)

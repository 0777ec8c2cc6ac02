"""SIGINT and SIGTERM: how an export and a follower stop.

An export stops at once (SIGTERM raises :class:`Terminated`, as Ctrl-C raises KeyboardInterrupt): every
record already written is whole, and ``--resume`` continues. A follower must not stop between writing a
line and recording it in the checkpoint, so :class:`StopSignals` defers the stop while it is shielded.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["StopSignals", "Stopped", "Terminated", "sigterm_raises"]


class Terminated(BaseException):
    """SIGTERM arrived (a BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it)."""


class Stopped(BaseException):
    """SIGINT or SIGTERM asked a follower to stop."""


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread."""
    if not _main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    if signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        # Whoever started the process chose to ignore SIGTERM; keep it that way.
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class StopSignals:
    """SIGINT and SIGTERM raise :class:`Stopped`, except inside :meth:`shielded`, where they wait for :meth:`check`."""

    def __init__(self) -> None:
        self.requested: int | None = None
        self._shielded = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.requested = signum
        if not self._shielded:
            raise Stopped

    @contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Handle the signals within the block (main thread only; elsewhere they keep their handlers)."""
        if not _main_thread():
            yield self
            return
        # A signal ignored by whoever started the process (a shell's background job ignores SIGINT) stays ignored.
        wanted = [sig for sig in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(sig) != signal.SIG_IGN]
        previous = {sig: signal.signal(sig, self._handler) for sig in wanted}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    @contextmanager
    def shielded(self) -> Iterator[None]:
        """A stop asked for within the block only sets :attr:`requested`."""
        self._shielded = True
        try:
            yield
        finally:
            self._shielded = False

    def check(self) -> None:
        """Raise :class:`Stopped` if a stop was asked for."""
        if self.requested is not None:
            raise Stopped

"""Files that survive a kill: whole records appended with one write each, small files replaced atomically.

A record goes out in one ``os.write`` on an ``O_APPEND`` descriptor: a killed process leaves at most the
last record cut short, never two records interleaved; resuming cuts that tail. Checkpoints and states are
written to a temporary file beside the target, flushed to disk, and renamed over it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .._checkpoint import replace_file as atomic_replace
from .._checkpoint import sync_directory
from ._exits import FileError

__all__ = ["AppendFile", "file_error", "read_lines", "remove", "replace_file", "sync_directory", "write_all"]


def file_error(exc: OSError, doing: str, path: Path | str) -> FileError:
    """A one-line :class:`FileError` for an ``OSError`` met while ``doing`` something to ``path``."""
    return FileError(f"cannot {doing} {path}: {exc.strerror or exc}")


def write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to ``fd``: in one write, unless the kernel takes less (a full disk, a pipe)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class AppendFile:
    """An output file opened for appending whole records."""

    def __init__(self, path: Path, *, truncate: bool = False) -> None:
        self.path = path
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        if truncate:
            flags |= os.O_TRUNC
        try:
            self.fd: int | None = os.open(path, flags, 0o666)
        except OSError as exc:
            raise file_error(exc, "open", path) from None

    def _fd(self) -> int:
        if self.fd is None:
            raise ValueError(f"{self.path} is closed")
        return self.fd

    def write(self, data: bytes) -> None:
        """Append one or more whole records."""
        try:
            write_all(self._fd(), data)
        except OSError as exc:
            raise file_error(exc, "write to", self.path) from None

    def size(self) -> int:
        """The file's size now."""
        return os.fstat(self._fd()).st_size

    def sync(self) -> None:
        """Flush what was written to the disk."""
        try:
            os.fsync(self._fd())
        except OSError as exc:
            raise file_error(exc, "flush", self.path) from None

    def truncate(self, size: int) -> None:
        """Cut the file to ``size`` bytes."""
        try:
            os.ftruncate(self._fd(), size)
        except OSError as exc:
            raise file_error(exc, "truncate", self.path) from None

    def close(self) -> None:
        """Close the descriptor (twice is fine)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


def replace_file(path: Path, data: bytes) -> None:
    """Make ``path`` hold ``data``, all or nothing: a temporary file, fsync, rename, fsync of the directory."""
    # The library's own writer: a checkpoint saved by either is written the same way.
    try:
        atomic_replace(str(path), data)
    except OSError as exc:
        raise file_error(exc, "write", path) from None


def read_lines(path: Path) -> Iterator[bytes]:
    """The lines of ``path`` as bytes, each with its newline (the last may have none)."""
    try:
        with path.open("rb") as handle:
            yield from handle
    except OSError as exc:
        raise file_error(exc, "read", path) from None


def remove(path: Path) -> None:
    """Delete ``path`` if it exists."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise file_error(exc, "remove", path) from None

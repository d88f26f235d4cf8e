"""Reading an input file at the edge: regular files only, bounded in size, UTF-8 with a located message otherwise.

A FIFO, a device such as /dev/zero or a directory is refused before it is opened, so no read can block or run
out of memory; a file larger than the limit is refused without reading it whole."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from engine.base.errors import LocatedError, Location

MAX_BYTES = 64 << 20  # no submission, profile or rule file comes near 64 MiB
CHUNK = 1 << 20  # bytes read at a time


def read_bytes(path: Path | str, error: type[LocatedError], what: str, limit: int = MAX_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else ``error`` naming the file and why."""
    name = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise error(Location(name), f"cannot read {what}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise error(Location(name), f"cannot read {what}: not a regular file", "give the path of a file") from None
    if info.st_size > limit:
        raise error(Location(name), f"{what} is {info.st_size:,} bytes; at most {limit:,} are read") from None
    chunks, size = [], 0
    try:
        with open(path, "rb") as handle:  # in chunks: a file that grows, or says it is empty (/proc), stays bounded
            while size <= limit and (chunk := handle.read(min(CHUNK, limit + 1 - size))):
                chunks.append(chunk)
                size += len(chunk)
    except OSError as exc:
        raise error(Location(name), f"cannot read {what}: {exc.strerror or exc}") from None
    if size > limit:
        raise error(Location(name), f"{what} is more than {limit:,} bytes") from None
    return b"".join(chunks)


def decode(data: bytes, name: str, error: type[LocatedError], what: str) -> str:
    """``data`` as UTF-8 text (a leading byte order mark kept), else ``error`` at the line of the first bad byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise error(Location(name, line), f"{what} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                    f"{exc.start})", "save the file as UTF-8") from None


def read_text(path: Path | str, error: type[LocatedError], what: str, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, else ``error`` naming the file and why."""
    return decode(read_bytes(path, error, what, limit), str(path), error, what)

"""Reading the files a user hands the suite, and checking where it may write.

Every command goes through here so that a FIFO, a device, a directory, a huge
file or JSON nested 100,000 deep ends as one line naming the file, never as a
hang, an exhausted machine or a traceback.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 512 * 1024 * 1024  # a 100,000-cell results file is ~150 MB


class InputError(ValueError):
    """A file the suite cannot use; the message is one line that names it."""


def _describe(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def read_bytes(path: Path, limit: int, what: str = "file") -> bytes:
    """The whole of a regular file of at most `limit` bytes.

    The file is opened without blocking (a FIFO with no writer would hang open()), checked to be a
    regular file on the open descriptor, and never read past `limit` + 1 bytes.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: cannot read: no such {what}") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{path}: is {_describe(st.st_mode)}, not a regular {what}")
        if st.st_size > limit:
            raise InputError(f"{path}: {st.st_size:,} bytes is more than the {limit:,} bytes a {what} may have")
        os.set_blocking(fd, True)
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:  # it grew while being read
            raise InputError(f"{path}: more than the {limit:,} bytes a {what} may have")
        return b"".join(chunks)
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    finally:
        os.close(fd)


def parse_json(text: str, where: Path | str) -> Any:
    """JSON text, or one line saying why not (json's decoder refuses deep nesting with RecursionError)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{where}: not JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise InputError(f"{where}: JSON nested too deeply to read; no file of the suite's nests so") from None


def read_json(path: Path, what: str = "JSON file", limit: int = MAX_JSON_BYTES) -> Any:
    data = read_bytes(path, limit, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (byte {e.start})") from None
    return parse_json(text, path)


def writable_dir(path: Path, what: str) -> None:
    """Refuses, with one line, a directory the suite could not create or write in, before any work is done."""
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise InputError(f"{path}: {what}: {probe} is a dangling symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise InputError(f"{path}: {what}: {probe} is a file, not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{path}: {what}: {probe} is not writable")


def writable_file(path: Path, what: str) -> None:
    """Refuses an output file that is a directory or could not be written, before any work is done."""
    if path.is_dir():
        raise InputError(f"{path}: {what}: is a directory; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{path}: {what}: is not writable")
    writable_dir(path.parent, what)

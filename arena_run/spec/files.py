"""Finding and reading experiment files, whatever sits at the path.

Only regular files are read, and at most MAX_BYTES of them: a FIFO named
arena.toml would block the read forever, a link to /dev/zero would fill the
memory.  The file is opened without blocking and checked on its descriptor
(not its name, which could change in between) before a byte is read.
A directory is walked without recursion (trees thousands deep exist), and a
directory that cannot be read is a problem of that directory, not a silence.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Iterable, NamedTuple

from .errors import Problem, SpecError

FILE_NAMES = ("arena.toml", "arena.yaml", "arena.yml")
_SKIP_DIRS = {"node_modules", "__pycache__", "venv"}
# An experiment file is a few kilobytes; half a megabyte is a hundred times any
# real one, and the worst such file (half a million one-digit list items) still
# parses, validates and locates its problems in about a second of CPU.
MAX_BYTES = 512 * 1024

_KINDS = [
    (stat.S_ISDIR, "is a directory"),
    (stat.S_ISFIFO, "is a FIFO (named pipe), not a regular file"),
    (stat.S_ISCHR, "is a character device, not a regular file"),
    (stat.S_ISBLK, "is a block device, not a regular file"),
    (stat.S_ISSOCK, "is a socket, not a regular file"),
]


class Document(NamedTuple):
    file: str
    text: str
    fmt: str  # "toml" or "yaml"


def format_of(file: str) -> str | None:
    suffix = os.path.splitext(file)[1].lower()
    return {".toml": "toml", ".yaml": "yaml", ".yml": "yaml"}.get(suffix)


def _fail(file: str, message: str) -> SpecError:
    return SpecError([Problem(file, 0, 0, "", message)])


def _os_error(file: str, exc: OSError) -> SpecError:
    if exc.errno == errno.ENOENT:
        if os.path.islink(file):
            return _fail(file, f"is a link to {os.readlink(file)!r}, which does not exist")
        return _fail(file, "no such file or directory")
    if exc.errno == errno.ELOOP:
        return _fail(file, "is a loop of symbolic links")
    return _fail(file, f"cannot read: {exc.strerror or exc}")


def read_bytes(file: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES, or SpecError saying what is there instead."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        if exc.errno == errno.EISDIR:
            raise _fail(file, "is a directory") from None
        raise _os_error(file, exc) from None
    try:
        info = os.fstat(fd)
        for test, what in _KINDS:
            if test(info.st_mode):
                raise _fail(file, what)
        if not stat.S_ISREG(info.st_mode):
            raise _fail(file, "is not a regular file")
        if info.st_size > MAX_BYTES:
            raise _fail(file, _too_big(info.st_size))
        chunks, size = [], 0
        while size <= MAX_BYTES:  # the file may grow while it is read
            chunk = os.read(fd, MAX_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            raise _fail(file, _too_big(size))
        return b"".join(chunks)
    except OSError as exc:
        raise _os_error(file, exc) from None
    finally:
        os.close(fd)


def _too_big(size: int) -> str:
    return f"is {size:,} bytes; an experiment file may have at most {MAX_BYTES:,} ({MAX_BYTES // 1024} KiB)"


def decode(file: str, data: bytes) -> str:
    """UTF-8 text, as written: line endings are not translated (TOML refuses a lone CR)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", "replace")) + 1
        byte = data[exc.start]
        raise SpecError([Problem(file, line, col, "", f"not UTF-8 text: byte 0x{byte:02x} ({exc.reason})")]) from None
    # A byte-order mark is no content: editors on Windows write one, YAML allows it.
    return text[1:] if text.startswith("\ufeff") else text


def read(file: str) -> Document:
    fmt = format_of(file)
    if fmt is None:
        if not os.path.lexists(file):
            raise _fail(file, "no such file or directory")
        raise _fail(file, "not an experiment file: expected .toml, .yaml or .yml")
    return Document(file, decode(file, read_bytes(file)), fmt)


def discover(paths: Iterable[str]) -> tuple[list[str], list[Problem]]:
    """Files named, and every arena.toml/arena.yaml/arena.yml below directories named.

    A file reached twice (named and found in its directory, or by two
    spellings of one path) is read once.
    """
    files: list[str] = []
    problems: list[Problem] = []
    for p in paths:
        if os.path.isdir(p):
            found, trouble = walk(p)
            problems += trouble
            if not found and not trouble:
                problems.append(Problem(p, 0, 0, "", f"no {' or '.join(FILE_NAMES)} below this directory"))
            files += sorted(found)
        else:
            files.append(p)
    seen: set[object] = set()
    unique = []
    for f in files:
        try:
            st = os.stat(f)
            ident: object = (st.st_dev, st.st_ino)
        except OSError:
            ident = os.path.normpath(f)
        if ident not in seen:
            seen.add(ident)
            unique.append(f)
    return unique, problems


def walk(root: str) -> tuple[list[str], list[Problem]]:
    """Experiment files below root, depth first with an explicit stack; links to directories are not followed."""
    found: list[str] = []
    problems: list[Problem] = []
    stack = [root]
    while stack:
        top = stack.pop()
        try:
            with os.scandir(top) as entries:
                subdirs = []
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith(".") and entry.name not in _SKIP_DIRS:
                            subdirs.append(entry.path)
                    elif entry.name in FILE_NAMES:
                        found.append(entry.path)
        except OSError as exc:
            problems.append(Problem(top, 0, 0, "", f"cannot read this directory: {exc.strerror or exc}"))
            continue
        stack += sorted(subdirs, reverse=True)
    return found, problems

"""Paths reached without following a symbolic link: a volume's subPath, the pod's own paths, state files.

A volume's content outlives a job (a PVC) and a job may leave a link in it
(`sub -> /etc`); a later job's `subPath = "sub"` must then reach nothing
outside the volume, as kubelet guarantees (CVE-2017-1002101).  Each part is
opened relative to the last with O_NOFOLLOW, so a link anywhere below the
volume is refused, never followed.

Only the standard library: the sandbox imports this at every replica start.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class PathError(Exception):
    pass


class NotRegular(PathError):
    """A path that should be a plain file is something else (what: `a FIFO`, `a symbolic link`, ...)."""

    def __init__(self, path: str, what: str):
        super().__init__(f"{path} is {what}, not a file arena-run wrote")
        self.path, self.what = path, what


def open_beneath(base: str, relative: str, create: bool = False) -> int:
    """An O_PATH-like fd of the directory base/relative, no link below base followed (missing
    directories made when create); the caller closes it."""
    fd = os.open(base, _DIR)
    try:
        for part in [p for p in relative.split("/") if p not in ("", ".")]:
            if part == "..":
                raise PathError(f"{relative}: '..' leaves the volume")
            try:
                nxt = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise PathError(f"{relative}: {part} does not exist in {base}") from None
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass
                nxt = os.open(part, _DIR | os.O_NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                if os.path.islink(os.path.join(f"/proc/self/fd/{fd}", part)):
                    raise PathError(f"{relative}: {part} is a symbolic link in the volume {base}, "
                                    "and a subPath never follows one") from None
                raise PathError(f"{relative}: {part} in {base}: {exc.strerror}") from None
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def make_beneath(base: str, relative: str) -> None:
    """Create base/relative (a directory) without following a link below base."""
    os.close(open_beneath(base, relative, create=True))


def open_regular(path: str, flags: int = os.O_RDONLY, mode: int = 0o644) -> int:
    """A file descriptor of path, a regular file; PathError (one line) when it is anything else.

    A state or log file is arena-run's own, but a hand (or a job) may put a FIFO, a device or a link
    in its place: opened plainly, a FIFO blocks until some writer comes, a link reads or writes
    wherever it points.  So it is opened without blocking and without following a link, and
    refused unless it is a plain file.
    """
    try:
        fd = os.open(path, flags | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    except OSError as exc:
        # ELOOP: a link as the last part; ENXIO: a FIFO opened for writing with no reader, or a socket
        if exc.errno not in (errno.ELOOP, errno.ENXIO, errno.EISDIR):
            raise
        raise NotRegular(path, _what(os.lstat(path).st_mode)) from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegular(path, _what(st.st_mode))
    os.set_blocking(fd, True)
    return fd


def check_regular(path: str) -> None:
    """NotRegular unless path is a plain file or absent (checked before anything is written)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISREG(mode):
        raise NotRegular(path, _what(mode))


def _what(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_log(path: str) -> BinaryIO:
    """A log file to append to (made if missing), a plain file or NotRegular."""
    return os.fdopen(open_regular(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab")

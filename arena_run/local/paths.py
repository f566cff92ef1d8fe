"""Paths reached without following a symbolic link: a volume's subPath, the pod's own paths.

A volume's content outlives a job (a PVC) and a job may leave a link in it
(`sub -> /etc`); a later job's `subPath = "sub"` must then reach nothing
outside the volume, as kubelet guarantees (CVE-2017-1002101).  Each part is
opened relative to the last with O_NOFOLLOW, so a link anywhere below the
volume is refused, never followed.

Only the standard library: the sandbox imports this at every replica start.
"""

from __future__ import annotations

import os

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class PathError(Exception):
    pass


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

"""Inside a replica's namespaces: build the pod's view of the filesystem, then run its command.

Started as `unshare [--user --map-root-user] --mount --pid --fork --kill-child
python -m arena_run.local.sandbox SPEC.json`, so it is root of a private
user and mount namespace and pid 1 of a private pid namespace.  It

- makes a new root: a tmpfs with every top-level directory of the host
  bound recursively into it (the host's tools, libraries and /proc stay);
- puts the working directory there as an overlay of the host's (or a fresh
  directory when the host has none or it is not ours to write), so the
  command may write anywhere under it and the host's own /root is never
  written;
- binds the code at <working_dir>/code and each volume at its mount path,
  creating a missing mount point in a tmpfs that shadows its host parent
  (binds of the parent's entries, so nothing of the host is hidden or written);
- mounts a private tmpfs on /dev/shm of the pod's size;
- chroots, changes to the working directory and runs the command as a
  child, forwarding signals, reaping orphans, and exiting with its status
  (128 + signal when it was killed, as a shell reports it): pid 1 of a pid
  namespace ignores signals it has no handler for, and when it exits the
  kernel kills everything else in the namespace, so nothing is left behind.

Only the standard library: this runs once per replica start.
"""

from __future__ import annotations

from types import FrameType
from typing import Any, Optional

import ctypes
import json
import os
import signal
import sys

from arena_run.local.paths import PathError, open_beneath

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC = 32, 4096, 8192, 16384
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21

_libc = ctypes.CDLL(None, use_errno=True)


class SandboxError(Exception):
    pass


def mount(source: str, target: str, fstype: str = "", flags: int = 0, data: str = "") -> None:
    if _libc.mount(source.encode(), target.encode(), fstype.encode() or None, flags, data.encode() or None) != 0:
        err = ctypes.get_errno()
        raise SandboxError(f"mount {fstype or 'bind'} {source} on {target}: {os.strerror(err)}")


def _kept_flags(path: str) -> int:
    # A bind of a mount another namespace owns keeps its nosuid/nodev/...
    # locked; a read-only remount must repeat them or the kernel refuses.
    st = os.statvfs(path).f_flag
    out = 0
    for st_flag, ms_flag in ((os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV), (os.ST_NOEXEC, MS_NOEXEC),
                             (os.ST_NOATIME, MS_NOATIME), (os.ST_NODIRATIME, MS_NODIRATIME),
                             (getattr(os, "ST_RELATIME", 4096), MS_RELATIME)):
        if st & st_flag:
            out |= ms_flag
    return out


class Tree:
    """The new root and which of its directories may be written (ours) or not (the host's)."""

    def __init__(self, root: str, scratch: str):
        self.root, self.scratch = root, scratch
        self.mounts: dict[str, bool] = {}  # path inside the new root -> ours?
        self._overlays = 0

    def inside(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def resolve(self, path: str) -> str:
        """path as the pod sees it once chrooted: every link resolved inside the new root.

        Before the chroot, the kernel would resolve a link's absolute target
        (`/home/me/link -> /tmp/x`) on the host, so a mount made there would
        land outside the new root and the pod's writes on the host's files.
        """
        todo, links = [p for p in path.split("/") if p], 0
        done: list[str] = []
        while todo:
            part = todo.pop(0)
            if part == ".":
                continue
            if part == "..":
                done = done[:-1]
                continue
            here = self.inside("/".join(done + [part]))
            if os.path.islink(here):  # every earlier part is a real directory of the new root
                links += 1
                if links > 40:
                    raise SandboxError(f"{path}: too many levels of symbolic links")
                target = os.readlink(here)
                done = [] if target.startswith("/") else done
                todo = [p for p in target.split("/") if p] + todo
                continue
            done.append(part)
        return "/" + "/".join(done)

    def build(self) -> None:
        os.makedirs(self.root, exist_ok=True)
        mount("arena-run-root", self.root, "tmpfs", MS_NOSUID, "mode=0755")
        self.mounts["/"] = True
        for entry in sorted(os.listdir("/")):
            host, new = "/" + entry, self.inside(entry)
            if os.path.islink(host):
                os.symlink(os.readlink(host), new)
            elif os.path.isdir(host):
                os.mkdir(new)
                if entry == "proc" and self._fresh_proc(new):
                    continue
                mount(host, new, "", MS_BIND | MS_REC)
                self.mounts[host] = False
            elif os.path.exists(host):
                open(new, "w").close()
                mount(host, new, "", MS_BIND)

    def _fresh_proc(self, new: str) -> bool:
        # A /proc of our own pid namespace; where the kernel refuses it (a
        # /proc partly covered, as in some containers) the host's will do.
        try:
            mount("proc", new, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        except SandboxError:
            return False
        self.mounts["/proc"] = True
        return True

    def _owner(self, path: str) -> bool:
        best = max((m for m in self.mounts if path == m or path.startswith(m.rstrip("/") + "/")), key=len)
        return self.mounts[best]

    def _overlay(self, path: str) -> None:
        """Make a host directory writable here without writing the host: an overlay with a private upper."""
        self._overlays += 1
        upper = os.path.join(self.scratch, f"overlay-{self._overlays}")
        os.makedirs(os.path.join(upper, "upper"), exist_ok=True)
        os.makedirs(os.path.join(upper, "work"), exist_ok=True)
        where = self.inside(path)
        mount("overlay", where, "overlay", 0,
              f"lowerdir={where},upperdir={upper}/upper,workdir={upper}/work")
        self.mounts[path] = True

    def _shadow(self, path: str) -> None:
        """Make a host directory ours without writing it: a tmpfs holding binds of its entries, moved over it."""
        self._overlays += 1
        stage = os.path.join(self.scratch, f"shadow-{self._overlays}")
        os.makedirs(stage, exist_ok=True)
        mount("arena-run-shadow", stage, "tmpfs", MS_NOSUID, "mode=0755")
        where = self.inside(path)
        try:
            entries = sorted(os.listdir(where))
        except PermissionError:
            entries = []  # a directory we may not read (another user's home): it stays hidden
        for entry in entries:
            src, new = os.path.join(where, entry), os.path.join(stage, entry)
            if os.path.islink(src):
                os.symlink(os.readlink(src), new)
            elif os.path.isdir(src):
                os.mkdir(new)
                mount(src, new, "", MS_BIND | MS_REC)
                self.mounts[path.rstrip("/") + "/" + entry] = False
            else:
                open(new, "w").close()
                mount(src, new, "", MS_BIND)
        mount(stage, where, "", MS_MOVE)
        self.mounts[path] = True

    def ensure_dir(self, path: str) -> str:
        """Create path (and its parents) inside the new root, shadowing a host directory if it must;
        returns it resolved (what to mount on)."""
        path = self.resolve(path)
        current = "/"
        for part in [p for p in path.split("/") if p]:
            nxt = current.rstrip("/") + "/" + part
            if not os.path.isdir(self.inside(nxt)):
                if not self._owner(current):
                    self._shadow(current)
                os.mkdir(self.inside(nxt))
            current = nxt
        return path

    def working_dir(self, path: str, fresh: str) -> None:
        path = self.resolve(path)
        if path == "/":
            return
        where = self.inside(path)
        if os.path.isdir(where) and os.access(where, os.R_OK | os.W_OK | os.X_OK):
            try:
                self._overlay(path)  # the host's files, and writes that stay here
                return
            except SandboxError:
                pass  # no overlayfs here: a fresh directory instead of the host's
        if not os.path.isdir(where):
            path = self.ensure_dir(path)
            where = self.inside(path)
        os.makedirs(fresh, exist_ok=True)
        mount(fresh, where, "", MS_BIND)
        self.mounts[path] = True

    def bind(self, source: str, target: str, read_only: bool, volume: str = "", sub_path: str = "") -> None:
        fd = None
        if sub_path:
            # The subPath is reached from the volume with no link followed (paths.open_beneath)
            # and mounted through that very directory, not its name.
            fd = open_beneath(volume, sub_path)
            source = f"/proc/self/fd/{fd}"
        try:
            if os.path.isdir(source):
                target = self.ensure_dir(target)
            else:
                target = self.ensure_dir(os.path.dirname(target)).rstrip("/") + "/" + os.path.basename(target)
                target = self.resolve(target)
                if not os.path.lexists(self.inside(target)):
                    open(self.inside(target), "w").close()
            where = self.inside(target)
            mount(source, where, "", MS_BIND | MS_REC)
        finally:
            if fd is not None:
                os.close(fd)
        self.mounts[target] = True  # a volume: mount points of nested volumes are made in it, as kubelet does
        if read_only:
            mount("none", where, "", MS_BIND | MS_REMOUNT | MS_RDONLY | _kept_flags(where))

    def shm(self, size: int) -> None:
        where = self.inside(self.ensure_dir("/dev/shm"))
        mount("shm", where, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size},mode=1777")


def prepare(spec: dict[str, Any]) -> None:
    tree = Tree(spec["root"], spec["scratch"])
    tree.build()
    tree.working_dir(spec["working_dir"], os.path.join(spec["scratch"], "workdir"))
    for m in sorted(spec["mounts"], key=lambda m: m["target"].count("/")):
        tree.bind(m["source"], m["target"], m.get("read_only", False), m.get("volume", ""), m.get("sub_path", ""))
    tree.shm(spec["shm"])
    os.chroot(tree.root)
    os.chdir(spec["working_dir"])


def run(argv: list[str], env: dict[str, str]) -> int:
    """pid 1: the command as a child; signals forwarded to it; every orphan reaped."""
    child = os.fork()
    if child == 0:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        try:
            os.execvpe(argv[0], argv, env)
        except OSError as exc:
            sys.stderr.write(f"arena-run: cannot run {argv[0]}: {exc.strerror}\n")
            os._exit(127)

    def forward(sig: int, _frame: Optional[FrameType]) -> None:
        try:
            os.kill(child, sig)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        except InterruptedError:
            continue
        if pid == child:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as fh:
        spec = json.load(fh)
    try:
        prepare(spec)
    except (SandboxError, PathError, OSError) as exc:
        sys.stderr.write(f"arena-run: cannot set up the replica's filesystem: {exc}\n")
        return 126
    return run(spec["argv"], spec["env"])


if __name__ == "__main__":
    sys.exit(main())

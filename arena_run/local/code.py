"""The code-sync init container, done on this machine: a real `git clone`, or a copy.

The rendered pod's init container says what to fetch: git-sync's
GITSYNC_REPO, GITSYNC_REF, GITSYNC_DEPTH and GITSYNC_LINK (the directory
name under /code), or `rsync -a SOURCE /code/`.  Here the checkout lands in
the run's code directory, which every replica sees at <working_dir>/code,
as the init container's emptyDir is seen on a cluster.  A git Secret is a
cluster object: locally git uses this machine's own credentials.  An rsync
source that is a local path (relative: to the experiment's file) is copied
as rsync would copy it (a trailing slash or `.` copies the contents).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any, BinaryIO, Optional

from .state import LocalError


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env") or [] if "value" in e}


def _run(argv: list[str], log: BinaryIO) -> None:
    log.write(("$ " + " ".join(argv) + "\n").encode())
    log.flush()
    result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if result.returncode != 0:
        raise LocalError(f"{argv[0]} {argv[1]} exited with status {result.returncode}")


def sync(init: Optional[dict[str, Any]], dest: str, base: str, log: BinaryIO) -> None:
    """Fetch the code the init container would fetch into dest (the pod's /code)."""
    os.makedirs(dest, exist_ok=True)
    if not init:
        return
    if init["name"] == "git-sync":
        env = _env(init)
        repo, link = env["GITSYNC_REPO"], env["GITSYNC_LINK"]
        depth, ref = int(env.get("GITSYNC_DEPTH") or 0), env.get("GITSYNC_REF")
        target = os.path.join(dest, link)
        if shutil.which("git") is None:
            raise LocalError("code.git needs `git` on this machine")
        shallow = [f"--depth={depth}"] if depth > 0 else []
        if ref is None:
            _run(["git", "clone", "-q", *shallow, repo, target], log)
        else:
            _run(["git", "init", "-q", target], log)
            _run(["git", "-C", target, "remote", "add", "origin", repo], log)
            _run(["git", "-C", target, "fetch", "-q", *shallow, "origin", ref], log)
            _run(["git", "-C", target, "checkout", "-q", "FETCH_HEAD"], log)
        return
    if init["name"] == "rsync":
        source = init["command"][2]
        remote = "::" in source or source.startswith("rsync://") or (":" in source and not os.path.exists(source))
        if not remote and not os.path.isabs(source):
            source = os.path.join(base, source) + ("/" if source.endswith("/") or source in (".", "./") else "")
        if shutil.which("rsync"):
            _run(["rsync", "-a", source, dest + "/"], log)
            return
        if remote:
            raise LocalError(f"code.rsync {source} needs `rsync` on this machine")
        _copy(source, dest)
        return
    raise LocalError(f"init container {init['name']!r} is not something --local knows how to run")


def _copy(source: str, dest: str) -> None:
    contents = source.endswith("/")
    source = source.rstrip("/") or "/"
    if not os.path.exists(source):
        raise LocalError(f"code.rsync: {source} does not exist")
    target = dest if contents else os.path.join(dest, os.path.basename(source))
    if os.path.isdir(source):
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(source, target)

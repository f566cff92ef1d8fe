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


# Transports that fetch and nothing else: never ext:: or fd:: (they run a command)
# however the user's or the repository's git config allows them.
GIT_PROTOCOLS = "file:git:http:https:ssh"
# Variables that would point git at another repository, work tree or config than
# the checkout this function makes.
_GIT_LOCATING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR",
                 "GIT_NAMESPACE", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT", "GIT_EXEC_PATH")


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value") for e in container.get("env") or [] if "value" in e}


def _git_env(ceiling: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATING and not k.startswith("GIT_CONFIG_KEY_")
           and not k.startswith("GIT_CONFIG_VALUE_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_ALLOW_PROTOCOL": GIT_PROTOCOLS, "GIT_PROTOCOL_FROM_USER": "0",
                # No repository above the checkout is ever found and read (its config, its hooks).
                "GIT_CEILING_DIRECTORIES": ceiling})
    return env


def _git(*args: str) -> list[str]:
    # The same rule on the command line, which no config file can widen.
    allow = [f"protocol.{p}.allow=always" for p in GIT_PROTOCOLS.split(":")]
    return ["git", "-c", "protocol.allow=never", *(x for a in allow for x in ("-c", a)), *args]


def _run(argv: list[str], log: BinaryIO, env: Optional[dict[str, str]] = None, cwd: Optional[str] = None) -> None:
    log.write(("$ " + " ".join(argv) + "\n").encode())
    log.flush()
    result = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                            env=env if env is not None else {**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if result.returncode != 0:
        what = next((a for a in argv[1:] if a in ("clone", "init", "remote", "fetch", "checkout")), "")
        raise LocalError(f"{' '.join([argv[0]] + [what] * bool(what))} exited with status {result.returncode}")


def _not_an_option(key: str, value: str) -> None:
    # Validation refuses these; a record written by hand (or an older arena-run) must not get past here either.
    if not value or value.startswith("-") or "\0" in value:
        raise LocalError(f"{key} {value!r} would be read as an option, not a {key.split('.')[-1]}")


def sync(init: Optional[dict[str, Any]], dest: str, base: str, log: BinaryIO) -> None:
    """Fetch the code the init container would fetch into dest (the pod's /code).

    Every argument that came from the file follows `--` or `--end-of-options`,
    so none is read as an option, and git may use only transports that fetch.
    """
    os.makedirs(dest, exist_ok=True)
    if not init:
        return
    if init["name"] == "git-sync":
        env = _env(init)
        repo, link = env["GITSYNC_REPO"], env["GITSYNC_LINK"]
        depth, ref = int(env.get("GITSYNC_DEPTH") or 0), env.get("GITSYNC_REF")
        _not_an_option("code.git", repo)
        if ref is not None:
            _not_an_option("code.ref", ref)
        if link in ("", ".", "..") or "/" in link:
            raise LocalError(f"code.git {repo!r}: the checkout would land outside <working_dir>/code")
        target = os.path.join(dest, link)
        if shutil.which("git") is None:
            raise LocalError("code.git needs `git` on this machine")
        shallow = [f"--depth={depth}"] if depth > 0 else []
        genv, cwd = _git_env(os.path.dirname(dest)), dest
        if ref is None:
            _run(_git("clone", "-q", *shallow, "--", repo, target), log, genv, cwd)
        else:
            _run(_git("init", "-q", "--", target), log, genv, cwd)
            _run(_git("-C", target, "remote", "add", "--", "origin", repo), log, genv, cwd)
            _run(_git("-C", target, "fetch", "-q", *shallow, "--end-of-options", "origin", ref), log, genv, cwd)
            _run(_git("-C", target, "checkout", "-q", "FETCH_HEAD", "--"), log, genv, cwd)
        return
    if init["name"] == "rsync":
        source = init["command"][2]
        _not_an_option("code.rsync", source)
        remote = "::" in source or source.startswith("rsync://") or (":" in source and not os.path.exists(source))
        if not remote and not os.path.isabs(source):
            source = os.path.join(base, source) + ("/" if source.endswith("/") or source in (".", "./") else "")
        if shutil.which("rsync"):
            _run(["rsync", "-a", "--", source, dest + "/"], log)
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

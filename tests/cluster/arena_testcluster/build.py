"""Build the control-plane binaries from Go modules, cached by content.

Each component (versions.COMPONENTS) is one `go build` of one wrapper
module: the control plane (gomod/: kube-apiserver, kube-controller-manager,
kube-scheduler, kubectl, etcd, kwok, so their shared packages compile once)
and each operator with its own build list. A component's binaries go to
~/.cache/arena-run/bin/<component>-<BUILD-ID prefix>/, the BUILD-ID being a
hash of its go.mod, go.sum, main.go, link flags and binaries. So checkouts
with different go.mod files (another branch, an older commit) each find
their own binaries and never build over another's; if the stamp matches,
nothing runs and the check costs a few file reads.

ensure_built() returns one directory (bin/view-<hash>/) of symbolic links to
the binaries of every component, so callers name any binary as bindir/name.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import versions
from .versions import Component


class GoMissing(RuntimeError):
    """There is no usable Go toolchain: the cluster tests cannot build."""


def _ldflags(c: Component) -> str:
    """Strip symbols; for the Kubernetes binaries, stamp the version so /version
    reports it (a module build has no git tree for hack/lib/version.sh to read)."""
    flags = ["-s", "-w"]
    if c.stamp_k8s_version:
        v = versions.k8s_version()  # e.g. v1.36.3
        major, minor = v.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X {pkg}.gitVersion={v}",
                f"-X {pkg}.gitMajor={major}",
                f"-X {pkg}.gitMinor={minor}",
                f"-X {pkg}.gitTreeState=clean",
            ]
    return " ".join(flags)


def component_id(c: Component) -> str:
    h = hashlib.sha256()
    for name in ("go.mod", "go.sum", "main.go"):
        if (c.gomod_dir / name).exists():
            h.update(name.encode() + b"\0" + (c.gomod_dir / name).read_bytes())
    h.update(_ldflags(c).encode())
    h.update(" ".join(f"{b}={p}" for b, p in sorted(c.binaries.items())).encode())
    return h.hexdigest()


def component_dir(c: Component) -> Path:
    return versions.bin_root() / f"{c.name}-{component_id(c)[:16]}"


def build_id() -> str:
    """Of everything: names the view directory of links."""
    return hashlib.sha256(" ".join(component_id(c) for c in versions.COMPONENTS).encode()).hexdigest()


def _is_current(bindir: Path, want: str, binaries) -> bool:
    try:
        if (bindir / "BUILD-ID").read_text().strip() != want:
            return False
    except OSError:
        return False
    return all(os.access(bindir / b, os.X_OK) for b in binaries)


def find_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoMissing("Go is not installed (the cluster tests build Kubernetes with Go >= 1.26)")
    return go


def ensure_component(c: Component, log=sys.stderr) -> Path:
    """The component's bin directory, building it first if needed."""
    bindir, want = component_dir(c), component_id(c)
    if _is_current(bindir, want, c.binaries):
        return bindir
    go = find_go()
    bindir.parent.mkdir(parents=True, exist_ok=True)
    # Concurrent `up`s (or pytest workers) must not build the same thing twice.
    with open(bindir.parent / f"{bindir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_current(bindir, want, c.binaries):
            _build(go, c, bindir, want, log)
    return bindir


def ensure_built(log=sys.stderr) -> Path:
    """Return the directory of links to every binary, building what is missing."""
    dirs = {c.name: ensure_component(c, log) for c in versions.COMPONENTS}
    view = versions.bin_root() / f"view-{build_id()[:16]}"
    links = {b: dirs[c.name] / b for c in versions.COMPONENTS for b in c.binaries}
    if all(os.path.realpath(view / b) == str(p.resolve()) for b, p in links.items()):
        return view
    tmp = view.parent / f"{view.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for b, p in links.items():
        (tmp / b).symlink_to(p)
    try:
        tmp.rename(view)
    except OSError:  # another process made the same view meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    return view


def _build(go: str, c: Component, bindir: Path, want: str, log) -> None:
    tmp = bindir.parent / f"{bindir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0",
        # The wrappers' go.mod/go.sum are committed: a build never edits them.
        GOFLAGS="-mod=readonly",
        GOWORK="off",
    )
    cmd = [
        go, "build",
        "-p", str(os.cpu_count() or 2),
        "-trimpath",
        "-ldflags", _ldflags(c),
        "-o", str(tmp) + "/",
        *c.binaries.values(),
    ]
    print(f"arena-run: building {c.name} into {bindir}", file=log, flush=True)
    print("  (cd " + str(c.gomod_dir) + " && " + " ".join(
        repr(a) if " " in a else a for a in cmd) + ")", file=log, flush=True)
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=c.gomod_dir, env=env)
    if proc.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise RuntimeError(f"go build failed with exit code {proc.returncode}: "
                           f"(cd {c.gomod_dir} && {' '.join(cmd)})")
    for name, built in versions.BUILT_AS.items():
        if name in c.binaries:
            (tmp / built).rename(tmp / name)
    (tmp / "BUILD-ID").write_text(want + "\n")
    shutil.rmtree(bindir, ignore_errors=True)  # a partial one (its BUILD-ID did not match)
    tmp.rename(bindir)
    print(f"arena-run: built {c.name} in {time.monotonic() - start:.0f} s", file=log, flush=True)

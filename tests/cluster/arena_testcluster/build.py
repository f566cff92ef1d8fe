"""Build the control-plane binaries from Go modules, cached by version.

The control plane is one `go build` of the wrapper module in ../gomod, so
packages shared by kube-apiserver, kube-controller-manager, kube-scheduler,
kubectl, etcd and kwok compile once; the training operator is a second build
of ../gomod-operator (its Kubernetes libraries are older). The result goes to
~/.cache/arena-run/k8s-<version>/bin with a BUILD-ID stamp: a hash of the
wrapper go.mod/go.sum files, main.go and the link flags. If the stamp
matches, nothing runs, so the check costs a few file reads.
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


class GoMissing(RuntimeError):
    """There is no usable Go toolchain: the cluster tests cannot build."""


def _ldflags() -> str:
    """Strip symbols, and stamp the Kubernetes version so /version reports it
    (a module build has no git tree for hack/lib/version.sh to read)."""
    v = versions.k8s_version()  # e.g. v1.36.3
    major, minor = v.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={v}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _groups() -> list[tuple[Path, dict[str, str], str]]:
    """(wrapper module dir, binaries, link flags) per go build."""
    return [
        (versions.GOMOD_DIR, versions.BINARIES, _ldflags()),
        (versions.OPERATOR_GOMOD_DIR, versions.OPERATOR_BINARIES, "-s -w"),
    ]


def build_id() -> str:
    h = hashlib.sha256()
    for gomod_dir, binaries, ldflags in _groups():
        for name in ("go.mod", "go.sum", "main.go"):
            if (gomod_dir / name).exists():
                h.update((gomod_dir / name).read_bytes())
        h.update(ldflags.encode())
        h.update(" ".join(sorted(binaries)).encode())
    return h.hexdigest()


def _is_current(bindir: Path, want: str) -> bool:
    stamp = bindir / "BUILD-ID"
    try:
        if stamp.read_text().strip() != want:
            return False
    except OSError:
        return False
    return all(os.access(bindir / b, os.X_OK) for b in versions.ALL_BINARIES)


def find_go() -> str:
    go = shutil.which("go")
    if go is None:
        raise GoMissing("Go is not installed (the cluster tests build Kubernetes with Go >= 1.26)")
    return go


def ensure_built(log=sys.stderr) -> Path:
    """Return the bin directory, building the binaries first if needed."""
    bindir = versions.bin_dir()
    want = build_id()
    if _is_current(bindir, want):
        return bindir

    go = find_go()
    bindir.parent.mkdir(parents=True, exist_ok=True)
    # Concurrent `up`s (or pytest workers) must not build over each other.
    with open(bindir.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _is_current(bindir, want):
            return bindir
        _build(go, bindir, want, log)
    return bindir


def _build(go: str, bindir: Path, want: str, log) -> None:
    tmp = bindir.parent / f"bin.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="0",
        # The wrappers' go.mod/go.sum are committed: a build never edits them.
        GOFLAGS="-mod=readonly",
        GOWORK="off",
    )
    print(f"arena-run: building the control plane into {bindir} "
          f"(cold: about 17 min on 2 cores)", file=log, flush=True)
    start = time.monotonic()
    for gomod_dir, binaries, ldflags in _groups():
        cmd = [
            go, "build",
            "-p", str(os.cpu_count() or 2),
            "-trimpath",
            "-ldflags", ldflags,
            "-o", str(tmp) + "/",
            *binaries.values(),
        ]
        print("  (cd " + str(gomod_dir) + " && " + " ".join(
            repr(c) if " " in c else c for c in cmd) + ")", file=log, flush=True)
        proc = subprocess.run(cmd, cwd=gomod_dir, env=env)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RuntimeError(f"go build failed with exit code {proc.returncode}: "
                               f"(cd {gomod_dir} && {' '.join(cmd)})")
    # See versions.BINARIES: the etcd binary is named after its module root.
    (tmp / "server").rename(tmp / "etcd")
    (tmp / "BUILD-ID").write_text(want + "\n")
    old = bindir.parent / f"bin.old-{os.getpid()}"
    if bindir.exists():
        bindir.rename(old)
    tmp.rename(bindir)
    shutil.rmtree(old, ignore_errors=True)
    print(f"arena-run: built in {time.monotonic() - start:.0f} s", file=log, flush=True)

"""Test images made on this machine from Debian's packages, since no registry can be reached here.

- busybox: a root file system holding a static busybox (package busybox-static)
  with its applets as links, and the marker file.
- python: `mmdebstrap --variant=essential --include=python3 bookworm` (about a
  minute on 2 cores, ~150 MB), with the marker file.
- tools: python with the stand-in servers of tests/fixtures/bin (tensorboard, tensorflow_model_server) on PATH.

Each image's tar is cached under ~/.cache/arena-run/images/, named by a hash of
its recipe (this file's recipe text and, for busybox, the binary), so a changed
recipe builds anew; `podman import` makes it `localhost/arena-run-test/NAME:KEY`.
The marker `/arena-run-image-marker` is a file only these images have: a replica
that reads it ran inside the image, not on the host.

`python3 -m tests.containers.images` builds both and prints how long each took.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "arena-run" / "images"
MARKER = "/arena-run-image-marker"
REPO = "localhost/arena-run-test"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
BUSYBOX = "/bin/busybox"
SUITE = "bookworm"
CONF = Path(__file__).resolve().parent / "containers.conf"


class ImageUnavailable(Exception):
    pass


def podman_env() -> dict[str, str]:
    return {**os.environ, "CONTAINERS_CONF": str(CONF)}


def _static(path: str) -> bool:
    """An ELF with no program interpreter (PT_INTERP) runs in an empty root."""
    with open(path, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:
            return False
        phoff = int.from_bytes(head[32:40], "little")
        phentsize = int.from_bytes(head[54:56], "little")
        phnum = int.from_bytes(head[56:58], "little")
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    return all(int.from_bytes(table[i * phentsize:i * phentsize + 4], "little") != 3 for i in range(phnum))


def _busybox_tar(out: Path, key: str) -> None:
    if not os.path.exists(BUSYBOX) or not _static(BUSYBOX):
        raise ImageUnavailable(f"{BUSYBOX} is missing or not static: apt-get install -y busybox-static")
    applets = subprocess.run([BUSYBOX, "--list-full"], capture_output=True, text=True, check=True).stdout.split()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "tmp", "root", "etc", "proc", "sys", "dev"):
            (root / d).mkdir(parents=True, exist_ok=True)
        shutil.copy2(BUSYBOX, root / "bin" / "busybox")
        for applet in applets:  # e.g. usr/bin/env: a relative link, valid inside the image
            link = root / applet
            if not link.exists():
                os.symlink(os.path.relpath(root / "bin" / "busybox", link.parent), link)
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
        (root / "etc" / "group").write_text("root:x:0:\n")
        (root / MARKER.lstrip("/")).write_text(f"busybox {key}\n")
        with tarfile.open(out, "w") as tar:
            tar.add(root, arcname=".")


def _python_tar(out: Path, key: str) -> None:
    if shutil.which("mmdebstrap") is None:
        raise ImageUnavailable("mmdebstrap is not installed: apt-get install -y mmdebstrap")
    argv = ["mmdebstrap", "--quiet", "--variant=essential", "--include=python3",
            "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            f"--customize-hook=echo 'python {key}' > \"$1{MARKER}\"", SUITE, str(out)]
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise ImageUnavailable(f"mmdebstrap failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")


RECIPES = {"busybox": _busybox_tar, "python": _python_tar}
# tools: the python image with the test stand-ins of servers (tests/fixtures/bin) on its PATH,
# built on it with `podman build` (no registry: its base is here).
FIXTURE_BIN = Path(__file__).resolve().parent.parent / "fixtures" / "bin"


def _tools(ref: str) -> None:
    base, _ = ensure("python")
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(FIXTURE_BIN, Path(tmp) / "bin")
        (Path(tmp) / "Containerfile").write_text(f"FROM {base}\nCOPY bin/ /usr/local/bin/\n")
        _podman("build", "--quiet", "--pull=never", "--tag", ref, tmp)


def key(name: str) -> str:
    if name == "tools":
        h = hashlib.sha256(key("python").encode() + inspect.getsource(_tools).encode())
        for p in sorted(FIXTURE_BIN.iterdir()):
            h.update(p.name.encode() + p.read_bytes())
        return h.hexdigest()[:12]
    h = hashlib.sha256(inspect.getsource(RECIPES[name]).encode())
    h.update(SUITE.encode() + PATH.encode() + MARKER.encode())
    if name == "busybox" and os.path.exists(BUSYBOX):
        h.update(Path(BUSYBOX).read_bytes())
    return h.hexdigest()[:12]


def reference(name: str) -> str:
    return f"{REPO}/{name}:{key(name)}"


def _podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["podman", *args], capture_output=True, text=True, env=podman_env())
    if check and result.returncode != 0:
        raise ImageUnavailable(f"podman {args[0]} {args[1] if len(args) > 1 else ''}: {result.stderr.strip()}")
    return result


def ensure(name: str) -> tuple[str, float]:
    """The image's reference, built or imported if missing; and the seconds that took (0 when present)."""
    ref = reference(name)
    if _podman("image", "inspect", "--format", "{{.Id}}", ref, check=False).returncode == 0:
        return ref, 0.0
    began = time.monotonic()
    if name == "tools":
        _tools(ref)
        return ref, time.monotonic() - began
    _podman("import", "--quiet", "--change", f"ENV=PATH={PATH}", "--change", 'CMD=["/bin/sh"]', str(_tar(name)), ref)
    return ref, time.monotonic() - began


def _tar(name: str) -> Path:
    """The root file system of image name (not tools), built into the cache when missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    tar = CACHE / f"{name}-{key(name)}.tar"
    if not tar.exists():
        partial = CACHE / f"{name}-{key(name)}.partial.tar"  # mmdebstrap picks its format by the suffix
        partial.unlink(missing_ok=True)
        RECIPES[name](partial, key(name))
        partial.rename(tar)
    return tar


def ensure_docker(name: str, env: dict[str, str]) -> str:
    """The image's reference in the dockerd that env's DOCKER_HOST names, imported from the same cached tar
    as Podman's (busybox and python only)."""
    ref = reference(name)
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True, env=env).returncode == 0:
        return ref
    # docker import reads --change as Dockerfile instructions (Podman also takes INSTRUCTION=VALUE).
    result = subprocess.run(["docker", "import", "--change", f"ENV PATH={PATH}", "--change", 'CMD ["/bin/sh"]',
                             str(_tar(name)), ref], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise ImageUnavailable(f"docker import {name}: {result.stderr.strip()}")
    return ref


def main() -> int:
    for name in [*RECIPES, "tools"]:
        ref, took = ensure(name)
        print(f"{ref}: {took:.1f}s" + (" (present)" if took == 0 else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

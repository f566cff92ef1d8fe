"""Files from the Go module cache: CRDs and kwok's stage definitions.

Nothing is copied into the repository. A module that is already in the cache
is found by path (no go invocation, no network); otherwise `go mod download`
fetches it through the module proxy and checks it against the checksum DB.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from . import versions
from .build import find_go


def _escape(path: str) -> str:
    # The module cache spells upper-case letters as "!" + lower case.
    return "".join("!" + c.lower() if c.isupper() else c for c in path)


@lru_cache(maxsize=None)
def _modcache() -> Path:
    if os.environ.get("GOMODCACHE"):
        return Path(os.environ["GOMODCACHE"])
    gopath = os.environ.get("GOPATH", "").split(os.pathsep)[0] or os.path.expanduser("~/go")
    return Path(gopath) / "pkg" / "mod"


def module_dir(module: str, version: str) -> Path:
    cached = _modcache() / f"{_escape(module)}@{version}"
    if cached.is_dir():
        return cached
    env = dict(os.environ, GOFLAGS="-mod=mod", GOWORK="off")
    # Outside any module, so the wrapper's go.mod is not touched.
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [find_go(), "mod", "download", "-json", f"{module}@{version}"],
            cwd=tmp, env=env, capture_output=True, text=True,
        )
    try:
        info = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"go mod download {module}@{version} failed: {out.stderr.strip()}")
    if info.get("Error") or not info.get("Dir"):
        raise RuntimeError(f"go mod download {module}@{version}: {info.get('Error') or out.stderr.strip()}")
    return Path(info["Dir"])


def crd_files() -> list[Path]:
    return [module_dir(*mod) / rel for mod, rel in versions.crd_files()]


def module_file(module: str, rel: str) -> Path:
    """A file of a module we build, at the version its go.mod pins."""
    return module_dir(module, versions.pinned()[module]) / rel


def kwok_stage_files() -> list[Path]:
    kwok = module_dir(versions.KWOK_MODULE, versions.pinned()[versions.KWOK_MODULE])
    return [kwok / rel for rel in versions.KWOK_STAGES] + versions.LOCAL_KWOK_STAGES


def kwok_logs_crd() -> Path:
    """kwok's Logs CRD: per pod, the file its kubelet log endpoint serves."""
    kwok = module_dir(versions.KWOK_MODULE, versions.pinned()[versions.KWOK_MODULE])
    return kwok / "kustomize/crd/bases/kwok.x-k8s.io_logs.yaml"

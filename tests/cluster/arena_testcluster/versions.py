"""Pinned versions and where things live.

The versions of the built binaries are pinned in ../gomod/go.mod (its require
block); this module reads them from there so there is a single place to bump.
The CRD sources are only downloaded, never built, so they are pinned here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOMOD_DIR = HERE.parent / "gomod"
# The training operator needs k8s.io/* v0.31: its own wrapper module and build.
OPERATOR_GOMOD_DIR = HERE.parent / "gomod-operator"

# Modules whose binaries we build, by the module path in gomod/go.mod.
K8S_MODULE = "k8s.io/kubernetes"
ETCD_MODULE = "go.etcd.io/etcd/server/v3"
KWOK_MODULE = "sigs.k8s.io/kwok"
OPERATOR_MODULE = "github.com/kubeflow/training-operator"

# Binary name -> package. `go build -o DIR/` names a binary after its package's
# last path element, skipping a major-version suffix: etcd's main package is its
# server module root, go.etcd.io/etcd/server/v3, so it comes out as "server"
# and build.py renames it.
BINARIES = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "etcd": "go.etcd.io/etcd/server/v3",
    "kwok": "sigs.k8s.io/kwok/cmd/kwok",
}
# Built from gomod-operator: its main package is that module's root.
OPERATOR_BINARIES = {"training-operator": "arena-run.local/training-operator"}
ALL_BINARIES = [*BINARIES, *OPERATOR_BINARIES]

# CRDs, read from the Go module cache at run time (too large to vendor).
TRAINING_OPERATOR = (OPERATOR_MODULE, "v1.9.3")  # as in gomod-operator/go.mod
KSERVE = ("github.com/kserve/kserve", "v0.16.0")
CRD_FILES = [
    (TRAINING_OPERATOR, "manifests/base/crds/kubeflow.org_tfjobs.yaml"),
    (TRAINING_OPERATOR, "manifests/base/crds/kubeflow.org_pytorchjobs.yaml"),
    (KSERVE, "config/crd/full/serving.kserve.io_inferenceservices.yaml"),
]
CRD_NAMES = [
    "tfjobs.kubeflow.org",
    "pytorchjobs.kubeflow.org",
    "inferenceservices.serving.kserve.io",
]

# kwok's stages, the same set kwokctl uses by default: nodes become Ready and
# keep a lease; pods become Running (and Succeeded if owned by a Job).
KWOK_STAGES = [
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
]


# Our own kwok stages, added to the stock ones (see the file's header).
LOCAL_KWOK_STAGES = [HERE.parent / "kwok" / "pod-exit.yaml"]
# The annotation that pod-exit.yaml reacts to.
EXIT_CODE_ANNOTATION = "arena-run.test/exit-code"


def _required(gomod_dir: Path, module: str) -> str:
    text = (gomod_dir / "go.mod").read_text()
    m = re.search(r"^\s*(?:require\s+)?" + re.escape(module) + r"\s+(v\S+)", text, re.M)
    if not m:
        raise RuntimeError(f"{module} is not required in {gomod_dir / 'go.mod'}")
    return m.group(1)


def pinned() -> dict[str, str]:
    """Module path -> version of everything we build, from the go.mod files."""
    found = {m: _required(GOMOD_DIR, m) for m in (K8S_MODULE, ETCD_MODULE, KWOK_MODULE)}
    found[OPERATOR_MODULE] = _required(OPERATOR_GOMOD_DIR, OPERATOR_MODULE)
    if found[OPERATOR_MODULE] != TRAINING_OPERATOR[1]:
        raise RuntimeError("the training operator's version in gomod-operator/go.mod and "
                           "versions.TRAINING_OPERATOR (its CRDs) differ")
    return found


def k8s_version() -> str:
    return pinned()[K8S_MODULE]


def cache_root() -> Path:
    """~/.cache/arena-run (honours XDG_CACHE_HOME and ARENA_RUN_CACHE)."""
    if os.environ.get("ARENA_RUN_CACHE"):
        return Path(os.environ["ARENA_RUN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "arena-run"


def bin_dir() -> Path:
    return cache_root() / f"k8s-{k8s_version()}" / "bin"

"""Pinned versions and where things live.

The versions of the built binaries are pinned in the wrapper modules' go.mod
files (gomod/, gomod-operator/, gomod-mpi/, gomod-trainer/, gomod-kueue/); this module reads
them from there so there is a single place to bump, and the CRDs come from the
same module versions. KServe's CRD is only downloaded, never built, so it is
pinned here.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
GOMOD_DIR = HERE.parent / "gomod"

# Modules whose binaries we build, by their module path in the go.mod files.
K8S_MODULE = "k8s.io/kubernetes"
ETCD_MODULE = "go.etcd.io/etcd/server/v3"
KWOK_MODULE = "sigs.k8s.io/kwok"
OPERATOR_MODULE = "github.com/kubeflow/training-operator"
MPI_MODULE = "github.com/kubeflow/mpi-operator"
TRAINER_MODULE = "github.com/kubeflow/trainer/v2"
JOBSET_MODULE = "sigs.k8s.io/jobset"
KUEUE_MODULE = "sigs.k8s.io/kueue"


@dataclass(frozen=True)
class Component:
    """One `go build` of one wrapper module: its binaries share a build list,
    a cache directory and a BUILD-ID (see build.py)."""
    name: str
    gomod_dir: Path
    binaries: dict  # binary name -> package
    modules: tuple  # the modules it pins (their versions are read from its go.mod)
    stamp_k8s_version: bool = False


# Binary name -> package. `go build -o DIR/` names a binary after its package's
# last path element, skipping a major-version suffix: etcd's main package is its
# server module root, go.etcd.io/etcd/server/v3, so it comes out as "server"
# and build.py renames it; likewise jobset's main package is its module root.
BINARIES = {
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
    "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
    "etcd": "go.etcd.io/etcd/server/v3",
    "kwok": "sigs.k8s.io/kwok/cmd/kwok",
}
# What `go build -o DIR/` calls a binary whose name is not its package's last element.
BUILT_AS = {"etcd": "server", "jobset-controller": "jobset", "trainer-controller-manager": "trainer"}

COMPONENTS = [
    # The Kubernetes tree, etcd and kwok: one build list, so shared packages compile once.
    Component("control-plane", GOMOD_DIR, BINARIES, (K8S_MODULE, ETCD_MODULE, KWOK_MODULE),
              stamp_k8s_version=True),
    # Each operator with the dependencies its own go.mod asks for (controller-runtime
    # and k8s.io/* versions differ between them), and our main.go beside it.
    Component("training-operator", HERE.parent / "gomod-operator",
              {"training-operator": "arena-run.local/training-operator"}, (OPERATOR_MODULE,)),
    Component("mpi-operator", HERE.parent / "gomod-mpi",
              {"mpi-operator": "arena-run.local/mpi-operator"}, (MPI_MODULE,)),
    # Trainer v2 and the JobSet version its go.mod requires, in one build list.
    Component("trainer", HERE.parent / "gomod-trainer",
              {"trainer-controller-manager": "arena-run.local/trainer",
               "jobset-controller": "sigs.k8s.io/jobset"}, (TRAINER_MODULE, JOBSET_MODULE)),
    # Kueue with its own build list (its k8s.io/* and operator API versions).
    Component("kueue", HERE.parent / "gomod-kueue", {"kueue": "arena-run.local/kueue"}, (KUEUE_MODULE,)),
]
ALL_BINARIES = [b for c in COMPONENTS for b in c.binaries]

KSERVE = ("github.com/kserve/kserve", "v0.16.0")


def crd_files() -> list[tuple[tuple[str, str], str]]:
    """((module, version), path in the module) of every CRD `up` installs; the
    versions are the built ones, so CRDs and controllers always agree."""
    v = pinned()
    return [
        ((OPERATOR_MODULE, v[OPERATOR_MODULE]), "manifests/base/crds/kubeflow.org_tfjobs.yaml"),
        ((OPERATOR_MODULE, v[OPERATOR_MODULE]), "manifests/base/crds/kubeflow.org_pytorchjobs.yaml"),
        ((MPI_MODULE, v[MPI_MODULE]), "manifests/base/kubeflow.org_mpijobs.yaml"),
        ((TRAINER_MODULE, v[TRAINER_MODULE]), "manifests/base/crds/trainer.kubeflow.org_trainjobs.yaml"),
        ((TRAINER_MODULE, v[TRAINER_MODULE]),
         "manifests/base/crds/trainer.kubeflow.org_trainingruntimes.yaml"),
        ((TRAINER_MODULE, v[TRAINER_MODULE]),
         "manifests/base/crds/trainer.kubeflow.org_clustertrainingruntimes.yaml"),
        ((JOBSET_MODULE, v[JOBSET_MODULE]), "config/components/crd/bases/jobset.x-k8s.io_jobsets.yaml"),
        (KSERVE, "config/crd/full/serving.kserve.io_inferenceservices.yaml"),
    ] + [((KUEUE_MODULE, v[KUEUE_MODULE]), f"config/components/crd/bases/kueue.x-k8s.io_{plural}.yaml")
         for plural in KUEUE_CRDS]


# Kueue's CRDs (config/components/crd/bases), and those its kustomization gives
# a conversion webhook (v1beta1 <-> v1beta2: crd/patches/webhook_in_*.yaml).
KUEUE_CRDS = ["admissionchecks", "clusterqueues", "cohorts", "localqueues", "multikueueclusters",
              "multikueueconfigs", "provisioningrequestconfigs", "resourceflavors", "topologies",
              "workloadpriorityclasses", "workloads"]
KUEUE_CONVERTED_CRDS = ["localqueues", "clusterqueues", "cohorts", "workloads", "multikueueclusters"]
KUEUE_WEBHOOKS = "config/components/webhook/manifests.yaml"
# Kueue's webhooks `up` registers: its own objects' and those of the job
# kinds it manages here (the manifest has every integration's; a webhook the
# server does not serve would fail every request it matches).
KUEUE_JOB_WEBHOOK_NAMES = ["tfjob", "pytorchjob", "mpijob", "trainjob"]
KUEUE_WEBHOOK_NAMES = ["clusterqueue", "cohort", "resourceflavor", "workload", *KUEUE_JOB_WEBHOOK_NAMES]
# Kueue's Configuration: the job kinds it manages (TFJob and PyTorchJob are
# off by default since v0.19), only jobs with a queue label, and all-or-nothing
# admission (waitForPodsReady: a job's pods all run, or it is requeued).
KUEUE_FRAMEWORKS = ["kubeflow.org/tfjob", "kubeflow.org/pytorchjob", "kubeflow.org/mpijob",
                    "trainer.kubeflow.org/trainjob"]
KUEUE_VISIBILITY_APISERVICES = ["config/components/visibility/apiservice_v1beta2.yaml",
                                "config/components/visibility/apiservice_v1beta1.yaml"]
KUEUE_NAMESPACE = "kueue-system"
# The Service the visibility APIService names (ExternalName: localhost), and so
# the name the aggregator checks the visibility server's certificate for.
KUEUE_VISIBILITY_SERVICE = "kueue-visibility-server"

CRD_NAMES = [
    "tfjobs.kubeflow.org",
    "pytorchjobs.kubeflow.org",
    "mpijobs.kubeflow.org",
    "trainjobs.trainer.kubeflow.org",
    "trainingruntimes.trainer.kubeflow.org",
    "clustertrainingruntimes.trainer.kubeflow.org",
    "jobsets.jobset.x-k8s.io",
    "inferenceservices.serving.kserve.io",
] + [f"{plural}.kueue.x-k8s.io" for plural in KUEUE_CRDS]
# The ClusterTrainingRuntimes `up` installs from Trainer's manifests (TrainJobs
# refer to one by name; arena-run's default is torch-distributed).
TRAINER_RUNTIMES = ["manifests/base/runtimes/torch_distributed.yaml"]
# Their webhooks, as kubebuilder generated them (Service references that `up`
# turns into URLs on 127.0.0.1), and JobSet's patch limiting its pod webhooks
# to JobSet pods.
TRAINER_WEBHOOKS = "manifests/base/webhook/manifests.yaml"
JOBSET_WEBHOOKS = "config/components/webhook/manifests.yaml"

# kwok's stages, as kwokctl's default set, less pod-complete: it ends every pod
# owned by a batch Job at once, and an MPIJob's launcher and a TrainJob's nodes
# are such pods. Here every pod runs until a test makes it exit (pod-exit.yaml).
KWOK_STAGES = [
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
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
    return {m: _required(c.gomod_dir, m) for c in COMPONENTS for m in c.modules}


def k8s_version() -> str:
    return _required(GOMOD_DIR, K8S_MODULE)


def cache_root() -> Path:
    """~/.cache/arena-run (honours XDG_CACHE_HOME and ARENA_RUN_CACHE)."""
    if os.environ.get("ARENA_RUN_CACHE"):
        return Path(os.environ["ARENA_RUN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "arena-run"


def bin_root() -> Path:
    """Where each component's binaries go, one directory per BUILD-ID (build.py)."""
    return cache_root() / "bin"

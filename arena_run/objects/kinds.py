"""The kinds arena-run reads and writes, and where the API serves them.

A fixed table rather than discovery: discovery costs a request per API group
on every run, and arena-run only ever touches these kinds.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional

from .jobs import JOB_KIND_NAMES


def spell_group_kind(kind: str, group: str) -> str:
    """`Kind.group` as ApplySets spell it (the core group has no suffix): the one spelling."""
    return f"{kind}.{group}" if group else kind


def group_kind(obj: dict[str, Any]) -> str:
    """An object's group-kind, from its apiVersion and kind."""
    return spell_group_kind(obj["kind"], obj["apiVersion"].rpartition("/")[0])


class Kind(NamedTuple):
    kind: str
    group: str  # "" for the core group
    version: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        return spell_group_kind(self.kind, self.group)

    def path(self, namespace: Optional[str] = None, name: Optional[str] = None, sub: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        return base + (f"/{sub}" if sub else "")


KINDS = {
    k.group_kind: k
    for k in (
        Kind("ConfigMap", "", "v1", "configmaps"),
        Kind("Secret", "", "v1", "secrets"),
        Kind("Service", "", "v1", "services"),
        Kind("Pod", "", "v1", "pods"),
        Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims"),
        Kind("Node", "", "v1", "nodes", namespaced=False),
        Kind("Namespace", "", "v1", "namespaces", namespaced=False),
        Kind("Event", "", "v1", "events"),
        Kind("Deployment", "apps", "v1", "deployments"),
        Kind("TFJob", "kubeflow.org", "v1", "tfjobs"),
        Kind("PyTorchJob", "kubeflow.org", "v1", "pytorchjobs"),
        Kind("MPIJob", "kubeflow.org", "v2beta1", "mpijobs"),
        Kind("TrainJob", "trainer.kubeflow.org", "v1alpha1", "trainjobs"),
        Kind("InferenceService", "serving.kserve.io", "v1beta1", "inferenceservices"),
        # Kueue's, only read (objects/kueue.py): v1beta2 is what Kueue 0.15 and later store and serve.
        Kind("Workload", "kueue.x-k8s.io", "v1beta2", "workloads"),
        Kind("LocalQueue", "kueue.x-k8s.io", "v1beta2", "localqueues"),
        Kind("ClusterQueue", "kueue.x-k8s.io", "v1beta2", "clusterqueues", namespaced=False),
    )
}

# The training jobs arena-run renders, one per sweep point, as group-kinds: their
# operators never apply a changed spec to running pods, so a change is a replacement.
JOB_GROUP_KINDS = tuple(k.group_kind for k in KINDS.values() if k.kind in JOB_KIND_NAMES)
# Who runs each custom kind arena-run renders: the engines whose API versions it writes for.
ENGINES = {
    "TFJob.kubeflow.org": "Kubeflow training-operator", "PyTorchJob.kubeflow.org": "Kubeflow training-operator",
    "MPIJob.kubeflow.org": "mpi-operator", "TrainJob.trainer.kubeflow.org": "Kubeflow Trainer",
    "InferenceService.serving.kserve.io": "KServe",
}


def kind_of(obj: dict[str, Any]) -> Kind:
    return KINDS[group_kind(obj)]


def by_group_kind(group_kind: str) -> Optional[Kind]:
    return KINDS.get(group_kind)

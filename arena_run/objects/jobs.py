"""What arena-run reads of a live training job, whatever its kind.

TFJob and PyTorchJob (training operator), MPIJob (mpi-operator) and TrainJob
(Kubeflow Trainer, run by a JobSet) say the same things differently: their
replicas per role, and how their pods tell which job, role and index they
are. Pure functions over the objects as the API returns them.
"""

from __future__ import annotations

from typing import Any, Optional

# The training operator's pod labels; the mpi-operator sets JOB_NAME and, on workers, REPLICA_INDEX.
JOB_NAME = "training.kubeflow.org/job-name"
REPLICA_TYPE = "training.kubeflow.org/replica-type"
REPLICA_INDEX = "training.kubeflow.org/replica-index"
JOB_ROLE = "training.kubeflow.org/job-role"  # mpi-operator: launcher or worker
# A TrainJob's JobSet has the TrainJob's name; its replicated job `node` is an
# Indexed Job whose completion index is the node's rank.
JOBSET_NAME = "jobset.sigs.k8s.io/jobset-name"
REPLICATED_JOB = "jobset.sigs.k8s.io/replicatedjob-name"
JOB_INDEX = "jobset.sigs.k8s.io/job-index"
COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"

# The training jobs' kinds without their groups (a pod template's owner, a LocalView's object);
# objects.kinds.JOB_GROUP_KINDS spells the same kinds with them.
JOB_KIND_NAMES = ("TFJob", "PyTorchJob", "MPIJob", "TrainJob")


def replica_specs(job: dict[str, Any]) -> dict[str, Any]:
    """Role -> {replicas, template}; a TrainJob's nodes as one role `Node`."""
    spec = job.get("spec") or {}
    if job.get("kind") == "TrainJob":
        trainer = spec.get("trainer") or {}
        pod: dict[str, Any] = {"containers": [{"name": "node", "resources": trainer.get("resourcesPerNode") or {}}]}
        for patch in spec.get("runtimePatches") or []:
            template = (((patch.get("trainingRuntimeSpec") or {}).get("template") or {}).get("spec")) or {}
            for rjob in template.get("replicatedJobs") or []:
                pod_patch = ((((rjob.get("template") or {}).get("spec") or {}).get("template") or {}).get("spec")) or {}
                pod["volumes"] = pod.get("volumes", []) + list(pod_patch.get("volumes") or [])
        return {"Node": {"replicas": trainer.get("numNodes", 1), "template": {"spec": pod}}}
    return spec.get("tfReplicaSpecs") or spec.get("pytorchReplicaSpecs") or spec.get("mpiReplicaSpecs") or {}


def _labels(pod: dict[str, Any]) -> dict[str, Any]:
    return pod["metadata"].get("labels") or {}


def pod_job(pod: dict[str, Any]) -> Optional[str]:
    """The name of the job a pod belongs to."""
    labels = _labels(pod)
    return labels.get(JOB_NAME) or labels.get(JOBSET_NAME)


def pod_role(pod: dict[str, Any]) -> str:
    labels = _labels(pod)
    if JOBSET_NAME in labels:
        return str(labels.get(REPLICATED_JOB, ""))
    return (labels.get(REPLICA_TYPE) or labels.get(JOB_ROLE) or "").lower()


def pod_index(pod: dict[str, Any]) -> Optional[str]:
    labels = _labels(pod)
    if JOBSET_NAME in labels:
        # Only the first Job of the replicated job: Trainer runs one.
        return labels.get(COMPLETION_INDEX) if labels.get(JOB_INDEX, "0") == "0" else None
    if labels.get(JOB_ROLE) == "launcher":
        return str(labels.get(REPLICA_INDEX, "0"))  # one launcher; labelled only when it also works
    return labels.get(REPLICA_INDEX)


def default_role(roles: list[str]) -> str:
    """Whose logs a job's are: the chief's, the master's, the launcher's, else worker (or node) 0."""
    lower = {r.lower(): r for r in roles}
    for role in ("chief", "master", "launcher", "worker", "node"):
        if role in lower:
            return role
    return sorted(lower)[0] if lower else "worker"

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


# What a TrainJob's node pods get that the TrainJob does not say: the JobSet webhook's default restart
# policy (the torch-distributed runtime sets none) and a batch/v1 Job's default backoffLimit, under
# which each restart of a node counts (Trainer v2.3 and its runtimes set neither).
TRAINER_NODE_RESTART_POLICY = "OnFailure"
TRAINER_NODE_BACKOFF_LIMIT = 6
# Trainer's runtimes run the training code in the container `node` of the
# replicated job `node` (manifests/base/runtimes); runtimePatches are keyed by it.
TRAINER_NODE = "node"


def node_patch_templates(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod templates a TrainJob's runtimePatches give its `node` replicated job, as the object holds
    them (changing one changes the TrainJob)."""
    out = []
    for patch in (job.get("spec") or {}).get("runtimePatches") or []:
        template = (((patch.get("trainingRuntimeSpec") or {}).get("template") or {}).get("spec")) or {}
        for rjob in template.get("replicatedJobs") or []:
            pod = ((rjob.get("template") or {}).get("spec") or {}).get("template")
            if rjob.get("name") == TRAINER_NODE and isinstance(pod, dict):
                out.append(pod)
    return out


def _node_template(job: dict[str, Any]) -> dict[str, Any]:
    """A TrainJob's node pod as Trainer's torch plugin and JobSet plugin build it on a runtime whose
    node container says nothing itself (torch-distributed): the trainer's image, command, args, env
    and resourcesPerNode in the container `node`; the runtimePatches' labels, annotations,
    scheduling, volumes and the node container's volume mounts and env."""
    trainer = (job.get("spec") or {}).get("trainer") or {}
    container: dict[str, Any] = {"name": TRAINER_NODE}
    for key in ("image", "command", "args", "env"):
        if trainer.get(key):
            container[key] = trainer[key]
    container["resources"] = trainer.get("resourcesPerNode") or {}
    meta: dict[str, Any] = {}
    pod: dict[str, Any] = {}
    for patch in node_patch_templates(job):
        for key, value in (patch.get("metadata") or {}).items():
            meta[key] = {**meta.get(key, {}), **value} if isinstance(value, dict) else value
        for key, value in (patch.get("spec") or {}).items():
            if key == "volumes":
                pod["volumes"] = pod.get("volumes", []) + list(value or [])
            elif key == "containers":
                for c in value or []:
                    if c.get("name") == TRAINER_NODE:
                        for field in ("env", "volumeMounts"):
                            if c.get(field):
                                container[field] = container.get(field, []) + list(c[field])
            elif key != "initContainers":
                pod[key] = value
    pod["containers"] = [container]
    return {"metadata": meta, "spec": pod}


def replica_specs(job: dict[str, Any]) -> dict[str, Any]:
    """Role -> {replicas, restartPolicy, template}; a TrainJob's nodes as one role `Node`."""
    spec = job.get("spec") or {}
    if job.get("kind") == "TrainJob":
        trainer = spec.get("trainer") or {}
        return {"Node": {"replicas": trainer.get("numNodes", 1), "restartPolicy": TRAINER_NODE_RESTART_POLICY,
                         "template": _node_template(job)}}
    return spec.get("tfReplicaSpecs") or spec.get("pytorchReplicaSpecs") or spec.get("mpiReplicaSpecs") or {}


def run_policy(job: dict[str, Any]) -> dict[str, Any]:
    """The job's runPolicy (backoffLimit, activeDeadlineSeconds, ttlSecondsAfterFinished); a TrainJob's
    as its JobSet's Job has it: its own activeDeadlineSeconds, the Job's default backoffLimit, no TTL."""
    spec = job.get("spec") or {}
    if job.get("kind") == "TrainJob":
        policy: dict[str, Any] = {"backoffLimit": TRAINER_NODE_BACKOFF_LIMIT}
        if spec.get("activeDeadlineSeconds"):
            policy["activeDeadlineSeconds"] = spec["activeDeadlineSeconds"]
        return policy
    return dict(spec.get("runPolicy") or {})


def pod_labels(job: dict[str, Any], role: str, index: int) -> dict[str, str]:
    """The labels that say which job, role and index a pod is (what pod_job, pod_role, pod_index read):
    the training operator's, or for a TrainJob its JobSet's (one Job of the node replicated job)."""
    name = job["metadata"]["name"]
    if job.get("kind") == "TrainJob":
        return {JOBSET_NAME: name, REPLICATED_JOB: role.lower(), JOB_INDEX: "0", COMPLETION_INDEX: str(index)}
    return {JOB_NAME: name, REPLICA_TYPE: role.lower(), REPLICA_INDEX: str(index)}


def pod_hostname(job: dict[str, Any], role: str, index: int) -> str:
    """A replica's pod's hostname on a cluster: `<job>-<type>-<i>` (the operators), or JobSet's
    `<jobset>-<replicated job>-<job index>-<completion index>` for a TrainJob's node."""
    name = job["metadata"]["name"]
    if job.get("kind") == "TrainJob":
        return f"{name}-{role.lower()}-0-{index}"
    return f"{name}-{role.lower()}-{index}"


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

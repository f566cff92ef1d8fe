"""MPIJob (kubeflow.org/v2beta1, mpi-operator) and TrainJob (trainer.kubeflow.org/v1alpha1,
Kubeflow Trainer v2), one per sweep point, from the same [job] table as TFJobs."""

from __future__ import annotations

import shlex
from typing import Any, Optional

from ..objects.jobs import TRAINER_NODE
from ..objects.labels import LABEL_PREFIX
from ..spec.model import TRAINER_RUNTIME, Experiment, Job
from ..spec.names import Replica, replicas
from ..spec.sweep import Point, substitute
from . import labels as L
from .pod import env_list, job_env, job_pod, job_volumes, resources, scheduling

MPI_API_VERSION = "kubeflow.org/v2beta1"
TRAINER_API_VERSION = "trainer.kubeflow.org/v1alpha1"
TRAINER_GROUP = "trainer.kubeflow.org"
# Who owns our entry of runtimePatches (a list keyed by manager).
PATCH_MANAGER = LABEL_PREFIX + "arena-run"


def run_policy(job: Job) -> dict[str, Any]:
    policy: dict[str, Any] = {"cleanPodPolicy": job.clean_pod_policy}
    if job.ttl_after_finished is not None:
        policy["ttlSecondsAfterFinished"] = job.ttl_after_finished
    if job.active_deadline is not None:
        policy["activeDeadlineSeconds"] = job.active_deadline
    if job.backoff_limit is not None:
        policy["backoffLimit"] = job.backoff_limit
    return policy


def mpi_job(exp: Experiment, job: Job, point: Optional[Point], metadata: dict[str, Any]) -> dict[str, Any]:
    """The launcher runs `command` (mpirun/horovodrun); the workers run the
    operator's default, an SSH server the launcher reaches them through."""
    worker_gpus = job.roles.worker.gpus if job.roles.worker and job.roles.worker.gpus is not None else job.gpus
    spec: dict[str, Any] = {
        "slotsPerWorker": job.slots_per_worker or max(worker_gpus, 1),
        "runPolicy": run_policy(job),
        "mpiImplementation": job.mpi_implementation,
        "sshAuthMountPath": job.ssh_auth_mount_path,
        "mpiReplicaSpecs": {
            r.role: {
                "replicas": r.replicas,
                "restartPolicy": job.restart_policy,
                "template": _mpi_template(exp, job, r, point),
            }
            for r in replicas(job)
        },
    }
    return {"apiVersion": MPI_API_VERSION, "kind": "MPIJob", "metadata": metadata, "spec": spec}


def _mpi_template(exp: Experiment, job: Job, replica: Replica, point: Optional[Point]) -> dict[str, Any]:
    role = replica.override
    launcher = replica.role == "Launcher"
    gpus = role.gpus if role and role.gpus is not None else (0 if launcher else job.gpus)
    env = job_env(job, point, role.env if role else None)
    container: dict[str, Any] = {"name": "mpi-launcher" if launcher else "mpi-worker", "image": (role and role.image) or job.image}
    if job.image_pull_policy:
        container["imagePullPolicy"] = job.image_pull_policy
    if launcher:
        container["command"] = ["sh", "-c", substitute(job.command, point.params if point else {})]
    container["workingDir"] = job.working_dir
    if env:
        container["env"] = env_list(env)
    res = resources((role and role.cpu) or job.cpu, (role and role.memory) or job.memory, gpus)
    if res:
        container["resources"] = res
    container["volumeMounts"], volumes = job_volumes(exp, job)
    return job_pod(exp, job, role, point, container, volumes)


def train_job(exp: Experiment, job: Job, point: Optional[Point], metadata: dict[str, Any]) -> dict[str, Any]:
    """A TrainJob on a ClusterTrainingRuntime: what the file says of the
    trainer goes to `trainer`; volumes, scheduling and our pod labels go to
    our entry of `runtimePatches` (Trainer v2.3's way to change a runtime)."""
    params = point.params if point else {}
    # A TrainJob's trainer has no working directory field: the shell changes to it.
    command = f"cd {shlex.quote(job.working_dir)} && {substitute(job.command, params)}"
    trainer: dict[str, Any] = {"image": job.image, "command": ["sh", "-c", command]}
    env = job_env(job, point)
    if env:
        trainer["env"] = env_list(env)
    trainer["numNodes"] = job.workers
    res = resources(job.cpu, job.memory, job.gpus)
    if res:
        trainer["resourcesPerNode"] = res
    mounts, volumes = job_volumes(exp, job)
    pod: dict[str, Any] = scheduling(job, job.node_selector)
    pod["containers"] = [{"name": TRAINER_NODE, "volumeMounts": mounts}]
    pod["volumes"] = volumes
    node_job = {
        "name": TRAINER_NODE,
        "template": {"spec": {"template": {
            "metadata": {"labels": L.labels(exp, "job", point.suffix if point else None)},
            "spec": pod,
        }}},
    }
    spec: dict[str, Any] = {
        "runtimeRef": {"name": job.runtime or TRAINER_RUNTIME, "apiGroup": TRAINER_GROUP,
                       "kind": "ClusterTrainingRuntime"},
        "trainer": trainer,
        "runtimePatches": [{
            "manager": PATCH_MANAGER,
            "trainingRuntimeSpec": {"template": {"spec": {"replicatedJobs": [node_job]}}},
        }],
    }
    if job.active_deadline is not None:
        spec["activeDeadlineSeconds"] = job.active_deadline
    return {"apiVersion": TRAINER_API_VERSION, "kind": "TrainJob", "metadata": metadata, "spec": spec}

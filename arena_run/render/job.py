"""Training jobs, one per sweep point: TFJob and PyTorchJob (kubeflow.org/v1) here,
MPIJob and TrainJob in engines.py."""

from __future__ import annotations

from typing import Any, Optional

from ..objects.labels import SWEEP_PARAMS
from ..spec.model import Experiment, Job
from ..spec.names import QUEUE_LABEL, QUEUE_PRIORITY_LABEL, Replica, job_name, job_points, replicas
from ..spec.sweep import Point, params_json, substitute
from . import labels as L
from .engines import mpi_job, run_policy, train_job
from .pod import env_list, job_env, job_pod, job_volumes, resources

API_VERSION = "kubeflow.org/v1"
# The training operator finds the training container and its port by these names.
_KIND = {
    "tf": ("TFJob", "tfReplicaSpecs", "tensorflow", "tfjob-port", 2222),
    "pytorch": ("PyTorchJob", "pytorchReplicaSpecs", "pytorch", "pytorchjob-port", 23456),
}


def render_jobs(exp: Experiment, namespace: Optional[str]) -> list[dict[str, Any]]:
    assert exp.job is not None
    return [_job(exp, exp.job, point, namespace) for point in job_points(exp)]


def _job(exp: Experiment, job: Job, point: Optional[Point], namespace: Optional[str]) -> dict[str, Any]:
    suffix = point.suffix if point else None
    annotations = None
    if point:
        annotations = {SWEEP_PARAMS: params_json(point.params)}
    metadata = L.metadata(exp, job_name(exp, point), namespace, _job_labels(exp, job, suffix), annotations)
    if job.type == "mpi":
        return mpi_job(exp, job, point, metadata)
    if job.engine == "trainer":
        return train_job(exp, job, point, metadata)
    kind, specs_key, _, _, _ = _KIND[job.type]
    spec: dict[str, Any] = {"runPolicy": run_policy(job)}
    if job.success_policy:
        spec["successPolicy"] = job.success_policy
    spec[specs_key] = {
        r.role: {
            "replicas": r.replicas,
            "restartPolicy": job.restart_policy if r.role in ("Worker", "Master") else "Never",
            "template": _template(exp, job, r, point),
        }
        for r in replicas(job)
    }
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


def _job_labels(exp: Experiment, job: Job, suffix: Optional[str]) -> dict[str, str]:
    """The job's own labels: the pods' and, on the job only, Kueue's (its
    pods are admitted with the job, never queued one by one)."""
    out = L.labels(exp, "job", suffix)
    if job.queue:
        out[QUEUE_LABEL] = job.queue
    if job.queue_priority:
        out[QUEUE_PRIORITY_LABEL] = job.queue_priority
    return out


def _template(exp: Experiment, job: Job, replica: Replica, point: Optional[Point]) -> dict[str, Any]:
    _, _, container_name, port_name, port = _KIND[job.type]
    role = replica.override
    params = point.params if point else {}
    gpus = role.gpus if role and role.gpus is not None else (0 if replica.role == "PS" else job.gpus)
    env = job_env(job, point, role.env if role else None)

    container: dict[str, Any] = {"name": container_name, "image": (role and role.image) or job.image}
    if job.image_pull_policy:
        container["imagePullPolicy"] = job.image_pull_policy
    container["command"] = ["sh", "-c", substitute(job.command, params)]
    container["workingDir"] = job.working_dir
    if env:
        container["env"] = env_list(env)
    container["ports"] = [{"name": port_name, "containerPort": port}]
    res = resources((role and role.cpu) or job.cpu, (role and role.memory) or job.memory, gpus)
    if res:
        container["resources"] = res
    container["volumeMounts"], volumes = job_volumes(exp, job)
    return job_pod(exp, job, role, point, container, volumes)

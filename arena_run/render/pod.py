"""The parts of a pod that every workload of an experiment shares."""

from __future__ import annotations

import posixpath
from typing import Any, Mapping, Optional

from ..objects.gpus import GPU
from ..spec.model import Code, Experiment, GIT_SYNC_IMAGE, Job, RSYNC_IMAGE, Role, Toleration
from ..spec.names import repo_name
from ..spec.sweep import Point, substitute
from . import labels as L

CODE_ROOT = "/code"  # where the sync init container writes


def resources(cpu: Optional[str], memory: Optional[str], gpus: int = 0) -> dict[str, Any]:
    # Requests equal limits, written out: the API server would otherwise
    # default requests from limits, and plan would see a difference that no
    # one made.  GPUs cannot be overcommitted anyway.
    amounts: dict[str, str] = {}
    if cpu:
        amounts["cpu"] = cpu
    if memory:
        amounts["memory"] = memory
    if gpus:
        amounts[GPU] = str(gpus)
    return {"requests": amounts, "limits": dict(amounts)} if amounts else {}


def data_volumes(exp: Experiment) -> list[dict[str, Any]]:
    out = []
    for i, d in enumerate(exp.data):
        if d.pvc is not None:
            source = {"persistentVolumeClaim": {"claimName": d.pvc, **({"readOnly": True} if d.read_only else {})}}
        else:
            source = {"hostPath": {"path": d.host_path}}
        out.append({"name": f"data-{i}", **source})
    return out


def data_mounts(exp: Experiment, read_only: bool = False) -> list[dict[str, Any]]:
    out = []
    for i, d in enumerate(exp.data):
        mount: dict[str, Any] = {"name": f"data-{i}", "mountPath": d.mount}
        if d.sub_path:
            mount["subPath"] = d.sub_path
        if d.read_only or read_only:
            mount["readOnly"] = True
        out.append(mount)
    return out


def env_list(env: Mapping[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in env.items()]


def code_dir(job: Job) -> str:
    return posixpath.join(job.working_dir, "code")


def sync_container(code: Code) -> dict[str, Any]:
    """An init container that fetches the code once, as Arena's sync mode does."""
    mounts = [{"name": "code", "mountPath": CODE_ROOT}]
    if code.rsync is not None:
        return {
            "name": "rsync",
            "image": code.image or RSYNC_IMAGE,
            "command": ["rsync", "-a", code.rsync, CODE_ROOT + "/"],
            "volumeMounts": mounts,
        }
    assert code.git is not None
    env: list[dict[str, Any]] = [
        {"name": "GITSYNC_REPO", "value": code.git},
        {"name": "GITSYNC_ROOT", "value": CODE_ROOT},
        {"name": "GITSYNC_LINK", "value": repo_name(code.git)},
        {"name": "GITSYNC_ONE_TIME", "value": "true"},
        {"name": "GITSYNC_DEPTH", "value": str(code.depth)},
    ]
    if code.ref:
        env.append({"name": "GITSYNC_REF", "value": code.ref})
    if code.secret:
        for var, key in (("GITSYNC_USERNAME", "username"), ("GITSYNC_PASSWORD", "password")):
            env.append({"name": var, "valueFrom": {"secretKeyRef": {"name": code.secret, "key": key}}})
    return {"name": "git-sync", "image": code.image or GIT_SYNC_IMAGE, "env": env, "volumeMounts": mounts}


def scheduling(job: Job, node_selector: Mapping[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if node_selector:
        spec["nodeSelector"] = dict(node_selector)
    if job.tolerations:
        spec["tolerations"] = [_toleration(t) for t in job.tolerations]
    if job.priority_class:
        spec["priorityClassName"] = job.priority_class
    if job.image_pull_secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in job.image_pull_secrets]
    return spec


def _toleration(t: Toleration) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.key is not None:
        out["key"] = t.key
    out["operator"] = t.operator
    if t.value is not None:
        out["value"] = t.value
    if t.effect is not None:
        out["effect"] = t.effect
    if t.seconds is not None:
        out["tolerationSeconds"] = t.seconds
    return out


# --- a training job's pod, whatever its kind ----------------------------------------------


def job_env(job: Job, point: Optional[Point], extra: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """The job's env, a role's on top, `{{param}}` substituted, then the point's ARENA_PARAM_*."""
    params = point.params if point else {}
    env = {k: substitute(v, params) for k, v in {**job.env, **(extra or {})}.items()}
    if point:
        env.update(point.env())
    return env


def job_volumes(exp: Experiment, job: Job) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Mounts and volumes of a job's container: the data, a memory /dev/shm, the code checkout."""
    mounts = data_mounts(exp) + [{"name": "dshm", "mountPath": "/dev/shm"}]
    volumes = data_volumes(exp) + [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": job.shm}}]
    if exp.code:
        mounts.append({"name": "code", "mountPath": code_dir(job)})
        volumes.append({"name": "code", "emptyDir": {}})
    return mounts, volumes


def job_pod(exp: Experiment, job: Job, role: Optional[Role], point: Optional[Point], container: dict[str, Any],
            volumes: list[dict[str, Any]]) -> dict[str, Any]:
    """The pod template around a job's container: scheduling (a role's node selector first), the code
    sync, volumes and the experiment's labels."""
    node_selector = role.node_selector if role and role.node_selector is not None else job.node_selector
    pod: dict[str, Any] = scheduling(job, node_selector)
    if exp.code:
        pod["initContainers"] = [sync_container(exp.code)]
    pod["containers"] = [container]
    pod["volumes"] = volumes
    return {"metadata": {"labels": L.labels(exp, "job", point.suffix if point else None)}, "spec": pod}

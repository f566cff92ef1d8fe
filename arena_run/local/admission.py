"""What this machine can run, asked before anything starts (`plan --local` shows the refusals).

A cluster's admission is the API server's and the scheduler's; on one machine
it is this: the kinds the supervisor runs, no more GPUs at once than the
machine has (a GPU job never falls back to the CPU), no more replicas than
this process may start (each holds a port and is a few processes), a core
count it can read, and, for the replicas that get one each, Linux
namespaces to run in (with --container: a container engine that answers).  Whatever is refused here never reaches the
supervisor, where it could only fail the job later.
"""

from __future__ import annotations

import os
import resource
from typing import Any, Optional

from ..objects.gpus import pod_gpus
from ..objects.jobs import replica_specs
from . import gpus as local_gpus
from .distributed import LOCAL_JOB_KIND_NAMES
from .resources import cores_available
from .runner import check_namespaces
from .state import LocalError, data_home

RUN_HERE = LOCAL_JOB_KIND_NAMES + ("Deployment", "Service", "InferenceService")  # InferenceService: refused below


def refusals(experiment: str, starting: list[tuple[str, dict[str, Any]]], runner: str = "process") -> list[str]:
    """Why the objects about to start cannot run here; empty when they can.

    starting: (op, desired object) of each create, replace or update.  An
    update of a job changes no running replica, so its GPUs are not counted.
    runner "container": an engine that answers, in place of the namespaces.
    """
    out = []
    inventory = None
    for op, desired in starting:
        kind, name = desired["kind"], desired["metadata"]["name"]
        if kind not in RUN_HERE:
            out.append(f"{kind} {name}: --local runs TFJob, PyTorchJob and TrainJob jobs (and TensorBoard, "
                       f"tf-serving); {kind} is cluster-only for now")
        if kind == "InferenceService":
            out.append(f"{experiment}: serve.type = \"kserve\" is cluster-only; locally, serve with "
                       "type = \"tf-serving\"")
        if kind in LOCAL_JOB_KIND_NAMES and op != "update":
            replicas = sum(int(s.get("replicas", 1)) for s in replica_specs(desired).values())
            most = max_replicas()
            if most is not None and replicas > most:
                out.append(f"{kind} {name} has {replicas} replicas and this machine can start at most {most} "
                           "at once (each holds a port and runs as processes: ulimit -n / -u)")
            need = sum(int(s.get("replicas", 1)) * pod_gpus(s["template"]["spec"])
                       for s in replica_specs(desired).values())
            if need:
                inventory = inventory or local_gpus.detect()
                if need > len(inventory.gpus):
                    out.append(f"{kind} {name} needs {need} GPU{'s' if need != 1 else ''} at once "
                               f"and this machine has {len(inventory.gpus)}"
                               + (f" ({inventory.note})" if inventory.note else "")
                               + "; it would never start (a GPU job never runs on CPU)")
    if any(desired["kind"] in LOCAL_JOB_KIND_NAMES + ("Deployment",) for _, desired in starting):
        # The environment the supervisor will read, checked while a refusal is still one line.
        for check in (cores_available, _engine if runner == "container" else check_namespaces, data_home):
            try:
                check()
            except LocalError as exc:
                out.append(str(exc))
    return out


def _engine() -> None:
    """The container runner's stand-in for namespaces: an engine on PATH that answers."""
    from .engine import find

    find().check()


def max_replicas() -> Optional[int]:
    """How many replicas of one job this process can start at once; None: no limit it can see.

    The supervisor holds a port per replica while it assigns them (an open
    file each) and each replica is at least three processes (unshare, the
    sandbox, the command), so half the open-file limit and a third of the
    process limit bound it; past them it would fail midway, nothing started.
    """
    bounds = []
    for limit, per in ((resource.RLIMIT_NOFILE, 2), (resource.RLIMIT_NPROC, 3)):
        soft, _ = resource.getrlimit(limit)
        if soft != resource.RLIM_INFINITY:
            bounds.append(max(1, soft // per))
    return min(bounds) if bounds else None


def volume_refusals(volumes: dict[str, Any]) -> list[str]:
    """Why `--volume NAME=DIR` arguments cannot be a PVC's directory: each must be one, or not exist yet."""
    out = []
    for claim, path in sorted(volumes.items()):
        if os.path.lexists(path) and not os.path.isdir(path):
            out.append(f"--volume {claim}={path}: not a directory (a PVC is mounted as a directory)")
    return out

"""What this machine can run, asked before anything starts (`plan --local` shows the refusals).

A cluster's admission is the API server's and the scheduler's; on one machine
it is this: the kinds the supervisor runs, no more GPUs at once than the
machine has (a GPU job never falls back to the CPU), and, for the replicas
that get one each, Linux namespaces to run in.
"""

from __future__ import annotations

from typing import Any

from . import gpus as local_gpus
from .distributed import pod_gpus, replica_specs
from .runner import check_namespaces
from .state import LocalError

RUN_HERE = ("TFJob", "PyTorchJob", "Deployment", "Service", "InferenceService")  # InferenceService: refused below
JOBS = ("TFJob", "PyTorchJob")


def refusals(experiment: str, starting: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """Why the objects about to start cannot run here; empty when they can.

    starting: (op, desired object) of each create, replace or update.  An
    update of a job changes no running replica, so its GPUs are not counted.
    """
    out = []
    inventory = None
    for op, desired in starting:
        kind, name = desired["kind"], desired["metadata"]["name"]
        if kind not in RUN_HERE:
            out.append(f"{kind} {name}: --local runs TFJob and PyTorchJob jobs (and TensorBoard, "
                       f"tf-serving); {kind} is cluster-only for now")
        if kind == "InferenceService":
            out.append(f"{experiment}: serve.type = \"kserve\" is cluster-only; locally, serve with "
                       "type = \"tf-serving\"")
        if kind in JOBS and op != "update":
            need = sum(int(s.get("replicas", 1)) * pod_gpus(s["template"]["spec"])
                       for s in replica_specs(desired).values())
            if need:
                inventory = inventory or local_gpus.detect()
                if need > len(inventory.gpus):
                    out.append(f"{kind} {name} needs {need} GPU{'s' if need != 1 else ''} at once "
                               f"and this machine has {len(inventory.gpus)}"
                               + (f" ({inventory.note})" if inventory.note else "")
                               + "; it would never start (a GPU job never runs on CPU)")
    if any(desired["kind"] in JOBS + ("Deployment",) for _, desired in starting):
        try:
            check_namespaces()
        except LocalError as exc:
            out.append(str(exc))
    return out

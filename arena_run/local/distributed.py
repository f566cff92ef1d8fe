"""The variables the training operator gives each replica, with local addresses.

Read from the operator's source (github.com/kubeflow/training-operator
v1.9.x, pkg/controller.v1): for a TFJob, `TF_CONFIG` only when the job has
more than one replica in all (`isDistributed`), its cluster spec listing
every replica type the job has (the evaluator too: genClusterSpec walks all
replica specs), the task's type lower-cased, and `"environment": "cloud"`,
marshalled as Go does (keys of the cluster sorted, no spaces).  For a
PyTorchJob, `PYTHONUNBUFFERED=1`; with a master, `MASTER_PORT`,
`PET_MASTER_PORT`, `MASTER_ADDR`, `PET_MASTER_ADDR`, `WORLD_SIZE` (all
replicas), `RANK` and `PET_NODE_RANK` (the master 0, worker i i+1); and
`PET_NNODES`.  On a cluster the addresses are the replicas' headless
Services (`<job>-<type>-<i>.<namespace>.svc:<port>`).  Here a process
replica listens on a free port of 127.0.0.1 (processes share this machine's
network); a replica in a container is on its job's own network, reached by
its pod's name at the port its pod declares, as on a cluster.  A TrainJob's
nodes get what Kubeflow Trainer's torch plugin gives them: local/trainer.py.
"""

from __future__ import annotations

import json
import socket
from typing import Any, NamedTuple

from ..objects.jobs import pod_hostname, replica_specs
from . import trainer

HOST = "127.0.0.1"
# The training jobs whose operator this module stands in for: the kinds the local target runs.
LOCAL_JOB_KIND_NAMES = ("TFJob", "PyTorchJob", "TrainJob")


# The operator's port when the pod declares none (its defaultPort), and the port name it looks for.
OPERATOR_PORTS = {"TFJob": ("tfjob-port", 2222), "PyTorchJob": ("pytorchjob-port", 23456)}


class Slot(NamedTuple):
    role: str  # the operator's replica type: Worker, PS, Chief, Evaluator, Master
    # the replica's index; not so named, as that would hide tuple.index (mypy rightly refuses it)
    replica_index: int
    port: int
    host: str = HOST  # 127.0.0.1, or the pod's name on its job's own network

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def free_ports(n: int) -> list[int]:
    """n distinct ports nothing listens on now (held open together so none repeats)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def slots(job: dict[str, Any], own_network: bool = False) -> list[Slot]:
    """Every replica of the job, in the file's role order: each with a free port of 127.0.0.1, or
    (own_network: the job's replicas on a network of their own) by its pod's name at its pod's port."""
    specs = replica_specs(job)
    pairs = [(role, i) for role, spec in specs.items() for i in range(int(spec.get("replicas", 1)))]
    if own_network:
        return [Slot(role, i, pod_port(job, specs[role]["template"]), pod_hostname(job, role, i))
                for role, i in pairs]
    ports = free_ports(len(pairs))
    return [Slot(role, i, port) for (role, i), port in zip(pairs, ports)]


def pod_port(job: dict[str, Any], template: dict[str, Any]) -> int:
    """The port the operator gives a replica: its container's port of the operator's name, else the default
    (a TrainJob's node: Trainer's one port)."""
    if job.get("kind") == "TrainJob":
        return trainer.PORT
    port_name, default = OPERATOR_PORTS.get(job.get("kind", ""), ("", 2222))
    for container in (template.get("spec") or {}).get("containers") or []:
        for p in container.get("ports") or []:
            if p.get("name") == port_name and p.get("containerPort"):
                return int(p["containerPort"])
    return default


def tf_config(all_slots: list[Slot], me: Slot) -> str:
    cluster: dict[str, Any] = {}
    for s in all_slots:
        cluster.setdefault(s.role.lower(), []).append(s.address)
    config = {
        "cluster": {k: cluster[k] for k in sorted(cluster)},
        "task": {"type": me.role.lower(), "index": me.replica_index},
        "environment": "cloud",
    }
    return json.dumps(config, separators=(",", ":"))


def operator_env(job: dict[str, Any], all_slots: list[Slot], me: Slot) -> list[tuple[str, str]]:
    """(name, value) in the order the operator appends them to the container's env."""
    if job["kind"] == "TrainJob":
        return trainer.torch_env(job, all_slots, me)
    if job["kind"] == "TFJob":
        return [("TF_CONFIG", tf_config(all_slots, me))] if len(all_slots) != 1 else []
    env = [("PYTHONUNBUFFERED", "1")]
    master = next((s for s in all_slots if s.role == "Master"), None)
    if master is not None:
        rank = me.replica_index + 1 if me.role == "Worker" else me.replica_index
        env += [
            ("MASTER_PORT", str(master.port)), ("PET_MASTER_PORT", str(master.port)),
            ("MASTER_ADDR", master.host), ("PET_MASTER_ADDR", master.host),
            ("WORLD_SIZE", str(len(all_slots))), ("RANK", str(rank)), ("PET_NODE_RANK", str(rank)),
        ]
    env.append(("PET_NNODES", str(len(all_slots))))
    return env


def launch_template(job: dict[str, Any], role: str) -> dict[str, Any]:
    """The pod template a replica of role starts from (a TrainJob's node: in its working directory)."""
    if job.get("kind") == "TrainJob":
        return trainer.node_template(job)
    template: dict[str, Any] = replica_specs(job)[role]["template"]
    return template

"""What Kubeflow Trainer gives a TrainJob's nodes, with local addresses: the stand-in for its
torch-distributed ClusterTrainingRuntime.

Read from Trainer's source (github.com/kubeflow/trainer/v2 v2.3.0).  The
torch plugin (pkg/runtime/framework/plugins/torch/torch.go, EnforceMLPolicy)
sets the trainer's env on the container `node`, then appends, in this order:

- `PET_NNODES`: the trainer's `numNodes` (the node pod set's count);
- `PET_NPROC_PER_NODE`: the trainer's `numProcPerNode` when set, else
  `auto`, which with no GPU in `resourcesPerNode` becomes the CPU count:
  max(1, the cpu request rounded up, else the limit; getNumCPUPerNode),
  and with GPUs stays `auto` (torchrun then runs one process per GPU);
- `PET_NODE_RANK`: the pod's Job completion index
  (constants.JobCompletionIndexFieldPath), node i's rank i;
- `PET_MASTER_ADDR`: `<trainjob>-node-0-0.<trainjob>`, node 0's pod through
  the JobSet's headless Service (its subdomain);
- `PET_MASTER_PORT`: constants.ContainerTrainerPort, 29500, also declared
  as the node container's port.

(All five are reserved: Trainer refuses a TrainJob whose trainer env sets one,
constants.TorchRunReservedEnvNames.)  The constants' names are in
pkg/constants/constants.go.  Here a process node listens on a free port of
127.0.0.1 (processes share this machine's network), so PET_MASTER_ADDR is
127.0.0.1 and PET_MASTER_PORT node 0's port; a node in a container is on its
job's own network, reached by its pod's name (`<trainjob>-node-0-0`, the
hostname JobSet gives it) at 29500, as on a cluster.

A TrainJob has no working directory field: arena-run's renderer changes to
the directory in the trainer's command (render/engines.py, `cd DIR && ...`);
locally that directory is the node's working directory, so that it is the
replica's own (the sandbox's overlay, or the image's directory) as an
operator job's workingDir is, never the host's.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, Optional

from ..objects.gpus import GPU, gpu_count
from ..objects.jobs import replica_specs
from ..objects.quantity import Quantity, QuantityError

if TYPE_CHECKING:
    from .distributed import Slot

PORT = 29500  # constants.ContainerTrainerPort


def proc_per_node(job: dict[str, Any]) -> str:
    """PET_NPROC_PER_NODE as the torch plugin computes it."""
    trainer = (job.get("spec") or {}).get("trainer") or {}
    if trainer.get("numProcPerNode") is not None:
        return str(trainer["numProcPerNode"])
    resources = trainer.get("resourcesPerNode") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    # runtime.GetNumGPUPerNode: the first resource whose name has "gpu" in it, requests before limits.
    if gpu_count(requests.get(GPU)) or gpu_count(limits.get(GPU)):
        return "auto"
    return str(max(1, _cores(requests.get("cpu")) or _cores(limits.get("cpu"))))


def _cores(value: object) -> int:
    if value is None:
        return 0
    try:
        return Quantity.parse(value).ceil()
    except QuantityError:
        return 0


def torch_env(job: dict[str, Any], all_slots: list[Slot], me: Slot) -> list[tuple[str, str]]:
    """(name, value) in the order the torch plugin appends them after the trainer's env."""
    master = all_slots[0]
    return [
        ("PET_NNODES", str(int(replica_specs(job)["Node"].get("replicas", 1)))),
        ("PET_NPROC_PER_NODE", proc_per_node(job)),
        ("PET_NODE_RANK", str(me.replica_index)),
        ("PET_MASTER_ADDR", master.host),
        ("PET_MASTER_PORT", str(master.port)),
    ]


def working_dir(job: dict[str, Any]) -> Optional[str]:
    """The directory the trainer's command starts by changing to (`sh -c "cd DIR && ..."`, as
    arena-run renders it), None when it does not."""
    command = ((job.get("spec") or {}).get("trainer") or {}).get("command") or []
    if len(command) != 3 or command[:2] != ["sh", "-c"]:
        return None
    lexer = shlex.shlex(command[2], posix=True, punctuation_chars=True)
    try:
        first = [lexer.get_token() for _ in range(3)]
    except ValueError:  # an unclosed quote: not what the renderer wrote
        return None
    if first[0] == "cd" and first[2] == "&&" and first[1]:
        return first[1]
    return None


def node_template(job: dict[str, Any]) -> dict[str, Any]:
    """The node pod's template, its container's working directory the one its command changes to."""
    template: dict[str, Any] = replica_specs(job)["Node"]["template"]
    directory = working_dir(job)
    if directory is None:
        return template
    container = {**template["spec"]["containers"][0], "workingDir": directory}
    return {**template, "spec": {**template["spec"], "containers": [container]}}

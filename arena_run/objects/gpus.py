"""How many GPUs a pod holds: one rule, the scheduler's, for status, top and local admission.

The scheduler's effective request of a pod is the larger of its largest init
container (they run one at a time, before the others) and the sum of its
containers (they run together); `nvidia.com/gpu` is an extended resource, so
its request is its limit.

A GPU count the API server refuses (not a quantity, not a whole number, or
negative: "must be an integer", "must be greater than or equal to 0") is
counted as 0 GPUs, by every caller: such a pod is never admitted on a
cluster, so it never holds a GPU, and the local target follows the same rule
rather than guessing.  `1.0` and `1e0` are whole numbers and count as 1.
"""

from __future__ import annotations

from typing import Any

from .phase import ENDED_POD_PHASES
from .quantity import Quantity, QuantityError

GPU = "nvidia.com/gpu"


def gpu_count(value: object) -> int:
    """An extended resource's quantity (8, "8", "1.0") as a count; 0 if absent or one the API server refuses."""
    if value is None:
        return 0
    try:
        quantity = Quantity.parse(value)
    except QuantityError:
        return 0
    return int(quantity.value) if quantity.whole() and quantity.value >= 0 else 0


def container_gpus(container: dict[str, Any]) -> int:
    return gpu_count(((container.get("resources") or {}).get("limits") or {}).get(GPU))


def pod_gpus(pod_spec: dict[str, Any]) -> int:
    """GPUs a pod holds: max(its largest init container, the sum of its containers)."""
    running = sum(container_gpus(c) for c in pod_spec.get("containers") or [])
    first = max((container_gpus(c) for c in pod_spec.get("initContainers") or []), default=0)
    return max(running, first)


def holds_gpus(pod: dict[str, Any]) -> bool:
    """As `arena top` counts: a pod holds its GPUs from being bound to a node until it ends."""
    return bool((pod.get("spec") or {}).get("nodeName")) and (pod.get("status") or {}).get("phase") not in ENDED_POD_PHASES

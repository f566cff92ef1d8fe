"""Pure functions from an Experiment to Kubernetes manifests (plain dicts).

No I/O and no cluster: the same file always renders the same objects, which
is what makes `render` reproducible and `plan` a pure diff.
"""

from __future__ import annotations

from typing import Any, Optional

from ..spec.model import Experiment
from .job import render_jobs
from .serving import render_serving
from .tensorboard import render_tensorboard

# Apply order, as lightkube ranks kinds: what others refer to comes first.
# Deletion runs it backwards.
KIND_ORDER = ("Service", "Deployment", "TFJob", "PyTorchJob", "MPIJob", "TrainJob", "InferenceService")


def render(exp: Experiment, namespace: Optional[str] = None) -> list[dict[str, Any]]:
    """Every object the experiment means, in apply order.

    namespace overrides the file's; with neither, objects carry none and
    land in whatever namespace they are applied to.
    """
    ns = namespace or exp.namespace
    objects: list[dict[str, Any]] = []
    if exp.job:
        objects += render_jobs(exp, ns)
    if exp.tensorboard:
        objects += render_tensorboard(exp, ns)
    if exp.serve:
        objects += render_serving(exp, ns)
    return sorted(objects, key=sort_key)


def sort_key(obj: dict[str, Any]) -> tuple[int, str, str]:
    kind = obj["kind"]
    rank = KIND_ORDER.index(kind) if kind in KIND_ORDER else len(KIND_ORDER)
    return rank, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]

"""The labels and annotations each rendered object carries (their keys: arena_run.objects.labels).

Pod templates carry them too, so every pod of an experiment can be selected at once.
"""

from __future__ import annotations

from typing import Any, Optional

from ..objects.labels import COMPONENT, EXPERIMENT, MANAGED_BY, MANAGER, SWEEP_POINT
from ..spec.model import Experiment


def selector(exp: Experiment, component: str) -> dict[str, str]:
    """The labels a Deployment selects its pods by: fixed for its lifetime."""
    return {EXPERIMENT: exp.name, COMPONENT: component}


def labels(exp: Experiment, component: str, point: Optional[str] = None) -> dict[str, str]:
    out = dict(exp.labels)
    out[MANAGED_BY] = MANAGER
    out.update(selector(exp, component))
    if point:
        out[SWEEP_POINT] = point
    return out


def metadata(exp: Experiment, name: str, namespace: Optional[str], labels: dict[str, Any], annotations: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    meta["labels"] = labels
    if annotations:
        meta["annotations"] = annotations
    return meta

"""Labels and annotations arena-run puts on what it renders.

They are how arena-run finds its objects again (status, delete, logs) and how
anyone else can tell who manages an object.  Pod templates carry them too, so
every pod of an experiment can be selected at once.
"""

from __future__ import annotations

from typing import Any, Optional

from ..spec.model import Experiment
from ..spec.names import LABEL_PREFIX, MANAGED_BY as MANAGED_BY

MANAGER = "arena-run"
PREFIX = LABEL_PREFIX
EXPERIMENT = PREFIX + "experiment"
COMPONENT = PREFIX + "component"
SWEEP_POINT = PREFIX + "sweep-point"
SWEEP_PARAMS = PREFIX + "sweep-params"  # annotation: the point's values as JSON


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

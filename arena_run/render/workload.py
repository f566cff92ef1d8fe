"""The Deployment and Service of one long-running component (TensorBoard, TF Serving)."""

from __future__ import annotations

from typing import Any, Optional

from ..spec.model import Experiment
from . import labels as L
from .pod import data_volumes


def deployment(exp: Experiment, name: str, namespace: Optional[str], component: str, replicas: int,
               container: dict[str, Any]) -> dict[str, Any]:
    """One container's Deployment, with every [[data]] volume available to it."""
    pod: dict[str, Any] = {"containers": [container]}
    # An empty list is no list to the API server: rendering one would be a
    # difference from the live object that nobody can apply away.
    if exp.data:
        pod["volumes"] = data_volumes(exp)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": L.metadata(exp, name, namespace, L.labels(exp, component)),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": L.selector(exp, component)},
            "template": {
                "metadata": {"labels": L.labels(exp, component)},
                "spec": pod,
            },
        },
    }


def service(exp: Experiment, name: str, namespace: Optional[str], component: str, type_: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    # nodePort is left to the API server: it picks a free one, and a re-apply
    # that does not set the field leaves the server's choice alone.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": L.metadata(exp, name, namespace, L.labels(exp, component)),
        "spec": {"type": type_, "selector": L.selector(exp, component), "ports": ports},
    }

"""A Service in front of one component's pods."""

from __future__ import annotations

from typing import Optional

from ..spec.model import Experiment
from . import labels as L


def service(exp: Experiment, name: str, namespace: Optional[str], component: str, type_: str, ports: list[dict]) -> dict:
    # nodePort is left to the API server: it picks a free one, and a re-apply
    # that does not set the field leaves the server's choice alone.
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": L.metadata(exp, name, namespace, L.labels(exp, component)),
        "spec": {"type": type_, "selector": L.selector(exp, component), "ports": ports},
    }

"""TensorBoard: a Deployment reading the logdir from the data volumes, and its Service."""

from __future__ import annotations

from typing import Any, Optional

from ..spec.model import Experiment
from ..spec.names import tensorboard_name
from .pod import data_mounts, resources
from . import workload

PORT = 6006


def render_tensorboard(exp: Experiment, namespace: Optional[str]) -> list[dict[str, Any]]:
    tb = exp.tensorboard
    assert tb is not None
    name = tensorboard_name(exp)
    container: dict[str, Any] = {
        "name": "tensorboard",
        "image": tb.image,
        "command": ["tensorboard", "--logdir", tb.logdir, "--host", "0.0.0.0", "--port", str(PORT)],
        "ports": [{"name": "http", "containerPort": PORT}],
    }
    res = resources(tb.cpu, tb.memory)
    if res:
        container["resources"] = res
    container["readinessProbe"] = {"httpGet": {"path": "/", "port": "http"}}
    # TensorBoard only reads: its mounts are read-only whatever the job's are.
    container["volumeMounts"] = data_mounts(exp, read_only=True)
    deployment = workload.deployment(exp, name, namespace, "tensorboard", 1, container)
    ports = [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}]
    return [deployment, workload.service(exp, name, namespace, "tensorboard", tb.service, ports)]

"""Serving the model: TF Serving or a custom server (Deployment + Service), or a KServe InferenceService."""

from __future__ import annotations

import posixpath
from typing import Any, Optional

from ..spec.model import Experiment, Serve, TF_SERVING_IMAGE
from ..spec.names import serving_name
from ..spec.rules import mount_of
from . import labels as L
from .pod import data_mounts, env_list, resources
from . import workload

GRPC_PORT = 8500
REST_PORT = 8501


def render_serving(exp: Experiment, namespace: Optional[str]) -> list[dict[str, Any]]:
    serve = exp.serve
    assert serve is not None
    if serve.type == "kserve":
        return [_inference_service(exp, serve, namespace)]
    if serve.type == "custom":
        return _custom(exp, serve, namespace)
    return _tf_serving(exp, serve, namespace)


def _model_name(exp: Experiment, serve: Serve) -> str:
    return serve.model_name or exp.name


def _tf_serving(exp: Experiment, serve: Serve, namespace: Optional[str]) -> list[dict[str, Any]]:
    name = serving_name(exp)
    model = _model_name(exp, serve)
    container: dict[str, Any] = {
        "name": "serving",
        "image": serve.image or TF_SERVING_IMAGE,
        "command": ["tensorflow_model_server"],
        "args": [
            f"--port={GRPC_PORT}",
            f"--rest_api_port={REST_PORT}",
            f"--model_name={model}",
            f"--model_base_path={serve.model_path}",
        ],
        "ports": [
            {"name": "grpc", "containerPort": GRPC_PORT},
            {"name": "http", "containerPort": REST_PORT},
        ],
    }
    res = resources(serve.cpu, serve.memory, serve.gpus)
    if res:
        container["resources"] = res
    # Ready once the model is loaded, not merely once the process is up.
    container["readinessProbe"] = {"httpGet": {"path": f"/v1/models/{model}", "port": "http"}}
    container["volumeMounts"] = data_mounts(exp, read_only=True)
    deployment = workload.deployment(exp, name, namespace, "serving", serve.replicas, container)
    ports = [
        {"name": "grpc", "port": GRPC_PORT, "targetPort": "grpc", "protocol": "TCP"},
        {"name": "http", "port": REST_PORT, "targetPort": "http", "protocol": "TCP"},
    ]
    return [deployment, workload.service(exp, name, namespace, "serving", serve.service, ports)]


def _custom(exp: Experiment, serve: Serve, namespace: Optional[str]) -> list[dict[str, Any]]:
    """Arena's `serve custom`: your server's image on your port."""
    name = serving_name(exp)
    assert serve.image is not None and serve.port is not None
    container: dict[str, Any] = {"name": "serving", "image": serve.image}
    if serve.command:
        container["command"] = ["sh", "-c", serve.command]
    if serve.env:
        container["env"] = env_list(serve.env)
    container["ports"] = [{"name": "serving", "containerPort": serve.port}]
    res = resources(serve.cpu, serve.memory, serve.gpus)
    if res:
        container["resources"] = res
    # Available once it accepts connections: all that is known of any server.
    container["readinessProbe"] = {"tcpSocket": {"port": "serving"}}
    if exp.data:
        container["volumeMounts"] = data_mounts(exp, read_only=True)
    deployment = workload.deployment(exp, name, namespace, "serving", serve.replicas, container)
    ports = [{"name": "serving", "port": serve.port, "targetPort": "serving", "protocol": "TCP"}]
    return [deployment, workload.service(exp, name, namespace, "serving", serve.service, ports)]


def storage_uri(exp: Experiment, serve: Serve) -> str:
    """The model's URI; a model_path on a PVC mount becomes pvc://<claim>/<path>."""
    if serve.storage_uri:
        return serve.storage_uri
    assert serve.model_path is not None
    data = mount_of(serve.model_path, exp.data)
    assert data is not None and data.pvc is not None
    rel = posixpath.relpath(posixpath.normpath(serve.model_path), posixpath.normpath(data.mount))
    inside = posixpath.normpath(posixpath.join(data.sub_path or "", "" if rel == "." else rel))
    return f"pvc://{data.pvc}" + ("" if inside in (".", "") else f"/{inside}")


def _inference_service(exp: Experiment, serve: Serve, namespace: Optional[str]) -> dict[str, Any]:
    fmt: dict[str, Any] = {"name": serve.model_format}
    if serve.model_format_version:
        fmt["version"] = serve.model_format_version
    model: dict[str, Any] = {"modelFormat": fmt}
    if serve.runtime:
        model["runtime"] = serve.runtime
    model["storageUri"] = storage_uri(exp, serve)
    res = resources(serve.cpu, serve.memory, serve.gpus)
    if res:
        model["resources"] = res
    low = serve.min_replicas if serve.min_replicas is not None else 1
    predictor: dict[str, Any] = {
        "minReplicas": low,
        "maxReplicas": serve.max_replicas if serve.max_replicas is not None else max(low, 1),
        # KServe copies these onto the predictor's pods.
        "labels": L.labels(exp, "serving"),
        "model": model,
    }
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": L.metadata(exp, serving_name(exp), namespace, L.labels(exp, "serving")),
        "spec": {"predictor": predictor},
    }

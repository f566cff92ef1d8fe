"""`data list`: the PVCs of a namespace and which experiments mount them.

An experiment mounts a claim when the pod template of one of its jobs or
Deployments (TensorBoard, TF Serving) names it, when its KServe
InferenceService reads `pvc://<claim>/...`, or when its recorded file
(the ApplySet parent's) lists it under [[data]], so an experiment whose
finished job is gone still counts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

from ..objects.applyset import EXPERIMENT_KEY
from ..objects.jobs import JOB_KIND_NAMES, replica_specs
from ..objects.kinds import JOB_GROUP_KINDS
from ..objects.labels import EXPERIMENT, MANAGED
from ..objects.reader import Reader
from .top import list_kinds

ACCESS = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


@dataclass
class Claim:
    name: str
    namespace: str
    capacity: str
    access_modes: list[str]
    status: str
    storage_class: str
    volume: str
    experiments: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _claims_in_pod_spec(spec: dict[str, Any]) -> set[str]:
    return {v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes") or []
            if (v.get("persistentVolumeClaim") or {}).get("claimName")}


def mounted_claims(obj: dict[str, Any]) -> set[str]:
    """Claims a live workload (a training job, Deployment, InferenceService) mounts."""
    kind = obj.get("kind")
    if kind in JOB_KIND_NAMES:
        return set().union(*[_claims_in_pod_spec((r.get("template") or {}).get("spec") or {})
                             for r in replica_specs(obj).values()])
    if kind == "Deployment":
        return _claims_in_pod_spec((((obj.get("spec") or {}).get("template") or {}).get("spec")) or {})
    if kind == "InferenceService":
        found = set()
        predictor = ((obj.get("spec") or {}).get("predictor")) or {}
        for part in predictor.values():
            uri = part.get("storageUri", "") if isinstance(part, dict) else ""
            if uri.startswith("pvc://"):
                found.add(uri[len("pvc://"):].split("/", 1)[0])
        return found
    return set()


def recorded_claims(parent: dict[str, Any]) -> set[str]:
    """Claims the experiment file recorded in its parent lists under [[data]]."""
    try:
        exp = json.loads((parent.get("data") or {}).get(EXPERIMENT_KEY) or "{}")
    except ValueError:
        return set()
    return {d["pvc"] for d in exp.get("data") or [] if isinstance(d, dict) and d.get("pvc")}


def claim_usage(pvcs: list[dict[str, Any]], parents: list[dict[str, Any]], workloads: list[dict[str, Any]]) -> list[Claim]:
    users: dict[tuple[Optional[str], str], set[str]] = {}
    for obj in workloads:
        meta = obj["metadata"]
        exp = (meta.get("labels") or {}).get(EXPERIMENT)
        if exp:
            for claim in mounted_claims(obj):
                users.setdefault((meta.get("namespace"), claim), set()).add(exp)
    for parent in parents:
        meta = parent["metadata"]
        exp = (meta.get("labels") or {}).get(EXPERIMENT)
        if exp:
            for claim in recorded_claims(parent):
                users.setdefault((meta.get("namespace"), claim), set()).add(exp)
    out = []
    for pvc in pvcs:
        meta, spec, status = pvc["metadata"], pvc.get("spec") or {}, pvc.get("status") or {}
        capacity = (status.get("capacity") or {}).get("storage") or \
            ((spec.get("resources") or {}).get("requests") or {}).get("storage") or "-"
        modes = status.get("accessModes") or spec.get("accessModes") or []
        out.append(Claim(
            name=meta["name"], namespace=meta.get("namespace", ""), capacity=str(capacity),
            access_modes=[ACCESS.get(m, m) for m in modes], status=status.get("phase") or "Pending",
            storage_class=spec.get("storageClassName") or "-", volume=spec.get("volumeName") or "-",
            experiments=sorted(users.get((meta.get("namespace"), meta["name"]), ())),
        ))
    return sorted(out, key=lambda c: (c.namespace, c.name))


def read_claims(cluster: Reader, namespace: Optional[str]) -> list[Claim]:
    selector = MANAGED
    pvcs, parents, *kinds = list_kinds(cluster, [
        ("PersistentVolumeClaim", namespace, None), ("ConfigMap", namespace, f"{selector},{EXPERIMENT}"),
        *((gk, namespace, selector) for gk in (*JOB_GROUP_KINDS, "Deployment.apps", "InferenceService.serving.kserve.io"))])
    return claim_usage(pvcs, parents, [w for items in kinds for w in items])

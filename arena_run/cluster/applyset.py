"""ApplySets (KEP-3659) as kubectl implements them: one parent per experiment.

The parent is a ConfigMap `arena-run-<name>` (a ConfigMap, not a Secret, so a
data scientist who may not read Secrets can still apply and list).  Members
carry `applyset.kubernetes.io/part-of: <id>`; kubectl recognises the set
(`KUBECTL_APPLYSET=true kubectl apply --prune --applyset=configmap/arena-run-<name>`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Iterable, Optional

from .. import __version__
from .kinds import KINDS, Kind

PARENT_KIND: Kind = KINDS["ConfigMap"]
ID_LABEL = "applyset.kubernetes.io/id"
PART_OF = "applyset.kubernetes.io/part-of"
TOOLING = "applyset.kubernetes.io/tooling"
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
TOOL = "arena-run"

# What the parent remembers about the experiment, so `status` and `delete`
# work without the file, and a job its TTL removed is not re-run.
SOURCE = "arena-run.io/source"
SPEC_HASH = "arena-run.io/spec-hash"
JOBS = "arena-run.io/jobs"
EXPERIMENT_KEY = "experiment.json"


def parent_name(experiment: str) -> str:
    return f"arena-run-{experiment}"


def applyset_id(name: str, namespace: str, kind: str = PARENT_KIND.kind, group: str = PARENT_KIND.group) -> str:
    """kubectl's formula: applyset-<base64url(sha256(name.namespace.Kind.group)), unpadded>-v1."""
    digest = hashlib.sha256(f"{name}.{namespace}.{kind}.{group}".encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


def parent_manifest(experiment: str, namespace: str, group_kinds: Iterable[str], *, source: str,
                    spec_hash: str, jobs: dict, spec_json: str, labels: dict) -> dict:
    name = parent_name(experiment)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, ID_LABEL: applyset_id(name, namespace)},
            "annotations": {
                TOOLING: f"{TOOL}/{__version__}",
                GROUP_KINDS: ",".join(sorted(set(group_kinds))),
                SOURCE: source,
                SPEC_HASH: spec_hash,
                JOBS: json.dumps(jobs, sort_keys=True, separators=(",", ":")),
            },
        },
        "data": {EXPERIMENT_KEY: spec_json},
    }


def group_kinds_of(parent: Optional[dict]) -> list[str]:
    if not parent:
        return []
    text = (parent["metadata"].get("annotations") or {}).get(GROUP_KINDS, "")
    return [g for g in text.split(",") if g]


def recorded_jobs(parent: Optional[dict]) -> dict:
    """Job name -> hash of the spec last applied, as the parent recorded it."""
    if not parent:
        return {}
    try:
        return json.loads((parent["metadata"].get("annotations") or {}).get(JOBS, "{}"))
    except ValueError:
        return {}


def foreign_tooling(parent: dict) -> Optional[str]:
    """The other tool that owns this parent, if it is not arena-run's."""
    tooling = (parent["metadata"].get("annotations") or {}).get(TOOLING, "")
    return None if tooling.split("/")[0] == TOOL else (tooling or "no tooling annotation")

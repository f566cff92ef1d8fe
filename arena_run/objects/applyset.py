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
from typing import Any, Iterable, Optional

from .._version import __version__
from .kinds import KINDS, Kind

# The parent's kind: a ConfigMap in the core group.
PARENT_KIND: Kind = KINDS["ConfigMap"]
ID_LABEL = "applyset.kubernetes.io/id"
PART_OF = "applyset.kubernetes.io/part-of"
TOOLING = "applyset.kubernetes.io/tooling"
GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds"
TOOL = "arena-run"
FIELD_MANAGER = TOOL  # server-side apply's field manager: whose managedFields entry is arena-run's

# What the parent remembers about the experiment, so `status` and `delete`
# work without the file, and a job its TTL removed is not re-run.
SOURCE = "arena-run.io/source"  # the file, relative to its repository: the same in every checkout
SPEC_HASH = "arena-run.io/spec-hash"
# Jobs seen finished (name -> hash of their spec).  Only these may be missing
# "because their TTL removed them"; a job deleted while it ran is re-created.
# (arena-run 0.1.0 recorded every applied job under arena-run.io/jobs, which
# cannot tell the two apart; that record is no longer read.)
FINISHED_JOBS = "arena-run.io/finished-jobs"
EXPERIMENT_KEY = "experiment.json"


def parent_name(experiment: str) -> str:
    return f"arena-run-{experiment}"


def spec_hash(obj: Any) -> str:
    """The hash the parent records of a spec (the experiment's, a finished job's): canonical JSON, sha256."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def applyset_id(name: str, namespace: str, kind: str = PARENT_KIND.kind, group: str = PARENT_KIND.group) -> str:
    """kubectl's formula: applyset-<base64url(sha256(name.namespace.Kind.group)), unpadded>-v1."""
    digest = hashlib.sha256(f"{name}.{namespace}.{kind}.{group}".encode()).digest()
    return "applyset-" + base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-v1"


def parent_manifest(experiment: str, namespace: str, group_kinds: Iterable[str], *, source: str,
                    spec_hash: str, finished: dict[str, Any], spec_json: str, labels: dict[str, Any]) -> dict[str, Any]:
    name = parent_name(experiment)
    return {
        "apiVersion": PARENT_KIND.api_version,
        "kind": PARENT_KIND.kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {**labels, ID_LABEL: applyset_id(name, namespace)},
            "annotations": {
                TOOLING: f"{TOOL}/{__version__}",
                GROUP_KINDS: ",".join(sorted(set(group_kinds))),
                SOURCE: source,
                SPEC_HASH: spec_hash,
                FINISHED_JOBS: json.dumps(finished, sort_keys=True, separators=(",", ":")),
            },
        },
        "data": {EXPERIMENT_KEY: spec_json},
    }


def group_kinds_of(parent: Optional[dict[str, Any]]) -> list[str]:
    if not parent:
        return []
    text = (parent["metadata"].get("annotations") or {}).get(GROUP_KINDS, "")
    return [g for g in text.split(",") if g]


def finished_jobs(parent: Optional[dict[str, Any]]) -> dict[str, Any]:
    """Job name -> hash of its spec, for the jobs an apply saw finished."""
    if not parent:
        return {}
    try:
        record = json.loads((parent["metadata"].get("annotations") or {}).get(FINISHED_JOBS, "{}"))
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def version_of(text: str) -> Optional[tuple[int, ...]]:
    """`0.2.0` as (0, 2, 0); None for text that is no release number."""
    parts = text.split(".")
    return tuple(int(p) for p in parts) if parts and all(p.isdigit() for p in parts) else None


def written_by(parent: Optional[dict[str, Any]]) -> Optional[str]:
    """The arena-run version that last wrote the parent (its tooling annotation, `arena-run/0.2.0`)."""
    if not parent:
        return None
    tool, _, version = ((parent["metadata"].get("annotations") or {}).get(TOOLING, "")).partition("/")
    return version if tool == TOOL and version else None


def newer_writer(parent: Optional[dict[str, Any]]) -> Optional[str]:
    """The version that wrote the parent when it is newer than this arena-run: it may record what this
    one cannot read back, so this one must not write over it."""
    recorded = written_by(parent)
    theirs, ours = version_of(recorded or ""), version_of(__version__)
    return recorded if theirs is not None and ours is not None and theirs > ours else None


def foreign_tooling(parent: dict[str, Any]) -> Optional[str]:
    """The other tool that owns this parent, if it is not arena-run's."""
    tooling = (parent["metadata"].get("annotations") or {}).get(TOOLING, "")
    return None if tooling.split("/")[0] == TOOL else (tooling or "no tooling annotation")

"""Kinds arena-run has no table entry for, found through API discovery.

A parent written by a newer arena-run may record group-kinds this version
does not know; `delete` must still find and delete those members rather than
orphan them, so it asks the API server where such a kind is served.
"""

from __future__ import annotations

from typing import Optional

from ..objects.kinds import KINDS, Kind
from .errors import ClusterError
from .verbs import Cluster


def resolve(cluster: Cluster, group_kind: str) -> Optional[Kind]:
    """The Kind of `Kind.group`, or None when the cluster does not serve it (so no object of it exists)."""
    if group_kind in KINDS:
        return KINDS[group_kind]
    kind, _, group = group_kind.partition(".")
    try:
        if group:
            found = cluster.transport.request("GET", f"/apis/{group}") or {}
            version = (found.get("preferredVersion") or {}).get("version")
            if not version:
                return None
            resources = cluster.transport.request("GET", f"/apis/{group}/{version}") or {}
        else:
            version, resources = "v1", cluster.transport.request("GET", "/api/v1") or {}
    except ClusterError as exc:
        if exc.status == 404:
            return None
        raise
    for r in resources.get("resources") or []:
        if r.get("kind") == kind and "/" not in r.get("name", ""):
            return Kind(kind, group, version, r["name"], bool(r.get("namespaced", True)))
    return None

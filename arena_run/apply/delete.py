"""Finding what an experiment has on the cluster, and deleting it: every member, then its parent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional

from ..cluster import Cluster
from ..cluster.discovery import resolve
from ..objects.applyset import PARENT_KIND, PART_OF, applyset_id, group_kinds_of, parent_name
from ..objects.keys import Key
from ..objects.kinds import Kind
from .events import Gone, Listener, Waiting, tell
from .writes import POOL


@dataclass
class Found:
    """An experiment on a target: its ApplySet parent and members (parent None: nothing there)."""

    name: str
    namespace: str
    parent: Optional[dict[str, Any]] = None
    members: list[tuple[Kind, dict[str, Any]]] = field(default_factory=list)

    @property
    def exists(self) -> bool:
        return self.parent is not None

    def objects(self) -> list[tuple[str, str]]:
        """(kind, name) of what deleting it removes, the parent last."""
        out = [(kind.kind, obj["metadata"]["name"]) for kind, obj in self.members]
        if self.parent is not None:
            out.append(("ConfigMap", self.parent["metadata"]["name"]))
        return out


def find_experiment(cluster: Cluster, name: str, namespace: str, extra_kinds: tuple[str, ...] = ()) -> Found:
    """The experiment's parent and members: one GET of the parent, one LIST per member kind."""
    parent = cluster.get(PARENT_KIND, namespace, parent_name(name))
    if parent is None:
        return Found(name, namespace)
    set_id = applyset_id(parent_name(name), namespace)
    members: list[tuple[Kind, dict[str, Any]]] = []
    for gk in sorted(set(group_kinds_of(parent)) | set(extra_kinds)):
        # A kind recorded by a newer arena-run is found by discovery, so its
        # members are deleted too rather than orphaned with their parent gone.
        kind = resolve(cluster, gk)
        if kind is not None:
            members += [(kind, obj) for obj in cluster.list(kind, namespace, selector=f"{PART_OF}={set_id}")]
    return Found(name, namespace, parent, members)


def delete_experiment(cluster: Cluster, found: Found, *, wait: bool = False, timeout: float = 300,
                      progress: Listener = None) -> list[Key]:
    """Delete every member, then the parent; returns the members' keys (nothing when it has no parent)."""
    if found.parent is None:
        return []
    propagation = "Foreground" if wait else "Background"

    def remove(item: tuple[Kind, dict[str, Any]]) -> Key:
        kind, obj = item
        meta = obj["metadata"]
        cluster.delete(kind, meta.get("namespace"), meta["name"], uid=meta.get("uid"), propagation=propagation)
        key = (kind.group_kind, meta.get("namespace"), meta["name"])
        if wait:
            tell(progress, Waiting(key, "foreground deletion: its dependents, such as pods, go first"))
            cluster.wait_gone(kind, meta.get("namespace"), meta["name"], meta.get("uid"), timeout=timeout)
            tell(progress, Gone(key))
        return key

    with ThreadPoolExecutor(max_workers=POOL) as pool:
        deleted = list(pool.map(remove, found.members))
    # The parent last: while any member may remain, it is what finds them.
    meta = found.parent["metadata"]
    cluster.delete(PARENT_KIND, meta.get("namespace"), meta["name"], uid=meta.get("uid"))
    return deleted

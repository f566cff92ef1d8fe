"""Reading what an experiment has on the cluster: the parent, its members, clashes.

The floor is one LIST per kind and namespace: members are listed by their
part-of label; only for kinds where something is about to be created is the
namespace listed again (names and labels only) to find objects arena-run
does not own but would collide with.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from .applyset import PARENT_KIND, PART_OF, applyset_id, group_kinds_of, parent_name
from .client import Cluster
from .kinds import KINDS, kind_of

Key = tuple  # (group_kind, namespace, name)


def key_of(obj: dict) -> Key:
    meta = obj["metadata"]
    return (kind_of(obj).group_kind, meta.get("namespace"), meta["name"])


class Live(NamedTuple):
    parent: Optional[dict]
    members: dict  # Key -> live object
    foreign: dict  # Key -> metadata of a non-member with a desired object's name


def read_live(cluster: Cluster, experiment: str, namespace: str, desired: list[dict]) -> Live:
    parent = cluster.get(PARENT_KIND, namespace, parent_name(experiment))
    set_id = applyset_id(parent_name(experiment), namespace)
    kinds = {kind_of(o).group_kind for o in desired} | set(group_kinds_of(parent))
    members: dict = {}
    if parent is not None:
        for gk in sorted(kinds):
            kind = KINDS.get(gk)
            if kind is None:
                continue  # a kind recorded by a newer arena-run: nothing this one can do with it
            for obj in cluster.list(kind, namespace, selector=f"{PART_OF}={set_id}"):
                members[key_of(obj)] = obj
    foreign: dict = {}
    missing = [o for o in desired if key_of(o) not in members]
    for gk in sorted({kind_of(o).group_kind for o in missing}):
        names = {o["metadata"]["name"] for o in missing if kind_of(o).group_kind == gk}
        for obj in cluster.list(KINDS[gk], namespace, metadata_only=True):
            if obj["metadata"]["name"] in names:
                obj["apiVersion"], obj["kind"] = KINDS[gk].api_version, KINDS[gk].kind
                foreign[(gk, namespace, obj["metadata"]["name"])] = obj
    return Live(parent, members, foreign)

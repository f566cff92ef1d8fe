"""Reading what experiments have on a target (a cluster, or this machine): parents, members, clashes.

The floor is one LIST per kind and namespace.  For one experiment, its
members are listed by their part-of label; for several in a namespace, each
kind is listed once (by the managed-by label) and split by part-of here, so
applying a directory of 100 experiments reads no more often than one.  Only
for kinds where something is about to be created is the namespace listed
again (names and labels only) to find objects arena-run does not own but
would collide with.
"""

from __future__ import annotations

from typing import Any

from .applyset import ID_LABEL, PARENT_KIND, PART_OF, applyset_id, group_kinds_of, parent_name
from .keys import Key, Live, key_of
from .kinds import KINDS, kind_of
from .reader import Reader


def read_live(target: Reader, experiment: str, namespace: str, desired: list[dict[str, Any]]) -> Live:
    return read_many(target, [(experiment, namespace, desired)])[(namespace, experiment)]


def read_many(target: Reader, wanted: list[tuple[str, str, list[dict[str, Any]]]]) -> dict[tuple[str, str], Live]:
    """{(namespace, name): Live} for [(name, namespace, desired objects)]."""
    out = {}
    by_namespace: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {}
    for name, ns, desired in wanted:
        by_namespace.setdefault(ns, []).append((name, desired))
    for ns, items in by_namespace.items():
        if len(items) == 1:
            (name, desired), = items
            parents = {name: target.get(PARENT_KIND, ns, parent_name(name))}
        else:
            listed = {o["metadata"]["name"]: o for o in target.list(PARENT_KIND, ns, selector=ID_LABEL)}
            parents = {name: listed.get(parent_name(name)) for name, _ in items}
        kinds = set()
        for name, desired in items:
            if parents[name] is not None:
                kinds |= {kind_of(o).group_kind for o in desired} | set(group_kinds_of(parents[name]))
        members: dict[str, dict[Key, dict[str, Any]]] = {name: {} for name, _ in items}
        ids = {applyset_id(parent_name(name), ns): name for name, _ in items if parents[name] is not None}
        for gk in sorted(k for k in kinds if k in KINDS):
            # kinds a newer arena-run recorded but this one does not know are left alone
            if len(items) == 1:
                (set_id,) = ids or [None]
                found = target.list(KINDS[gk], ns, selector=f"{PART_OF}={set_id}") if set_id else []
            else:
                found = target.list(KINDS[gk], ns, selector=PART_OF)
            for obj in found:
                owner = ids.get((obj["metadata"].get("labels") or {}).get(PART_OF) or "")
                if owner is not None:
                    members[owner][key_of(obj)] = obj
        foreign = _foreign(target, ns, [o for name, desired in items for o in desired
                                         if key_of(o) not in members[name]])
        for name, _ in items:
            out[(ns, name)] = Live(parents[name], members[name], foreign)
    return out


def _foreign(target: Reader, namespace: str, missing: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    foreign: dict[Key, dict[str, Any]] = {}
    for gk in sorted({kind_of(o).group_kind for o in missing}):
        names = {o["metadata"]["name"] for o in missing if kind_of(o).group_kind == gk}
        for obj in target.list(KINDS[gk], namespace, metadata_only=True):
            if obj["metadata"]["name"] in names:
                obj["apiVersion"], obj["kind"] = KINDS[gk].api_version, KINDS[gk].kind
                foreign[(gk, namespace, obj["metadata"]["name"])] = obj
    return foreign

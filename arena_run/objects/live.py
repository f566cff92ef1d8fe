"""Reading what experiments have on a target (a cluster, or this machine): parents, members, clashes.

The floor is one LIST per kind and namespace.  For one experiment, its
members are listed by their part-of label; for several in a namespace, each
kind is listed once (by the managed-by label) and split by part-of here, so
applying a directory of 100 experiments reads no more often than one.  Only
for kinds where something is about to be created is the namespace listed
again (names and labels only) to find objects arena-run does not own but
would collide with.

Two round trips at most, whatever the number of kinds: the parents and the
members of every kind the files render go side by side (a directory applied
before, the common case, needs them all; for a first apply they come back
empty, in the same round trip), then, side by side again, the members of
kinds only a parent records (what a prune deletes) and the namesakes of what
is missing.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar

from .applyset import ID_LABEL, PARENT_KIND, PART_OF, applyset_id, group_kinds_of, parent_name
from ..spec.errors import UserError
from .keys import Key, Live, LocalQueues, key_of
from .kinds import KINDS, kind_of
from .kueue import LOCAL_QUEUE, queue_of
from .reader import Reader

T = TypeVar("T")



def read_live(target: Reader, experiment: str, namespace: str, desired: list[dict[str, Any]]) -> Live:
    return read_many(target, [(experiment, namespace, desired)])[(namespace, experiment)]


def read_many(target: Reader, wanted: list[tuple[str, str, list[dict[str, Any]]]], *,
              queues: bool = False) -> dict[tuple[str, str], Live]:
    """{(namespace, name): Live} for [(name, namespace, desired objects)].

    queues: also list the namespace's Kueue LocalQueues where a desired job names one (a cluster's
    check that the queue exists), in the first round trip beside the rest."""
    by_namespace: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {}
    for name, ns, desired in wanted:
        by_namespace.setdefault(ns, []).append((name, desired))
    out = {}
    for ns, items in by_namespace.items():
        out.update(_read_namespace(target, ns, items, queues))
    return out


def side_by_side(reader: Reader, calls: list[Callable[[], T]]) -> list[T]:
    """Each call's result, in order; concurrently on a cluster (its transport bounds
    the requests in flight), one after another on a target without `concurrency`."""
    width = min(len(calls), getattr(reader, "concurrency", 1))
    if width <= 1:
        return [call() for call in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=width) as pool:
        return list(pool.map(lambda call: call(), calls))


def _read_namespace(target: Reader, ns: str, items: list[tuple[str, list[dict[str, Any]]]], queues: bool
                    ) -> dict[tuple[str, str], Live]:
    single = len(items) == 1

    def parents_of() -> dict[str, Optional[dict[str, Any]]]:
        if single:
            (name, _), = items
            return {name: target.get(PARENT_KIND, ns, parent_name(name))}
        listed = {o["metadata"]["name"]: o for o in target.list(PARENT_KIND, ns, selector=ID_LABEL)}
        return {name: listed.get(parent_name(name)) for name, _ in items}

    def members_of(gk: str) -> Callable[[], list[dict[str, Any]]]:
        selector = f"{PART_OF}={applyset_id(parent_name(items[0][0]), ns)}" if single else PART_OF
        return lambda: target.list(KINDS[gk], ns, selector=selector)

    rendered = sorted({kind_of(o).group_kind for _, desired in items for o in desired})
    calls: list[Callable[[], Any]] = [parents_of, *(members_of(gk) for gk in rendered)]
    named = queues and any(queue_of(o) for _, desired in items for o in desired)
    if named:
        calls.append(lambda: _local_queues(target, ns))
    first = side_by_side(target, calls)
    parents: dict[str, Optional[dict[str, Any]]] = first[0]
    listed: dict[str, list[dict[str, Any]]] = dict(zip(rendered, first[1:1 + len(rendered)]))
    local_queues: Optional[LocalQueues] = first[-1] if named else None
    # Kinds a parent records that no file renders now: what a prune would delete.
    # Kinds a newer arena-run recorded but this one does not know are left alone.
    recorded = sorted({gk for name, _ in items if parents[name] is not None
                       for gk in group_kinds_of(parents[name])} - set(rendered))
    recorded = [gk for gk in recorded if gk in KINDS]
    ids = {applyset_id(parent_name(name), ns): name for name, _ in items if parents[name] is not None}
    members: dict[str, dict[Key, dict[str, Any]]] = {name: {} for name, _ in items}

    def take(found: list[dict[str, Any]]) -> None:
        for obj in found:
            owner = ids.get((obj["metadata"].get("labels") or {}).get(PART_OF) or "")
            if owner is not None:
                members[owner][key_of(obj)] = obj

    for found in listed.values():
        take(found)
    missing = [o for name, desired in items for o in desired if key_of(o) not in members[name]]
    missing_kinds = sorted({kind_of(o).group_kind for o in missing})
    second = side_by_side(target, [*(members_of(gk) for gk in recorded),
                                    *(_names_of(target, ns, gk) for gk in missing_kinds)])
    for found in second[:len(recorded)]:
        take(found)
    foreign: dict[Key, dict[str, Any]] = {}
    for gk, found in zip(missing_kinds, second[len(recorded):]):
        names = {o["metadata"]["name"] for o in missing if kind_of(o).group_kind == gk}
        for obj in found:
            if obj["metadata"]["name"] in names:
                obj["apiVersion"], obj["kind"] = KINDS[gk].api_version, KINDS[gk].kind
                foreign[(gk, ns, obj["metadata"]["name"])] = obj
    return {(ns, name): Live(parents[name], members[name], foreign, local_queues) for name, _ in items}


def _local_queues(target: Reader, namespace: str) -> Optional[LocalQueues]:
    """The namespace's LocalQueues; None where this user may not list them (nothing can be said)."""
    try:
        found = target.list(LOCAL_QUEUE, namespace)
    except UserError as exc:  # a cluster's ClusterError, with the answer's status (this layer imports no target)
        status = getattr(exc, "status", None)
        if status == 404:  # no such kind served; or no such namespace yet, so no queue in it either
            return LocalQueues(getattr(exc, "reason", "") == "NotFound-namespace", {})
        if status == 403:
            return None
        raise
    return LocalQueues(True, {str(q["metadata"]["name"]): q for q in found})


def _names_of(target: Reader, namespace: str, gk: str) -> Callable[[], list[dict[str, Any]]]:
    """Every object of a kind in the namespace, names and labels only."""
    return lambda: target.list(KINDS[gk], namespace, metadata_only=True)

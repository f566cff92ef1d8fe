"""A small, pure diff of the fields arena-run sets against a live object.

Only the paths present in the desired object are compared: whatever the API
server defaulted, and whatever other managers own, is not arena-run's to
judge.  Lists of objects are matched by their merge key (`name`, `mountPath`,
`containerPort`, `port`), as server-side apply merges them; other lists are
compared whole.

Values compare literally: `"1.10"` is not `"1.1"`.  Only resource quantities
(`resources.requests`/`limits`, `overhead`, an emptyDir's `sizeLimit`) of
built-in kinds, which the API server itself normalises (`0.5` is served back
as `500m`), compare by value; a custom resource (a TFJob) keeps the text it
was sent, so there they compare literally too (`normalised=False`).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union

from ..objects.quantity import same_quantity

MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<absent>"})()

# A step through a list: the item's index in the live list and, for keyed
# lists, the key that identifies it.
class Item(NamedTuple):
    # Not `index`: a field of that name would hide tuple.index, which every
    # tuple has (mypy rightly refuses the override).
    position: int
    key: Optional[tuple[str, Any]]  # (field, value) or None


Path = tuple[Union[str, Item], ...]


class Change(NamedTuple):
    path: Path
    old: Any  # MISSING when the field is new
    new: Any  # MISSING when the field goes away


# `manager`: the entries of a TrainJob's runtimePatches, each tool its own (Kueue adds one).
_MERGE_KEYS = ("name", "mountPath", "containerPort", "port", "manager")


def diff(desired: Any, live: Any, path: Path = (), normalised: bool = True) -> list[Change]:
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return [Change(path, live, desired)]
        out: list[Change] = []
        for key, value in desired.items():
            out += diff(value, live.get(key, MISSING), path + (key,), normalised)
        return out
    if isinstance(desired, list):
        if not isinstance(live, list):
            return [Change(path, live, desired)]
        key = merge_key(desired)
        if key is None:
            return [] if same_list(desired, live, path, normalised) else [Change(path, live, desired)]
        out = []
        by_key = {item.get(key): (i, item) for i, item in enumerate(live) if isinstance(item, dict)}
        for item in desired:
            index, current = by_key.get(item[key], (-1, MISSING))
            out += diff(item, current, path + (Item(index, (key, item[key])),), normalised)
        return out
    return [] if same_value(desired, live, path, normalised) else [Change(path, live, desired)]


def merge_key(items: list[Any]) -> Optional[str]:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for key in _MERGE_KEYS:
        values = [i.get(key) for i in items]
        if all(v is not None for v in values) and len(set(map(repr, values))) == len(values):
            return key
    return None


def same_list(desired: list[Any], live: list[Any], path: Path = (), normalised: bool = True) -> bool:
    if len(desired) != len(live):
        return False
    return all(not diff(d, l, path + (Item(i, None),), normalised) for i, (d, l) in enumerate(zip(desired, live)))


def same_value(desired: Any, live: Any, path: Path = (), normalised: bool = True) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if desired == live and isinstance(desired, str) == isinstance(live, str):
        return True  # 1 == 1.0, but "1" is not 1
    if not (normalised and is_quantity(path)):
        return False
    return same_quantity(desired, live)


def is_quantity(path: Path) -> bool:
    """Whether the API server normalises the value at path as a resource quantity."""
    names = [step for step in path if isinstance(step, str)]
    if len(names) >= 2 and names[-2] == "overhead":
        return True
    if names and names[-1] == "sizeLimit":
        return True
    # resourcesPerNode: a TrainJob's (a custom resource: compared literally, but a respelling is no restart)
    return len(names) >= 3 and names[-3] in ("resources", "resourcesPerNode") and names[-2] in ("requests", "limits")


def same_whole(desired: Any, live: Any, path: Path = (), normalised: bool = True) -> bool:
    """Equal in every field both ways: what an atomic field (owned as a whole) must be."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and desired.keys() == live.keys() and \
            all(same_whole(v, live[k], path + (k,), normalised) for k, v in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(desired) == len(live) and \
            all(same_whole(d, l, path + (Item(i, None),), normalised) for i, (d, l) in enumerate(zip(desired, live)))
    return same_value(desired, live, path, normalised)


def equivalent_quantities(change: Change) -> bool:
    """A change of a quantity's text only (`0.5` to `500m`): same value, different spelling."""
    if not is_quantity(change.path) or change.old is MISSING or change.new is MISSING:
        return False
    return same_quantity(change.old, change.new)


def format_path(path: Path) -> str:
    out = ""
    for step in path:
        if isinstance(step, Item):
            if step.key is None:
                out += f"[{step.position}]"
            else:  # a keyed item, or a set's value (no field name)
                out += f"[{step.key[0]}={step.key[1]}]" if step.key[0] else f"[{step.key[1]}]"
        else:
            out += ("." if out else "") + str(step)
    return out

"""What applying the desired object takes away: read from arena-run's own managedFields entry.

Server-side apply removes a field when the manager that applied it stops
applying it and no other manager owns it.  So the removals a plan shows come
from the live object's `metadata.managedFields` entry of manager arena-run,
operation Apply (its fieldsV1 set), never from an earlier render: an apply
interrupted after the parent was rewritten, or a file edited twice between
applies, still shows every field arena-run set and no longer sets.  A field
another manager co-owns stays on the object, so it is no removal; the old
value shown is the live one.

A field arena-run owns as a whole (an atomic list such as `command`, or a
granular map someone made atomic) is replaced whole: it changes when the
desired value differs in any part, not only in the parts the desired object
names.
"""

from __future__ import annotations

import json
from typing import Any, Optional, Union

from .diff import MISSING, Change, Item, Path, same_whole
from ..objects.applyset import FIELD_MANAGER
from .owners import other_owners


def own_fields(live: dict[str, Any], manager: str = FIELD_MANAGER) -> Optional[dict[str, Any]]:
    """The fieldsV1 set the manager's Apply entry owns, or None when it has none."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" \
                and not entry.get("subresource") and isinstance(entry.get("fieldsV1"), dict):
            fields: dict[str, Any] = entry["fieldsV1"]
            return fields
    return None


def owned_changes(desired: dict[str, Any], live: dict[str, Any], normalised: bool = True) -> list[Change]:
    """Fields arena-run owns on live that applying desired removes, or replaces as a whole."""
    fields = own_fields(live)
    if fields is None:
        return []
    out: list[Change] = []
    _walk(fields, desired, live, (), live, out, normalised)
    return out


def _walk(fields: dict[str, Any], want: Any, have: Any, path: Path, root: dict[str, Any], out: list[Change], normalised: bool) -> None:
    for key, sub in fields.items():
        found = _step(key, want, have)
        if found is None:
            continue  # not on the live object (any more): nothing to take away
        step, w, h = found
        here = path + (step,)
        children = {k: v for k, v in sub.items() if k != "."} if isinstance(sub, dict) else {}
        if w is MISSING:
            _remove(children, h, here, root, out)
        elif children:
            _walk(children, w, h, here, root, out, normalised)
        elif isinstance(h, (dict, list)) and not same_whole(w, h, here, normalised):
            out.append(Change(here, h, w))  # owned whole: applying replaces all of it


def _remove(children: dict[str, Any], have: Any, path: Path, root: dict[str, Any], out: list[Change]) -> None:
    # Another manager owning this field (or something under it) keeps that
    # part in place: only what arena-run alone owns goes.
    if not other_owners(root, path):
        out.append(Change(path, have, MISSING))
        return
    for key, sub in children.items():
        found = _step(key, MISSING, have)
        if found is not None:
            step, _, h = found
            grand = {k: v for k, v in sub.items() if k != "."} if isinstance(sub, dict) else {}
            _remove(grand, h, path + (step,), root, out)


def _step(key: str, want: Any, have: Any) -> Optional[tuple[Union[str, Item], Any, Any]]:
    """(path step, desired value, live value) for one fieldsV1 key, or None when live lacks it."""
    if key.startswith("f:"):
        name = key[2:]
        if not isinstance(have, dict) or name not in have:
            return None
        return name, (want.get(name, MISSING) if isinstance(want, dict) else MISSING), have[name]
    if not isinstance(have, list):
        return None
    if key.startswith("k:"):
        try:
            ident = json.loads(key[2:])
        except ValueError:
            return None
        index = next((i for i, item in enumerate(have) if isinstance(item, dict)
                      and all(item.get(k) == v for k, v in ident.items())), None)
        if index is None:
            return None
        # A key field the desired item leaves out is the server's default (a
        # port's protocol): the item matches on the fields it sets.
        match = next((item for item in want if isinstance(item, dict) and any(k in item for k in ident)
                      and all(item.get(k, v) == v for k, v in ident.items())),
                     MISSING) if isinstance(want, list) else MISSING
        return Item(index, _label(ident)), match, have[index]
    if key.startswith("v:"):
        try:
            value = json.loads(key[2:])
        except ValueError:
            return None
        if value not in have:
            return None
        present = isinstance(want, list) and value in want
        return Item(have.index(value), ("", value)), (value if present else MISSING), value
    if key.startswith("i:") and key[2:].isdigit() and int(key[2:]) < len(have):
        index = int(key[2:])
        w = want[index] if isinstance(want, list) and index < len(want) else MISSING
        return Item(index, None), w, have[index]
    return None


_SHOWN_KEYS = ("name", "mountPath", "containerPort", "port", "key")


def _label(ident: dict[str, Any]) -> tuple[str, Any]:
    for field in _SHOWN_KEYS:
        if field in ident:
            return field, ident[field]
    field = next(iter(ident))
    return field, ident[field]

"""Who set a field: reading `metadata.managedFields` (FieldsV1) of a live object.

A field arena-run applied but another client then changed belongs to that
client now; plan names it, so drift says who drifted it.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ..objects.applyset import FIELD_MANAGER
from .diff import Item, Path


def owners(live: dict[str, Any], path: Path) -> list[str]:
    """Managers whose field set holds path (or something under it)."""
    return _owners(live, path, skip_own=False)


def other_owners(live: dict[str, Any], path: Path) -> list[str]:
    """As owners, leaving out arena-run's own Apply entry."""
    return _owners(live, path, skip_own=True)


def _owners(live: dict[str, Any], path: Path, skip_own: bool) -> list[str]:
    out = []
    for entry in live.get("metadata", {}).get("managedFields") or []:
        fields = entry.get("fieldsV1")
        if entry.get("subresource") == "status":
            continue  # status writes never own what arena-run sets (`scale` may: spec.replicas)
        if skip_own and entry.get("manager") == FIELD_MANAGER and entry.get("operation") == "Apply":
            continue
        if isinstance(fields, dict) and _holds(fields, live, path):
            manager = entry.get("manager", "?")
            if manager not in out:
                out.append(manager)
    return out


def _holds(root: dict[str, Any], node: Any, path: Path) -> bool:
    fields: Optional[dict[str, Any]] = root
    for step in path:
        if fields is None:
            return False
        if isinstance(step, Item):
            if not isinstance(node, list) or step.position < 0 or step.position >= len(node):
                return False
            item = node[step.position]
            fields = _item_fields(fields, item, step.position)
            node = item
        else:
            fields = fields.get(f"f:{step}")
            node = node.get(step) if isinstance(node, dict) else None
        if fields is None:
            return False
    return True


def _item_fields(fields: dict[str, Any], item: Any, index: int) -> Optional[dict[str, Any]]:
    sub: dict[str, Any]
    for key, sub in fields.items():
        if key.startswith("k:"):
            try:
                ident = json.loads(key[2:])
            except ValueError:
                continue
            if isinstance(item, dict) and all(item.get(k) == v for k, v in ident.items()):
                return sub
        elif key.startswith("v:"):
            try:
                if json.loads(key[2:]) == item:
                    return sub
            except ValueError:
                continue
        elif key == f"i:{index}":
            return sub
    return None

"""`plan --diff`: a changed object as a unified YAML diff, as `kubectl diff` shows it.

The two sides are what kubectl diff compares: the live object, and what the
server would make of it with arena-run's apply (a server-side dry run, which
api.diff asks for), both without metadata.managedFields, as kubectl diff
leaves them out by default.  A new object is diffed against nothing, a
pruned one against nothing.  Pure: the dry run happens in the layer above.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Optional

from ..objects.keys import Key, bare_kind
from ..objects.kinds import KINDS


@dataclass(frozen=True)
class ObjectDiff:
    key: Key  # (group-kind, namespace, name)
    op: str  # create, update, replace, delete
    text: str  # the unified diff; empty when both sides are the same

    def to_dict(self) -> dict[str, Any]:
        return {"kind": bare_kind(self.key), "namespace": self.key[1], "name": self.key[2], "op": self.op,
                "diff": self.text}


def as_yaml(obj: Optional[dict[str, Any]]) -> str:
    """An object as kubectl diff writes it: keys sorted, managedFields left out."""
    if obj is None:
        return ""
    import yaml

    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return yaml.safe_dump({**obj, "metadata": meta}, sort_keys=True, default_flow_style=False, width=1000)


def file_name(key: Key) -> str:
    """kubectl diff's name for an object's file: group.version.Kind.namespace.name."""
    kind = KINDS[key[0]]
    return ".".join(p for p in (kind.group, kind.version, kind.kind, key[1] or "", key[2]) if p)


def unified(key: Key, op: str, live: Optional[dict[str, Any]], merged: Optional[dict[str, Any]]) -> ObjectDiff:
    name = file_name(key)
    lines = difflib.unified_diff(as_yaml(live).splitlines(keepends=True), as_yaml(merged).splitlines(keepends=True),
                                 fromfile=f"live/{name}", tofile=f"merged/{name}")
    return ObjectDiff(key, op, "".join(lines))

"""The managedFields entry an API server would record for what arena-run applied (server-side apply's FieldsV1).

The planner learns what applying takes away from arena-run's own entry
(arena_run.plan.owned), never from an earlier render.  A cluster's API
server writes that entry; for the local target this module writes the same
set from the object apply recorded, so removing an env entry, a label or
`active_deadline` from the file is a change locally exactly as it is on a
cluster.  Lists are keyed as Kubernetes' own schema keys them (containers,
env and volumes by name, volume mounts by mount path, ports by container
port and protocol); any other list is atomic (command, args: owned whole).
"""

from __future__ import annotations

import json
from typing import Any

from ..objects.applyset import FIELD_MANAGER

# field name -> the keys of its items (list-type map); every other list is atomic.
LIST_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "volumeMounts": ("mountPath",), "imagePullSecrets": ("name",),
    "ports": ("containerPort", "port", "protocol"),  # a container's (containerPort) or a Service's (port)
}


def managed_fields(applied: dict[str, Any], created: str) -> list[dict[str, Any]]:
    """[arena-run's Apply entry] for an object applied as `applied`."""
    meta = applied.get("metadata") or {}
    fields: dict[str, Any] = {}
    owned = {k: v for k, v in meta.items() if k in ("labels", "annotations")}
    if owned:
        fields["f:metadata"] = fields_of(owned)
    fields.update(fields_of({k: v for k, v in applied.items() if k not in ("apiVersion", "kind", "metadata", "status")}))
    return [{"manager": FIELD_MANAGER, "operation": "Apply", "apiVersion": applied.get("apiVersion"),
             "time": created, "fieldsType": "FieldsV1", "fieldsV1": fields}]


def fields_of(value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in value.items():
        out[f"f:{name}"] = _field(name, sub)
    return out


def _field(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return fields_of(value)
    keys = LIST_KEYS.get(name)
    if isinstance(value, list) and keys and all(isinstance(item, dict) for item in value):
        items: dict[str, Any] = {}
        for item in value:
            ident = {k: item[k] for k in keys if k in item}
            if not ident:  # no key to name it by: the list is owned whole after all
                return {}
            items["k:" + json.dumps(ident, sort_keys=True, separators=(",", ":"))] = {".": {}, **fields_of(item)}
        return items
    return {}  # a scalar or an atomic list: owned whole

"""Manifests as text: multi-document YAML that `kubectl apply -f -` takes, or JSON."""

from __future__ import annotations

import json


def to_yaml(objects: list[dict]) -> str:
    import yaml

    # The pure-Python dumper, not libyaml's: identical bytes wherever it runs.
    return yaml.dump_all(objects, Dumper=yaml.SafeDumper, sort_keys=False, explicit_start=True, width=1000)


def to_json(objects: list[dict]) -> str:
    # A v1 List, which kubectl also accepts: `render -o json | kubectl apply -f -`.
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=2) + "\n"

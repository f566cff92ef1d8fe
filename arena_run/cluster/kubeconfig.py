"""Reading kubeconfig files as kubectl does, merging `KUBECONFIG=a:b`.

client-go's loading rules (`clientcmd.ClientConfigLoadingRules.Load`):
every file named in $KUBECONFIG that exists is read (missing ones are
ignored, an empty one adds nothing); for the named maps (clusters, users,
contexts) the first file that sets a name wins, whole; `current-context` comes
from the first file that sets it.  Relative paths inside a file (certificate
files, token files, an exec plugin given as a relative path) are relative to
the file that holds them, so they are made absolute here before merging.

The official Python client's own merger lets the last file's current-context
win and rejects an empty file, so the merge is done here and the result is
handed to its loader as a dict.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional

import yaml

NAMED = ("clusters", "users", "contexts")
# Fields holding a path, per named section (client-go's ResolvePaths).
PATH_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}


class KubeconfigError(ValueError):
    pass


def candidates(env: Optional[str]) -> list[str]:
    """The files $KUBECONFIG names, in order (empty entries dropped), or ~/.kube/config."""
    if env:
        return [os.path.expanduser(p) for p in env.split(os.pathsep) if p]
    return [os.path.expanduser("~/.kube/config")]


def read_one(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"{path}: not YAML: {' '.join(str(exc).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeconfigError(f"{path}: not a kubeconfig (a {type(data).__name__}, not a mapping)")
    return _absolute_paths(data, os.path.dirname(os.path.abspath(path)))


def _absolute_paths(config: dict[str, Any], base: str) -> dict[str, Any]:
    for section, fields in PATH_FIELDS.items():
        for entry in config.get(section) or []:
            body = (entry or {}).get(section[:-1]) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for field in fields:
                value = body.get(field)
                if isinstance(value, str) and value and not os.path.isabs(value):
                    body[field] = os.path.join(base, value)
            if section == "users":
                exec_ = body.get("exec")
                command = exec_.get("command") if isinstance(exec_, dict) else None
                # A bare command name is looked up on $PATH; only a relative path is the file's.
                if isinstance(exec_, dict) and isinstance(command, str) and os.path.basename(command) != command \
                        and not os.path.isabs(command):
                    exec_["command"] = os.path.join(base, command)
    return config


def merge(configs: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """One kubeconfig from several: the first file that sets a name or current-context wins."""
    merged: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", **{s: [] for s in NAMED}}
    seen: dict[str, Any] = {s: set() for s in NAMED}
    for config in configs:
        for section in NAMED:
            for entry in config.get(section) or []:
                name = entry.get("name") if isinstance(entry, dict) else None
                if name is None or name in seen[section]:
                    continue
                seen[section].add(name)
                merged[section].append(entry)
        if not merged.get("current-context") and config.get("current-context"):
            merged["current-context"] = config["current-context"]
    return merged


def load(paths: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The merged config of the files that exist, and which ones those were."""
    found = [p for p in paths if os.path.exists(p)]
    return merge(read_one(p) for p in found), found


def context_namespace(config: dict[str, Any], context: Optional[str]) -> tuple[Optional[str], str]:
    """(the context's name, its namespace or 'default')."""
    name = context or config.get("current-context")
    for entry in config.get("contexts") or []:
        if entry.get("name") == name:
            return name, ((entry.get("context") or {}).get("namespace") or "default")
    return name, "default"

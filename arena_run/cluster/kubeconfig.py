"""Reading kubeconfig files as kubectl does, merging `KUBECONFIG=a:b`.

client-go's loading rules (`clientcmd.ClientConfigLoadingRules.Load`):
every file named in $KUBECONFIG that exists is read (missing ones are
ignored, an empty one adds nothing); for the named maps (clusters, users,
contexts) the first file that sets a name wins, whole; `current-context` comes
from the first file that sets it.  Relative paths inside a file (certificate
files, token files, an exec plugin given as a relative path) are relative to
the file that holds them, so they are made absolute here before merging.

The official Python client's own merger lets the last file's current-context
win and rejects an empty file, so the merge is done here.  A context whose
credentials are static (a token, a token file, a client certificate, or a
user name and password) is turned into an Endpoint here too, as the official
loader would (`KubeConfigLoader`: -data before the file, the token before the
token file, client certificates only over https); that loader, and the whole
`kubernetes` package with it (a fifth of a second of imports), is needed only
for the rest: exec plugins and auth providers (connection.py).
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any, Iterable, Optional

import yaml

from .endpoint import Endpoint

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


# What a user entry may hold for static_endpoint to stand in for the official loader.
STATIC_USER = frozenset({"token", "tokenFile", "client-certificate", "client-certificate-data", "client-key",
                         "client-key-data", "username", "password"})
STATIC_CLUSTER = frozenset({"server", "certificate-authority", "certificate-authority-data",
                            "insecure-skip-tls-verify", "tls-server-name", "proxy-url", "extensions"})


def _named(config: dict[str, Any], section: str, name: Any) -> Optional[dict[str, Any]]:
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name:
            body = entry.get(section[:-1])
            return body if isinstance(body, dict) else None
    return None


def static_endpoint(config: dict[str, Any], context: Optional[str]) -> Optional[Endpoint]:
    """The context's Endpoint when its credentials are static; None when the official loader must decide.

    None too for anything unusual (a missing or malformed entry), so that the
    official loader says what is wrong in its words, as before.
    """
    ctx = _named(config, "contexts", context or config.get("current-context"))
    if ctx is None:
        return None
    cluster = _named(config, "clusters", ctx.get("cluster"))
    user: Optional[dict[str, Any]] = {}
    if ctx.get("user"):
        user = _named(config, "users", ctx["user"]) if config.get("users") else {}
    if cluster is None or user is None or not set(cluster) <= STATIC_CLUSTER or not set(user) <= STATIC_USER:
        return None
    strings = {k: v for k, v in {**cluster, **user}.items() if k not in ("insecure-skip-tls-verify", "extensions")}
    if not all(isinstance(v, str) and v for v in strings.values()) or "server" not in cluster:
        return None
    if not isinstance(cluster.get("insecure-skip-tls-verify", False), bool):
        return None
    server = cluster["server"].rstrip("/")
    https = server.startswith("https")
    files = [cluster.get("certificate-authority"), user.get("client-certificate"), user.get("client-key")]
    if not all(os.path.isfile(f) for f in files if f is not None):
        return None  # the official loader's "File does not exist", at connect as before
    try:
        authorization = _authorization(user)
        ca_data = _pem(cluster.get("certificate-authority-data")) if https else None
        cert_data = _pem(user.get("client-certificate-data")) if https else None
        key_data = _pem(user.get("client-key-data")) if https else None
    except (OSError, binascii.Error, ValueError):
        return None
    return Endpoint(
        server=server,
        ca_file=cluster.get("certificate-authority") if https and ca_data is None else None,
        ca_data=ca_data,
        cert_file=user.get("client-certificate") if https and cert_data is None else None,
        key_file=user.get("client-key") if https and key_data is None else None,
        cert_data=cert_data, key_data=key_data,
        verify=not cluster.get("insecure-skip-tls-verify", False),
        server_name=cluster.get("tls-server-name"),
        proxy=cluster.get("proxy-url"),
        authorization=lambda: authorization,
    )


def _pem(data: Optional[str]) -> Optional[bytes]:
    return base64.b64decode(data, validate=True) if data is not None else None


def _authorization(user: dict[str, Any]) -> Optional[str]:
    token = user.get("token")
    if token is None and user.get("tokenFile"):
        with open(user["tokenFile"], encoding="utf-8") as fh:
            token = fh.read().strip()  # as client-go: a file's final newline is no part of the token
    if token:
        return f"Bearer {token}"
    if "username" in user and "password" in user:
        raw = f"{user['username']}:{user['password']}".encode("latin-1")
        return "Basic " + base64.b64encode(raw).decode("ascii")
    return None

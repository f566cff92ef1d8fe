"""The one place arena-run talks to Kubernetes.

Built on the official client's configuration loading and its HTTP layer, but
sending raw JSON: the generated model classes would cost a deserialisation
per object, and arena-run works on plain dicts throughout.  Every request goes
through `_call`, which counts it (tests assert how many writes an apply made)
and turns every failure into a one-line ClusterError.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from typing import Any, Iterable, Optional

from ..spec.errors import UserError
from .kinds import Kind, kind_of

FIELD_MANAGER = "arena-run"
_CONNECT_TIMEOUT = 5
_READ_TIMEOUT = 60


class ClusterError(UserError):
    """A failure talking to the cluster, said in one line."""

    def __init__(self, message: str, status: Optional[int] = None, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


class Cluster:
    """A connection: where it goes, its default namespace, and counted requests."""

    def __init__(self, api_client: Any, namespace: str, server: str, source: str):
        self._api = api_client
        self.namespace = namespace
        self.server = server
        self.source = source  # what was loaded: a kubeconfig path and context, or in-cluster
        self.requests: Counter = Counter()
        self._lock = threading.Lock()

    # --- requests ---------------------------------------------------------

    def _call(self, method: str, path: str, *, query: Optional[list] = None, body: Any = None,
              content_type: str = "application/json", accept: str = "application/json",
              stream: bool = False, timeout: Optional[float] = None) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        with self._lock:
            self.requests[method] += 1
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = content_type  # JSON and apply-patch+yaml: the client dumps the dict
        try:
            # param_serialize adds the host, the query and the credentials
            # (refreshing an exec plugin's token when it has expired).
            _, url, headers, body, _ = self._api.param_serialize(
                method, path, query_params=query or [], header_params=headers, body=body,
                auth_settings=["BearerToken"],
            )
            resp = self._api.call_api(method, url, header_params=headers, body=body,
                                      _request_timeout=(_CONNECT_TIMEOUT, timeout or _READ_TIMEOUT))
        except ApiException as exc:
            raise ClusterError(f"cannot reach the cluster at {self.server} ({self.source}): {_reason(exc)}") from None
        except HTTPError as exc:
            raise ClusterError(f"cannot reach the cluster at {self.server} ({self.source}): {_reason(exc)}") from None
        if not 200 <= resp.status < 300:
            raise _api_error(resp.status, resp.reason, resp.read())
        if stream:
            return resp.response
        data = resp.read()
        return json.loads(data) if data else None

    def list(self, kind: Kind, namespace: Optional[str], selector: Optional[str] = None,
             metadata_only: bool = False, field_selector: Optional[str] = None) -> list[dict]:
        query = [("labelSelector", selector)] if selector else []
        if field_selector:
            query.append(("fieldSelector", field_selector))
        accept = "application/json"
        if metadata_only:
            # Names and labels only: enough to see what exists without its bulk.
            accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        try:
            result = self._call("GET", kind.path(namespace), query=query, accept=accept)
        except ClusterError as exc:
            if exc.status == 404 and exc.reason != "NotFound-namespace":
                raise ClusterError(_missing_kind(kind), 404) from None
            raise
        items = result.get("items") or []
        for item in items:  # a LIST leaves apiVersion and kind out of its items
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
        return items

    def get(self, kind: Kind, namespace: Optional[str], name: str) -> Optional[dict]:
        try:
            return self._call("GET", kind.path(namespace, name))
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, obj: dict, *, force: bool = True, dry_run: bool = False) -> dict:
        """Server-side apply with arena-run's field manager: create or update."""
        kind = kind_of(obj)
        meta = obj["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        return self._call("PATCH", kind.path(meta.get("namespace"), meta["name"]), query=query, body=obj,
                          content_type="application/apply-patch+yaml")

    def delete(self, kind: Kind, namespace: Optional[str], name: str, *, uid: Optional[str] = None,
               propagation: str = "Background") -> bool:
        """Delete one object; False if it was already gone.

        With uid, the server deletes only that very object, never a namesake
        created since it was read.
        """
        body: dict = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self._call("DELETE", kind.path(namespace, name), body=body)
            return True
        except ClusterError as exc:
            if exc.status == 404:
                return False
            raise

    def wait_gone(self, kind: Kind, namespace: Optional[str], name: str, uid: Optional[str],
                  timeout: float = 300, interval: float = 0.2) -> None:
        """Until no object of that uid is left (foreground deletion takes its dependents first)."""
        deadline = time.monotonic() + timeout
        while True:
            live = self.get(kind, namespace, name)
            if live is None or (uid and live["metadata"].get("uid") != uid):
                return
            if time.monotonic() > deadline:
                raise ClusterError(f"{kind.kind} {namespace}/{name} still exists after {timeout:.0f}s of deletion")
            time.sleep(interval)
            interval = min(interval * 1.5, 2.0)

    def logs(self, namespace: str, pod: str, *, container: Optional[str] = None, follow: bool = False,
             tail: Optional[int] = None, since_seconds: Optional[int] = None, timestamps: bool = False):
        """A pod's log as a stream of byte chunks."""
        query: list = []
        if container:
            query.append(("container", container))
        if follow:
            query.append(("follow", "true"))
        if tail is not None:
            query.append(("tailLines", str(tail)))
        if since_seconds is not None:
            query.append(("sinceSeconds", str(since_seconds)))
        if timestamps:
            query.append(("timestamps", "true"))
        path = f"/api/v1/namespaces/{namespace}/pods/{pod}/log"
        resp = self._call("GET", path, query=query, accept="*/*", stream=True, timeout=None if follow else _READ_TIMEOUT)
        return resp.stream(4096, decode_content=True)

    def close(self) -> None:
        self._api.close()


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    text = str(reason)
    for marker in ("Connection refused", "timed out", "Name or service not known", "certificate verify failed"):
        if marker in text:
            return marker.lower()
    return text.split(": ", 1)[-1][:200]


def _missing_kind(kind: Kind) -> str:
    hint = {
        "kubeflow.org": "is the Kubeflow training operator installed?",
        "trainer.kubeflow.org": "is Kubeflow Trainer v2 installed?",
        "serving.kserve.io": "is KServe installed?",
    }.get(kind.group, "")
    if kind.kind == "MPIJob":
        hint = "is the mpi-operator (v0.8, kubeflow.org/v2beta1) installed?"
    return f"the cluster does not serve {kind.kind} ({kind.api_version}){': ' + hint if hint else ''}"


def _api_error(status: int, reason: str, data: bytes) -> ClusterError:
    message, why = reason or "", ""
    try:
        body = json.loads(data or b"{}")
        message = body.get("message") or message
        why = body.get("reason") or ""
        details = body.get("details") or {}
        if status == 404 and details.get("kind") == "namespaces":
            why = "NotFound-namespace"
            message += f" (arena-run does not create namespaces: kubectl create namespace {details.get('name')})"
    except (ValueError, TypeError, AttributeError):
        pass
    if status == 401:
        message = f"unauthorized: the cluster rejected the credentials ({message})"
    return ClusterError(" ".join(str(message).split()), status, why)


# --- connecting ---------------------------------------------------------------


def connect(kubeconfig: Optional[str] = None, context: Optional[str] = None, pool: int = 16) -> Cluster:
    """Connect as kubectl would: --kubeconfig, $KUBECONFIG, ~/.kube/config, then in-cluster.

    Nothing is sent yet; the first request finds out whether the server answers.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    tried = []
    path = kubeconfig or _first_kubeconfig(os.environ.get("KUBECONFIG"))
    namespace = "default"
    if path:
        tried.append(path)
        try:
            config.load_kube_config(config_file=path, context=context, client_configuration=cfg, persist_config=False)
            contexts, active = config.list_kube_config_contexts(config_file=path)
            chosen = next((c for c in contexts if c["name"] == context), active) if context else active
            namespace = (chosen or {}).get("context", {}).get("namespace") or "default"
            source = f"kubeconfig {path}, context {chosen['name'] if chosen else '?'}"
        except (ConfigException, OSError, KeyError, TypeError, ValueError) as exc:
            raise ClusterError(f"cannot use kubeconfig {path}: {' '.join(str(exc).split())}") from None
    else:
        tried.append("~/.kube/config (missing)")
        try:
            config.load_incluster_config(client_configuration=cfg)
        except ConfigException:
            raise ClusterError(
                "no cluster configured: tried --kubeconfig, $KUBECONFIG, ~/.kube/config and in-cluster config"
            ) from None
        source = "in-cluster service account"
        try:
            with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as fh:
                namespace = fh.read().strip() or "default"
        except OSError:
            pass
    # Fail fast when nothing answers, rather than retrying for half a minute.
    cfg.retries = False
    cfg.connection_pool_maxsize = pool
    return Cluster(client.ApiClient(cfg), namespace, cfg.host, source)


def _first_kubeconfig(env: Optional[str]) -> Optional[str]:
    candidates: Iterable[str] = (env.split(os.pathsep) if env else []) or [os.path.expanduser("~/.kube/config")]
    for candidate in candidates:
        if candidate and os.path.exists(candidate):
            return candidate
    if env:
        raise ClusterError(f"$KUBECONFIG names no existing file: {env}")
    return None

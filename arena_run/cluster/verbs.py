"""What arena-run asks of the API server: list, get, apply, create, delete, logs.

A Cluster is the verbs over one Transport (transport.py), which alone issues
requests; each verb builds its path and query from a Kind and says what an
answer means (a 404 is "absent" for get, "not served" for list).  The split is
lightkube's GenericClient (requests) beside its Client (verbs).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any, Optional

from ..objects.applyset import FIELD_MANAGER
from ..objects.kinds import Kind, kind_of
from .errors import ClusterError
from .logstream import LogStream
from .retry import RetryPolicy
from .transport import Observer, Transport

PAGE_SIZE = 500  # kubectl's --chunk-size


class Cluster:
    """A connection: where it goes, its default namespace, and the verbs.

    The transport's counters, observers, retry policy, read timeout and
    cancel() are reachable here too, as callers have always used them;
    page_size is how many objects a list asks for at once (0: all).
    """

    def __init__(self, transport: Transport, namespace: str):
        self.transport = transport
        self.namespace = namespace
        self.page_size: int = PAGE_SIZE

    @property
    def server(self) -> str:
        return self.transport.server

    @property
    def source(self) -> str:
        """What was loaded: kubeconfig paths and context, or in-cluster."""
        return self.transport.source

    @property
    def requests(self) -> Counter[str]:
        return self.transport.requests

    @property
    def concurrency(self) -> int:
        """How many requests may be in flight at once (the transport holds the rest back)."""
        return self.transport.concurrency

    @property
    def retries(self) -> Counter[str]:
        return self.transport.retries

    @property
    def retry(self) -> RetryPolicy:
        return self.transport.retry

    @property
    def observers(self) -> list[Observer]:
        return self.transport.observers

    @property
    def read_timeout(self) -> float:
        return self.transport.read_timeout

    @read_timeout.setter
    def read_timeout(self, seconds: float) -> None:
        self.transport.read_timeout = seconds

    def observe(self, observer: Observer) -> Observer:
        return self.transport.observe(observer)

    def cancel(self) -> None:
        """Interrupt: waits between retries end now, and no request is sent from here on."""
        self.transport.cancel()

    def resume(self) -> None:
        """After an interrupt has been dealt with: requests may be sent again."""
        self.transport.resume()

    def list(self, kind: Kind, namespace: Optional[str], selector: Optional[str] = None,
             metadata_only: bool = False, field_selector: Optional[str] = None) -> list[dict[str, Any]]:
        """Every object of a kind, in pages of page_size (`limit`/`continue`), as kubectl lists."""
        query = [("labelSelector", selector)] if selector else []
        if field_selector:
            query.append(("fieldSelector", field_selector))
        accept = "application/json"
        if metadata_only:
            # Names and labels only: enough to see what exists without its bulk.
            accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
        items: list[dict[str, Any]] = []
        token = ""
        while True:
            page = query + ([("limit", str(self.page_size))] if self.page_size else [])
            if token:
                page.append(("continue", token))
            try:
                result = self.transport.request("GET", kind.path(namespace), query=page, accept=accept)
            except ClusterError as exc:
                if exc.status == 404 and exc.reason != "NotFound-namespace":
                    raise ClusterError(_missing_kind(kind), 404) from None
                if exc.status == 410 and token:
                    # The continue token outlived etcd's compaction: as client-go's
                    # pager does, list everything again in one consistent response.
                    items, token = [], ""
                    result = self.transport.request("GET", kind.path(namespace), query=query, accept=accept)
                else:
                    raise
            if not isinstance(result, dict):
                raise ClusterError(f"the answer to listing {kind.kind} at {self.server} is not a list")
            items += result.get("items") or []
            token = (result.get("metadata") or {}).get("continue") or ""
            if not token:
                break
        for item in items:  # a LIST leaves apiVersion and kind out of its items
            item.setdefault("apiVersion", kind.api_version)
            item.setdefault("kind", kind.kind)
        return items

    def get(self, kind: Kind, namespace: Optional[str], name: str) -> Optional[dict[str, Any]]:
        try:
            found: dict[str, Any] = self.transport.request("GET", kind.path(namespace, name))
            return found
        except ClusterError as exc:
            if exc.status == 404:
                return None
            raise

    def apply(self, obj: dict[str, Any], *, force: bool = True, dry_run: bool = False) -> dict[str, Any]:
        """Server-side apply with arena-run's field manager: create or update."""
        kind = kind_of(obj)
        meta = obj["metadata"]
        query = [("fieldManager", FIELD_MANAGER), ("force", "true" if force else "false")]
        if dry_run:
            query.append(("dryRun", "All"))
        applied: dict[str, Any] = self.transport.request("PATCH", kind.path(meta.get("namespace"), meta["name"]), query=query,
                                             body=obj, content_type="application/apply-patch+yaml")
        return applied

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create only: the server refuses (409 AlreadyExists) if the object exists.

        Server-side apply has no such precondition, so this is how two applies
        that both found no ApplySet parent learn that only one may create it.
        """
        kind = kind_of(obj)
        # Sent again after a reset: if the first attempt did create it, the
        # answer is 409, and the caller recognises its own object (the lock
        # does, by the token it wrote).
        created: dict[str, Any] = self.transport.request("POST", kind.path(obj["metadata"].get("namespace")),
                                             query=[("fieldManager", FIELD_MANAGER)], body=obj, idempotent=True)
        return created

    def delete(self, kind: Kind, namespace: Optional[str], name: str, *, uid: Optional[str] = None,
               propagation: str = "Background") -> bool:
        """Delete one object; False if it was already gone.

        With uid, the server deletes only that very object, never a namesake
        created since it was read.
        """
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self.transport.request("DELETE", kind.path(namespace, name), body=body)
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
             tail: Optional[int] = None, since_seconds: Optional[int] = None, timestamps: bool = False) -> LogStream:
        """A pod's log as a stream of byte chunks."""
        query: list[tuple[str, str]] = []
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
        # A followed log may be silent for hours: no read timeout (TCP keepalive,
        # set in connect, still notices a dead peer; Ctrl-C still interrupts the read).
        resp = self.transport.request("GET", path, query=query, accept="*/*", stream=True,
                          read_timeout=None if follow else self.read_timeout)
        return LogStream(resp, pod)

    def close(self) -> None:
        self.transport.close()


def _missing_kind(kind: Kind) -> str:
    hint = {
        "kubeflow.org": "is the Kubeflow training operator installed?",
        "trainer.kubeflow.org": "is Kubeflow Trainer v2 installed?",
        "serving.kserve.io": "is KServe installed?",
    }.get(kind.group, "")
    if kind.kind == "MPIJob":
        hint = "is the mpi-operator (v0.8, kubeflow.org/v2beta1) installed?"
    return f"the cluster does not serve {kind.kind} ({kind.api_version}){': ' + hint if hint else ''}"

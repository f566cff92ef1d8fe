"""The one place arena-run talks to Kubernetes.

Built on the official client's configuration loading and its HTTP layer, but
sending raw JSON: the generated model classes would cost a deserialisation
per object, and arena-run works on plain dicts throughout.  Every request goes
through `_call`, which counts it (tests assert how many writes an apply made),
sends it again when that is safe (retry.py), tells the observers about every
attempt (`-v` prints them) and turns every failure into a one-line ClusterError.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Optional, Union
from urllib.parse import urlencode

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

from ..spec.errors import UserError
from .kinds import Kind, kind_of
from .retry import BROKEN, NOT_SENT, RESET, TIMEOUT, RetryPolicy, parse_retry_after

FIELD_MANAGER = "arena-run"
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 60
PAGE_SIZE = 500  # kubectl's --chunk-size
APPLY_PATCH = "application/apply-patch+yaml"


class ClusterError(UserError):
    """A failure talking to the cluster, said in one line."""

    def __init__(self, message: str, status: Optional[int] = None, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Attempt:
    """One request sent (or tried), as observers see it."""

    method: str
    path: str  # with its query string
    status: Optional[int]  # None: no answer (see error)
    ms: float  # this attempt's duration
    retries: int  # how many times it was sent before this attempt
    error: str = ""  # why there is no usable answer: "connection reset", "429 Too Many Requests"...
    retry_in: Optional[float] = None  # seconds until it is sent again; None: this was the last attempt

    def line(self) -> str:
        """kubectl -v=6 style: METHOD PATH STATUS in MS ms, and what happens next."""
        text = f"{self.method} {self.path} {self.status if self.status is not None else '-'} in {self.ms:.0f} ms"
        if self.retries:
            text += f" (retry {self.retries})"
        if self.error and self.status is None:
            text += f": {self.error}"
        if self.retry_in is not None:
            text += f"; again in {self.retry_in:.2f} s"
        return text


Observer = Callable[[Attempt], None]


class _Failed(Exception):
    """An attempt without a usable answer: its kind (retry.py) and a one-line reason."""

    def __init__(self, kind: str, text: str):
        super().__init__(text)
        self.kind = kind
        self.text = text


class Cluster:
    """A connection: where it goes, its default namespace, and counted requests.

    requests counts requests by method (a retried one once), retries the
    extra attempts by method.  observe(fn) calls fn(Attempt) after every
    attempt, from whichever thread made it; retry is the RetryPolicy;
    read_timeout bounds each read of an answer (never a followed log);
    cancel() stops retry waits and refuses new requests (for Ctrl-C).
    """

    def __init__(self, api_client: Any, namespace: str, server: str, source: str,
                 retry: Optional[RetryPolicy] = None):
        self._api = api_client
        self.namespace = namespace
        self.server = server
        self.source = source  # what was loaded: kubeconfig paths and context, or in-cluster
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.retry = retry or RetryPolicy()
        self.read_timeout: float = READ_TIMEOUT
        self.page_size: int = PAGE_SIZE
        self.observers: list[Observer] = []
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._reached = False  # the server has answered once: refusals from now on are transient
        self._random = random.Random()

    def observe(self, observer: Observer) -> Observer:
        self.observers.append(observer)
        return observer

    def cancel(self) -> None:
        """Interrupt: waits between retries end now, and no request is sent from here on."""
        self._cancelled.set()

    def resume(self) -> None:
        """After an interrupt has been dealt with: requests may be sent again."""
        self._cancelled.clear()

    # --- requests ---------------------------------------------------------

    def _call(self, method: str, path: str, *, query: Optional[list[tuple[str, str]]] = None, body: Any = None,
              content_type: str = "application/json", accept: str = "application/json",
              stream: bool = False, read_timeout: Any = "default",
              idempotent: Optional[bool] = None) -> Any:
        """Send a request until it succeeds or fails for good; the decoded JSON (or the open stream).

        read_timeout: seconds, None to wait for an answer as long as it takes (a
        followed log), or "default" for self.read_timeout.
        idempotent None: decided from the request (retry.py says what is safe).
        """
        if idempotent is None:
            idempotent = _idempotent(method, content_type, body)
        shown = path + ("?" + urlencode(query) if query else "")
        with self._lock:
            self.requests[method] += 1
        first = time.monotonic()
        retries = 0
        while True:
            if self._cancelled.is_set():
                raise ClusterError(f"interrupted: {method} {shown} was not sent")
            t0 = time.monotonic()
            status: Optional[int] = None
            reason, retry_after = "", None
            payload: Union[bytes, BaseHTTPResponse] = b""
            failure: Optional[_Failed] = None
            try:
                status, reason, retry_after, payload = self._attempt(
                    method, path, query, body, content_type, accept, stream,
                    self.read_timeout if read_timeout == "default" else read_timeout)
            except _Failed as exc:
                failure = exc
            ms = (time.monotonic() - t0) * 1000
            if status is not None:
                self._reached = True
            if failure is None and status is not None and 200 <= status < 300:
                self._tell(Attempt(method, shown, status, ms, retries))
                if stream:
                    return payload
                assert isinstance(payload, bytes)
                return _decode(payload, method, shown)
            with self._lock:
                rand = self._random.random()
            delay = self.retry.next_wait(
                retries=retries, elapsed=time.monotonic() - first, status=status,
                failure=failure.kind if failure else None, retry_after=retry_after,
                idempotent=idempotent, reached=self._reached, rand=rand)
            error = failure.text if failure else f"{status} {reason}".strip()
            self._tell(Attempt(method, shown, status, ms, retries, error, delay))
            if delay is None:
                after = f" (after {retries + 1} attempts in {time.monotonic() - first:.1f} s)" if retries else ""
                if failure is not None:
                    raise ClusterError(f"cannot reach the cluster at {self.server} ({self.source}): "
                                       f"{failure.text}{after}") from None
                assert status is not None and isinstance(payload, bytes)  # no failure: an answer came
                err = _api_error(status, reason, payload)
                raise ClusterError(str(err) + after, err.status, err.reason) from None
            with self._lock:
                self.retries[method] += 1
            if self._cancelled.wait(delay):
                raise ClusterError(f"interrupted: {method} {shown} was not sent again")
            retries += 1

    def _attempt(self, method: str, path: str, query: Optional[list[tuple[str, str]]], body: Any, content_type: str,
                 accept: str, stream: bool, read_timeout: Optional[float]
                 ) -> tuple[int, str, Optional[float], Union[bytes, BaseHTTPResponse]]:
        """(status, reason, Retry-After seconds, body bytes or the open response); _Failed without an answer."""
        from kubernetes.client.exceptions import ApiException
        from kubernetes.config.config_exception import ConfigException
        from urllib3.exceptions import HTTPError

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
        except (ApiException, ConfigException, OSError, ValueError) as exc:
            raise ClusterError(f"cannot prepare a request for {self.server} ({self.source}): "
                               f"{_one_line(exc)}") from None
        try:
            resp = self._api.call_api(method, url, header_params=headers, body=body,
                                      _request_timeout=(CONNECT_TIMEOUT, read_timeout))
        except ApiException as exc:  # the client turns TLS failures into these
            raise _Failed(*_transport_failure(exc)) from None
        except (HTTPError, OSError) as exc:
            raise _Failed(*_transport_failure(exc)) from None
        status = resp.status
        retry_after = parse_retry_after(resp.getheader("Retry-After"))
        if stream and 200 <= status < 300:
            return status, resp.reason, retry_after, resp.response
        try:
            data = resp.read()
        except (HTTPError, OSError) as exc:
            kind, text = _transport_failure(exc)
            raise _Failed(kind if kind != NOT_SENT else BROKEN, f"the answer ({status}) broke off: {text}") from None
        return status, resp.reason, retry_after, data

    def _tell(self, attempt: Attempt) -> None:
        for observer in self.observers:
            observer(attempt)

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
                result = self._call("GET", kind.path(namespace), query=page, accept=accept)
            except ClusterError as exc:
                if exc.status == 404 and exc.reason != "NotFound-namespace":
                    raise ClusterError(_missing_kind(kind), 404) from None
                if exc.status == 410 and token:
                    # The continue token outlived etcd's compaction: as client-go's
                    # pager does, list everything again in one consistent response.
                    items, token = [], ""
                    result = self._call("GET", kind.path(namespace), query=query, accept=accept)
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
            found: dict[str, Any] = self._call("GET", kind.path(namespace, name))
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
        applied: dict[str, Any] = self._call("PATCH", kind.path(meta.get("namespace"), meta["name"]), query=query,
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
        created: dict[str, Any] = self._call("POST", kind.path(obj["metadata"].get("namespace")),
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
        resp = self._call("GET", path, query=query, accept="*/*", stream=True,
                          read_timeout=None if follow else self.read_timeout)
        return LogStream(resp, pod)

    def close(self) -> None:
        self._api.close()


class LogStream:
    """A pod's log as byte chunks (iterate it); stop() ends it from another thread.

    A kubelet closes a followed log when the container ends; stop() is for
    a caller that learns of the end some other way (or wants to stop): the
    read blocked on the socket returns, and iteration ends without an error.
    """

    def __init__(self, resp: Any, pod: str):
        self._resp = resp
        self._pod = pod
        self._stopped = False
        self.finished = threading.Event()  # set once iteration is over, however it ended
        self.last_chunk = time.monotonic()  # when the last bytes arrived (or the stream opened)

    def __iter__(self) -> Iterator[bytes]:
        from urllib3.exceptions import HTTPError

        try:
            for chunk in self._resp.stream(4096, decode_content=True):
                self.last_chunk = time.monotonic()
                yield chunk
        except (HTTPError, OSError, ValueError) as exc:
            if not self._stopped:
                raise ClusterError(f"the log of {self._pod} broke off: {_transport_failure(exc)[1]}") from None
        finally:
            self.finished.set()
            self._resp.close()  # read to its end or abandoned: never back into the pool half-read
            self._resp.release_conn()

    def stop(self) -> None:
        import socket

        self._stopped = True
        try:
            self._resp.shutdown()  # urllib3 >= 2.3: unblocks a read in another thread
        except (AttributeError, ValueError, RuntimeError, OSError, NotImplementedError):
            sock = getattr(getattr(self._resp, "_connection", None), "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RD)
                except OSError:
                    pass


def _idempotent(method: str, content_type: str, body: Any) -> bool:
    """Whether sending the request twice does what sending it once does (retry.py)."""
    if method in ("GET", "HEAD"):
        return True
    if method == "PATCH" and content_type == APPLY_PATCH:
        # Server-side apply: the same patch gives the same object, unless it is
        # conditional on a resourceVersion (an optimistic lock), which our own
        # first copy would already have moved on: then a 409 would lie.
        meta = body.get("metadata") if isinstance(body, dict) else None
        return not (isinstance(meta, dict) and meta.get("resourceVersion"))
    if method == "DELETE" and isinstance(body, dict):
        return bool((body.get("preconditions") or {}).get("uid"))  # never a namesake made since
    return False


def _decode(data: bytes, method: str, path: str) -> Any:
    if not data:
        return None
    try:
        decoded = json.loads(data)
    except ValueError:
        head = data[:80].decode("utf-8", "replace")
        raise ClusterError(f"the answer to {method} {path} is not JSON: {' '.join(head.split())!r}") from None
    if not isinstance(decoded, dict):  # every answer of the Kubernetes API is an object
        raise ClusterError(f"the answer to {method} {path} is not a Kubernetes object but a {type(decoded).__name__}")
    return decoded


def _one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "reason", None) or exc).split())[:300]


def _transport_failure(exc: BaseException) -> tuple[str, str]:
    """(retry kind, reason) of a request that got no usable answer."""
    from urllib3.exceptions import (ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError,
                                    SSLError)

    text = _one_line(exc)
    lower = text.lower()
    if isinstance(exc, NewConnectionError):  # refused, unreachable, no such host: nothing was sent
        for marker in ("Connection refused", "Name or service not known", "No route to host",
                       "Temporary failure in name resolution", "Network is unreachable"):
            if marker.lower() in lower:
                return NOT_SENT, marker.lower()
        return NOT_SENT, text
    if isinstance(exc, ConnectTimeoutError):
        return NOT_SENT, "connection timed out"
    if isinstance(exc, ReadTimeoutError) or "timed out" in lower:
        return TIMEOUT, "read timed out"
    if "certificate verify failed" in lower or "wrong version number" in lower:
        return "fatal", ("certificate verify failed" if "certificate" in lower else text)
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)) or "reset" in lower or "eof" in lower \
            or "aborted" in lower or "remote end closed" in lower or "broken pipe" in lower:
        return RESET, "connection reset"
    if isinstance(exc, (ProtocolError, SSLError)) or "incompleteread" in lower or "connection broken" in lower:
        return BROKEN, text
    if getattr(exc, "status", None) == 0:  # an ApiException wrapping a TLS failure
        return "fatal", text
    return BROKEN, text


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


def connect(kubeconfig: Optional[str] = None, context: Optional[str] = None, pool: int = 16,
            retry: Optional[RetryPolicy] = None) -> Cluster:
    """Connect as kubectl would: --kubeconfig, $KUBECONFIG (merged), ~/.kube/config, then in-cluster.

    Nothing is sent yet; the first request finds out whether the server answers.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    from . import kubeconfig as kc

    cfg = client.Configuration()
    env = os.environ.get("KUBECONFIG")
    paths = [kubeconfig] if kubeconfig else kc.candidates(env)
    try:
        merged, found = kc.load(paths)
    except (kc.KubeconfigError, OSError) as exc:
        raise ClusterError(f"cannot use kubeconfig: {_one_line(exc)}") from None
    if kubeconfig and not found:
        raise ClusterError(f"cannot use kubeconfig {kubeconfig}: no such file")
    if found:
        where = os.pathsep.join(found)
        try:
            config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]  # untyped in the kubernetes package
                merged, context=context, client_configuration=cfg, persist_config=False)
        except (ConfigException, OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ClusterError(f"cannot use kubeconfig {where}: {_one_line(exc)}") from None
        chosen, namespace = kc.context_namespace(merged, context)
        source = f"kubeconfig {where}, context {chosen or '?'}"
    else:
        try:
            config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]  # likewise
        except ConfigException:
            if env:
                raise ClusterError(f"$KUBECONFIG names no existing file: {env}") from None
            raise ClusterError(
                "no cluster configured: tried --kubeconfig, $KUBECONFIG, ~/.kube/config and in-cluster config; "
                "to run on this machine instead, add --local (arena-run apply --local --wait FILE)"
            ) from None
        source = "in-cluster service account"
        namespace = "default"
        try:
            with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as fh:
                namespace = fh.read().strip() or "default"
        except OSError:
            pass
    # Retries are arena-run's own (Cluster._call, retry.py), not urllib3's.
    cfg.retries = False
    cfg.connection_pool_maxsize = pool
    # TCP keepalive as client-go sets it: a followed log has no read timeout,
    # so a peer that vanished is noticed by the kernel's probes instead.
    cfg.keep_alive = True
    return Cluster(client.ApiClient(cfg), namespace, cfg.host, source, retry)

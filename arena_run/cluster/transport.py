"""Where every request to the API server is issued: one connection pool, counted, retried, observed.

Requests go straight to urllib3 (the HTTP layer beneath the official
client), as raw JSON: the generated model classes would cost a deserialisation
per object, and arena-run works on plain dicts throughout.  Where they go and
with which credentials is an Endpoint (endpoint.py), from a kubeconfig or the
official client's loader (connection.py).  Every request goes
through `Transport.request`, which counts it (tests assert how many writes an
apply made), sends it again when that is safe (retry.py), tells the observers
about every attempt (`-v` prints them) and turns every failure into a one-line
ClusterError.  The verbs (verbs.py) say what to ask; this module only how.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import urlencode

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

from .._version import __version__
from .endpoint import Endpoint, pool
from .errors import ClusterError, api_error, one_line, transport_failure
from .retry import BROKEN, NOT_SENT, RetryPolicy, parse_retry_after

CONNECT_TIMEOUT = 5
USER_AGENT = f"arena-run/{__version__}"
READ_TIMEOUT = 60
APPLY_PATCH = "application/apply-patch+yaml"
# Requests in flight at once, whatever the number of threads asking: enough to
# keep a 50 ms link busy for a server that takes a few ms per write, and well
# within the seats API Priority and Fairness gives a user's flow (a 429 beyond
# them is waited out and sent again, retry.py).  ARENA_RUN_CONCURRENCY changes it.
CONCURRENCY = 16


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


class Transport:
    """Requests to one API server (an Endpoint) over one connection pool.

    requests counts requests by method (a retried one once), retries the
    extra attempts by method.  observe(fn) calls fn(Attempt) after every
    attempt, from whichever thread made it; retry is the RetryPolicy;
    read_timeout bounds each read of an answer (never a followed log);
    cancel() stops retry waits and refuses new requests (for Ctrl-C).
    concurrency bounds the attempts in flight at once (the pool holds as many
    connections, and one for a followed log beside them, so none is opened per
    request); a retry's wait holds no slot.  The pool (and its TLS context) is
    made at the first request: a command that sends none pays nothing for it.
    """

    def __init__(self, endpoint: Endpoint, source: str, retry: Optional[RetryPolicy] = None,
                 concurrency: int = CONCURRENCY):
        self.endpoint = endpoint
        self._pool: Any = None
        self.concurrency = max(1, concurrency)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self.server = endpoint.server
        self.source = source  # what was loaded: kubeconfig paths and context, or in-cluster
        self.requests: Counter[str] = Counter()
        self.retries: Counter[str] = Counter()
        self.retry = retry or RetryPolicy()
        self.read_timeout: float = READ_TIMEOUT
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

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()

    def _connections(self) -> Any:
        with self._lock:
            if self._pool is None:
                try:
                    self._pool = pool(self.endpoint, self.concurrency + 1)
                except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                    raise ClusterError(f"cannot use the TLS settings for {self.server} ({self.source}): "
                                       f"{one_line(exc)}") from None
            return self._pool

    def request(self, method: str, path: str, *, query: Optional[list[tuple[str, str]]] = None, body: Any = None,
                content_type: str = "application/json", accept: str = "application/json",
                stream: bool = False, read_timeout: Any = "default",
                idempotent: Optional[bool] = None) -> Any:
        """Send a request until it succeeds or fails for good; the decoded JSON (or the open stream).

        read_timeout: seconds, None to wait for an answer as long as it takes (a
        followed log), or "default" for self.read_timeout.
        idempotent None: decided from the request (retry.py says what is safe).
        """
        if idempotent is None:
            idempotent = is_idempotent(method, content_type, body)
        shown = path + ("?" + urlencode(query) if query else "")
        with self._lock:
            self.requests[method] += 1
        first = time.monotonic()
        retries = 0
        while True:
            if self._cancelled.is_set():
                raise ClusterError(f"interrupted: {method} {shown} was not sent")
            status: Optional[int] = None
            reason, retry_after = "", None
            payload: Union[bytes, BaseHTTPResponse] = b""
            failure: Optional[_Failed] = None
            with self._slots:  # the attempt's time is its own, not its wait for a slot
                t0 = time.monotonic()
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
                err = api_error(status, reason, payload)
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
        import urllib3
        from urllib3.exceptions import HTTPError

        connections = self._connections()
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        try:
            # Called for every attempt: an expired token is renewed here (endpoint.Authorization).
            authorization = self.endpoint.authorization()
        except (OSError, ValueError) as exc:
            raise ClusterError(f"cannot prepare a request for {self.server} ({self.source}): "
                               f"{one_line(exc)}") from None
        if authorization:
            headers["Authorization"] = authorization
        data: Optional[bytes] = None
        if body is not None:
            headers["Content-Type"] = content_type
            if isinstance(body, (str, bytes)):
                data = body.encode("utf-8") if isinstance(body, str) else body
            elif content_type == APPLY_PATCH:
                data = apply_patch_body(body)
            else:
                data = json.dumps(body).encode("utf-8")
        url = self.server + path + ("?" + urlencode(query) if query else "")
        try:
            resp = connections.request(method, url, body=data, headers=headers, preload_content=False,
                                       timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=read_timeout),
                                       retries=False, redirect=False)
        except (HTTPError, OSError) as exc:
            raise _Failed(*transport_failure(exc)) from None
        status = resp.status
        retry_after = parse_retry_after(resp.headers.get("Retry-After"))
        if stream and 200 <= status < 300:
            return status, resp.reason or "", retry_after, resp
        try:
            answer = resp.read()
        except (HTTPError, OSError) as exc:
            kind, text = transport_failure(exc)
            raise _Failed(kind if kind != NOT_SENT else BROKEN, f"the answer ({status}) broke off: {text}") from None
        finally:
            resp.release_conn()
        return status, resp.reason or "", retry_after, answer

    def _tell(self, attempt: Attempt) -> None:
        for observer in self.observers:
            observer(attempt)


# A surrogate pair as json.dumps escapes a character outside the Basic
# Multilingual Plane, where the backslash itself is not escaped.
_SURROGATE_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})")


def apply_patch_body(body: Any) -> bytes:
    """A server-side apply patch as JSON that the API server's YAML decoder reads as meant.

    The client would send json.dumps(body): JSON is YAML, except that YAML has
    no surrogate pairs, so a character such as U+25F85 (escaped "\\ud857\\udf85")
    is refused ("found invalid Unicode character escape code").  YAML spells
    it "\\U00025f85"; every other escape (controls, U+0085, U+2028) stays as
    JSON writes it, so no character becomes a YAML line break.
    """
    def whole(m: "re.Match[str]") -> str:
        code = 0x10000 + ((int(m[2], 16) - 0xD800) << 10) + (int(m[3], 16) - 0xDC00)
        return f"{m[1]}\\U{code:08x}"

    return _SURROGATE_PAIR.sub(whole, json.dumps(body, separators=(",", ":"))).encode("ascii")


def is_idempotent(method: str, content_type: str, body: Any) -> bool:
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


def _loads_with(fast: Optional[Callable[[bytes], Any]]) -> Callable[[bytes], Any]:
    if fast is None:
        return json.loads

    def loads(data: bytes) -> Any:
        try:
            return fast(data)
        except ValueError:
            # What orjson refuses and json reads: lone surrogates (and, in
            # some versions, integers beyond 64 bits).
            return json.loads(data)
    return loads


def _fast_loads() -> Optional[Callable[[bytes], Any]]:
    """orjson's loads where it is installed (`pip install arena-run[fast]`): a third less CPU for the
    megabytes of a LIST at a thousand experiments; the standard library's otherwise."""
    try:
        from orjson import loads
    except ImportError:
        return None
    fast: Callable[[bytes], Any] = loads
    return fast


_LOADS: list[Callable[[bytes], Any]] = []


def loads(data: bytes) -> Any:
    if not _LOADS:
        _LOADS.append(_loads_with(_fast_loads()))
    return _LOADS[0](data)


def _decode(data: bytes, method: str, path: str) -> Any:
    if not data:
        return None
    try:
        decoded = loads(data)
    except ValueError:
        head = data[:80].decode("utf-8", "replace")
        raise ClusterError(f"the answer to {method} {path} is not JSON: {' '.join(head.split())!r}") from None
    if not isinstance(decoded, dict):  # every answer of the Kubernetes API is an object
        raise ClusterError(f"the answer to {method} {path} is not a Kubernetes object but a {type(decoded).__name__}")
    return decoded

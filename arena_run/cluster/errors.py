"""A failure talking to the cluster, and how each kind of failure is said in one line.

Shared by the transport (a request without a usable answer), the log stream
(a followed log that broke off) and connecting (a kubeconfig that cannot be
used); each turns what went wrong into a ClusterError, never a traceback.
"""

from __future__ import annotations

import json
from typing import Optional

from ..spec.errors import UserError
from .retry import BROKEN, NOT_SENT, RESET, TIMEOUT


class ClusterError(UserError):
    """A failure talking to the cluster, said in one line."""

    def __init__(self, message: str, status: Optional[int] = None, reason: str = ""):
        super().__init__(message)
        self.status = status
        self.reason = reason


def one_line(exc: BaseException) -> str:
    return " ".join(str(getattr(exc, "reason", None) or exc).split())[:300]


def transport_failure(exc: BaseException) -> tuple[str, str]:
    """(retry kind, reason) of a request that got no usable answer."""
    from urllib3.exceptions import (ConnectTimeoutError, NewConnectionError, ProtocolError, ReadTimeoutError,
                                    SSLError)

    text = one_line(exc)
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


def api_error(status: int, reason: str, data: bytes) -> ClusterError:
    """The API server's refusal (its Status object) as one line, with its status and reason kept."""
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

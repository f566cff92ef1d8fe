"""Where requests go and how they are let in: the server, its TLS settings and the credentials, as one pool.

An Endpoint is what a kubeconfig context (or the in-cluster service account)
comes down to.  `pool` turns it into the urllib3 connection pool every request
of the process goes through, set up as the official client's REST layer sets
its own (kubernetes/client/rest.py): the CA to trust or none, the client
certificate, SNI for tls-server-name, the proxy, TCP keepalive.  The client
certificate and key are loaded into the TLS context once, here, so that key
data from a kubeconfig never has to stay on disk.
"""

from __future__ import annotations

import os
import socket
import ssl
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

# The Authorization header for the next request ("Bearer …", "Basic …"), or
# None; called before every attempt, so a credential that expires (an exec
# plugin's token, a rotated service-account token) is renewed by whoever made it.
Authorization = Callable[[], Optional[str]]


def _none() -> Optional[str]:
    return None


@dataclass(frozen=True)
class Endpoint:
    server: str  # https://host:port, without a trailing slash
    ca_file: Optional[str] = None
    ca_data: Optional[bytes] = None  # PEM
    cert_file: Optional[str] = None
    key_file: Optional[str] = None
    cert_data: Optional[bytes] = None  # PEM, from client-certificate-data
    key_data: Optional[bytes] = None  # PEM, from client-key-data
    verify: bool = True  # False: insecure-skip-tls-verify
    server_name: Optional[str] = None  # tls-server-name: SNI and the name the certificate must hold
    proxy: Optional[str] = None  # proxy-url
    authorization: Authorization = field(default=_none, compare=False)


# client-go dials with a 30 s keepalive; Go probes 9 times, 15 s apart.
KEEPALIVE = (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 9))


def _socket_options() -> list[tuple[int, int, int]]:
    from urllib3.connection import HTTPConnection

    options = list(HTTPConnection.default_socket_options)  # TCP_NODELAY
    options.append((socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    for name, value in KEEPALIVE:
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


def tls_context(endpoint: Endpoint) -> ssl.SSLContext:
    """The TLS context of every connection: whom to trust, and the client certificate, loaded once."""
    from urllib3.util.ssl_ import create_urllib3_context

    context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED if endpoint.verify else ssl.CERT_NONE)
    if endpoint.verify:
        if endpoint.ca_file or endpoint.ca_data:
            context.load_verify_locations(cafile=endpoint.ca_file,
                                          cadata=endpoint.ca_data.decode("ascii") if endpoint.ca_data else None)
        else:
            context.load_default_certs()
    if endpoint.cert_data is not None or endpoint.key_data is not None:
        _load_chain_data(context, endpoint)
    elif endpoint.cert_file:
        context.load_cert_chain(endpoint.cert_file, endpoint.key_file)
    return context


def _load_chain_data(context: ssl.SSLContext, endpoint: Endpoint) -> None:
    # ssl reads a certificate chain from files only: write them where only
    # this user can read, load them, and remove them at once.
    with tempfile.TemporaryDirectory(prefix="arena-run-tls-") as tmp:
        os.chmod(tmp, 0o700)
        cert = endpoint.cert_file
        key = endpoint.key_file
        if endpoint.cert_data is not None:
            cert = os.path.join(tmp, "cert.pem")
            with open(cert, "wb") as fh:
                fh.write(endpoint.cert_data)
        if endpoint.key_data is not None:
            key = os.path.join(tmp, "key.pem")
            with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as fh:
                fh.write(endpoint.key_data)
        if cert is None:
            raise ValueError("client-key-data without a client certificate")
        context.load_cert_chain(cert, key)


def pool(endpoint: Endpoint, maxsize: int) -> Any:
    """The urllib3 pool for the endpoint: maxsize connections kept open, none retried by urllib3."""
    import urllib3

    args: dict[str, Any] = {
        "maxsize": maxsize,
        "retries": False,  # arena-run's own retries (retry.py)
        "socket_options": _socket_options(),
    }
    if endpoint.server.startswith("https:"):
        args["ssl_context"] = tls_context(endpoint)
        args["cert_reqs"] = ssl.CERT_REQUIRED if endpoint.verify else ssl.CERT_NONE
        if endpoint.server_name:
            args["server_hostname"] = endpoint.server_name
    if endpoint.proxy:
        if endpoint.proxy.split("://")[0].lower() in ("socks5", "socks5h", "socks4", "socks4a"):
            from urllib3.contrib.socks import SOCKSProxyManager

            return SOCKSProxyManager(endpoint.proxy, **args)
        return urllib3.ProxyManager(endpoint.proxy, **args)
    return urllib3.PoolManager(**args)

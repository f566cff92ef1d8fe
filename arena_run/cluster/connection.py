"""Connecting as kubectl does: which kubeconfig, which context, or the in-cluster service account.

Nothing is sent here; the result is a Cluster whose transport holds the one
connection pool every request of the process goes through.
"""

from __future__ import annotations

import os
from typing import Optional

from .errors import ClusterError, one_line
from .retry import RetryPolicy
from .transport import CONCURRENCY, Transport
from .verbs import Cluster


def connect(kubeconfig: Optional[str] = None, context: Optional[str] = None, concurrency: Optional[int] = None,
            retry: Optional[RetryPolicy] = None) -> Cluster:
    """Connect as kubectl would: --kubeconfig, $KUBECONFIG (merged), ~/.kube/config, then in-cluster.

    concurrency: requests in flight at once (default $ARENA_RUN_CONCURRENCY,
    else transport.CONCURRENCY).  Nothing is sent yet; the first request
    finds out whether the server answers.
    """
    if concurrency is None:
        concurrency = _concurrency_from_env()
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    from . import kubeconfig as kc

    cfg = client.Configuration()
    env = os.environ.get("KUBECONFIG")
    paths = [kubeconfig] if kubeconfig else kc.candidates(env)
    try:
        merged, found = kc.load(paths)
    except (kc.KubeconfigError, OSError) as exc:
        raise ClusterError(f"cannot use kubeconfig: {one_line(exc)}") from None
    if kubeconfig and not found:
        raise ClusterError(f"cannot use kubeconfig {kubeconfig}: no such file")
    if found:
        where = os.pathsep.join(found)
        try:
            config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]  # untyped in the kubernetes package
                merged, context=context, client_configuration=cfg, persist_config=False)
        except (ConfigException, OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ClusterError(f"cannot use kubeconfig {where}: {one_line(exc)}") from None
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
    # Retries are arena-run's own (Transport.request, retry.py), not urllib3's.
    cfg.retries = False
    # A connection for each request in flight, and one for a followed log
    # beside them: none is opened (TLS handshake and all) and dropped per request.
    cfg.connection_pool_maxsize = concurrency + 1
    # TCP keepalive as client-go sets it: a followed log has no read timeout,
    # so a peer that vanished is noticed by the kernel's probes instead.
    cfg.keep_alive = True
    return Cluster(Transport(client.ApiClient(cfg), cfg.host, source, retry, concurrency), namespace)


def _concurrency_from_env() -> int:
    text = os.environ.get("ARENA_RUN_CONCURRENCY", "").strip()
    if not text:
        return CONCURRENCY
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ClusterError(f"ARENA_RUN_CONCURRENCY must be a whole number of requests, 1 or more, not {text!r}")
    return value

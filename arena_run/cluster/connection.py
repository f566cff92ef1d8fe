"""Connecting as kubectl does: which kubeconfig, which context, or the in-cluster service account.

Nothing is sent here; the result is a Cluster whose transport holds the one
connection pool every request of the process goes through.  A context with
static credentials is read by kubeconfig.py alone; the official client's
loader (and the `kubernetes` package with it) is imported only for exec
plugins, auth providers and the in-cluster service account.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

from .endpoint import Endpoint
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
    from . import kubeconfig as kc

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
        endpoint = kc.static_endpoint(merged, context) or _loaded_endpoint(merged, context, where)
        chosen, namespace = kc.context_namespace(merged, context)
        source = f"kubeconfig {where}, context {chosen or '?'}"
    else:
        endpoint = _in_cluster_endpoint(env)
        source = "in-cluster service account"
        namespace = "default"
        try:
            with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace") as fh:
                namespace = fh.read().strip() or "default"
        except OSError:
            pass
    return Cluster(Transport(endpoint, source, retry, concurrency), namespace)


def _loaded_endpoint(merged: dict[str, Any], context: Optional[str], where: str) -> Endpoint:
    """The official client's loader decides: exec plugins, auth providers, and whatever is unusual."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    try:
        with _LoaderSays() as said:
            config.load_kube_config_from_dict(  # type: ignore[no-untyped-call]  # untyped in the kubernetes package
                merged, context=context, client_configuration=cfg, persist_config=False)
    except (ConfigException, OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ClusterError(f"cannot use kubeconfig {where}: {one_line(exc)}") from None
    if said.lines and not (cfg.api_key or cfg.cert_file):
        # A plugin that failed: the loader only logs it and goes on with no
        # credentials, which the server would answer as system:anonymous.
        raise ClusterError(f"cannot use kubeconfig {where}: {said.lines[-1]}")
    return _endpoint_of(cfg)


class _LoaderSays(logging.Handler):
    """What the official loader logs meanwhile (it reports a failed exec plugin only so), kept off stderr."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(" ".join(record.getMessage().split())[:300])

    def __enter__(self) -> "_LoaderSays":
        logging.getLogger().addHandler(self)  # so that logging.error adds no stderr handler of its own
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def _in_cluster_endpoint(env: Optional[str]) -> Endpoint:
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    cfg = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]  # likewise
    except ConfigException:
        if env:
            raise ClusterError(f"$KUBECONFIG names no existing file: {env}") from None
        raise ClusterError(
            "no cluster configured: tried --kubeconfig, $KUBECONFIG, ~/.kube/config and in-cluster config; "
            "to run on this machine instead, add --local (arena-run apply --local --wait FILE)"
        ) from None
    return _endpoint_of(cfg)


def _endpoint_of(cfg: Any) -> Endpoint:
    """The official client's Configuration as an Endpoint; its credentials are asked for at every request,
    so its refresh hook renews an exec plugin's token or a rotated service-account token as it would."""
    from kubernetes.config.config_exception import ConfigException

    def authorization() -> Optional[str]:
        try:
            with _LoaderSays() as said:
                value: Optional[str] = cfg.get_api_key_with_prefix("BearerToken", alias="authorization")
        except ConfigException as exc:
            raise ValueError(one_line(exc)) from None
        if said.lines:  # renewing the credentials failed (an exec plugin's exit, say)
            raise ValueError(said.lines[-1])
        return value

    ca_data = cfg.ca_cert_data
    return Endpoint(
        server=cfg.host.rstrip("/"), ca_file=cfg.ssl_ca_cert,
        ca_data=ca_data.encode("ascii") if isinstance(ca_data, str) else ca_data,
        cert_file=cfg.cert_file, key_file=cfg.key_file, verify=bool(cfg.verify_ssl),
        server_name=cfg.tls_server_name, proxy=cfg.proxy, authorization=authorization)


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

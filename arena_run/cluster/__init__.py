"""Everything that talks to Kubernetes; the only package importing its client.

transport.py issues every request (one connection pool), verbs.py says what
to ask (Cluster), logstream.py reads a followed log, connection.py finds the
cluster as kubectl would, endpoint.py is the server, its TLS settings and the
credentials as one urllib3 pool.  The official client is imported only where
its loader is needed (exec plugins, auth providers, in-cluster), so neither
`import arena_run.cluster` nor a command on a kubeconfig with static
credentials pays for the `kubernetes` package.
"""

from .connection import connect
from .errors import ClusterError
from .logstream import LogStream
from .retry import RetryPolicy
from .transport import Attempt, Transport
from .verbs import Cluster

__all__ = ["Attempt", "Cluster", "LogStream", "RetryPolicy", "ClusterError", "Transport", "connect"]

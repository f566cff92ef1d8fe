"""Everything that talks to Kubernetes; the only package importing its client.

transport.py issues every request (one connection pool), verbs.py says what
to ask (Cluster), logstream.py reads a followed log, connection.py finds the
cluster as kubectl would.  The client itself is imported inside `connect` and
the request methods, so `import arena_run.cluster` stays cheap for commands
that never connect.
"""

from .connection import connect
from .errors import ClusterError
from .logstream import LogStream
from .retry import RetryPolicy
from .transport import Attempt, Transport
from .verbs import Cluster

__all__ = ["Attempt", "Cluster", "LogStream", "RetryPolicy", "ClusterError", "Transport", "connect"]

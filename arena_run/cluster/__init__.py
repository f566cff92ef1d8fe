"""Everything that talks to Kubernetes; the only package importing its client.

The client itself is imported inside `connect` and the request methods, so
`import arena_run.cluster` stays cheap for commands that never connect.
"""

from .client import FIELD_MANAGER, Attempt, Cluster, ClusterError, LogStream, connect
from .kinds import KINDS, Kind, kind_of
from .retry import RetryPolicy

__all__ = ["FIELD_MANAGER", "KINDS", "Attempt", "Cluster", "LogStream", "RetryPolicy", "ClusterError", "Kind", "connect", "kind_of"]

"""arena-run from Python: the operations of the CLI, returning the same objects it prints.

Every verb takes the target first: a cluster (`connect()`) or this machine
(`local()`), and does the same on either.

    import arena_run.api as ar

    cluster = ar.connect()                      # kubeconfig as kubectl finds it; ar.local() for this machine
    plans = ar.plan(cluster, "examples/tf-git")
    for p in plans:
        print(p.experiment, p.counts())
    ar.apply(cluster, plans)
    for s in ar.status(cluster):
        print(s.name, s.phase, s.sync)
    ar.delete(cluster, "tf-git")

Checking on work, as the CLI's logs, top, prune and data do:

    print(b"".join(ar.logs(cluster, "tf-git", tail=20)).decode())
    print(ar.top_nodes(cluster).summary)        # GPUs allocated/total
    for job in ar.top_jobs(cluster):
        print(job.name, job.phase, job.gpus_allocated, job.gpus_requested)
    for c in ar.prunable(cluster, "7d"):        # ar.prune(cluster, "7d") deletes them
        print(c.name, c.ago)
    for claim in ar.data(cluster):
        print(claim.name, claim.capacity, claim.experiments)

Every file is validated before anything is read from or written to the
target; errors are raised as SpecError (bad files), ClusterError (the
cluster said no), or ApplyError (the plan was refused or failed).

The verbs live in changes.py (plan, diff, apply, wait, find, delete) and
reading.py (status, logs, top, prune, data); the targets in target.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..apply import ApplyError, Found, Interrupted, Locked, ObjectState, Result, WaitFailed
from ..apply.consent import Consent, Restart, RestartRefused, restarts
from ..apply.events import Applied, Deleted, Gone, Pulling, Waiting
from ..cluster import Attempt, Cluster, ClusterError
from ..objects.keys import Key
from ..objects.reader import LogChunks, Reader
from ..plan import Plan
from ..plan.diff import MISSING
from ..plan.display import shown_pair
from ..plan.unified import ObjectDiff
from ..spec.errors import SpecError
from ..spec.load import Loaded, load_text
from ..spec.model import Experiment
from ..spec.sources import Source, Sources
from ..status.data import Claim
from ..status.duration import parse_duration
from ..status.experiments import ExperimentStatus
from ..status.logs import LogsError, PodContainer
from ..status.prune import Candidate
from ..objects.kueue import Queueing
from ..status.table import status_rows, wide_rows
from ..status.top import JobGPUs, NodeReport
from ..status.top_queue import QueueReport
from .changes import apply, delete, diff, find, load, lookup, plan, resolve_names, source_of, wait
from .reading import data, log_container, logs, prunable, prune, status, top_jobs, top_nodes, top_queues
from .client import Client
from .views import Plans, Statuses
from .target import Target, connect, local, namespace_for, namespace_of

if TYPE_CHECKING:  # the local target is imported only when used
    from ..local.view import LocalView

__all__ = [
    # targets
    "LocalView", "Target", "connect", "local", "namespace_for", "namespace_of",
    # the verbs
    "apply", "data", "delete", "diff", "find", "load", "load_text", "log_container", "logs", "lookup", "plan",
    "prunable", "prune", "resolve_names", "restarts", "source_of", "status", "top_jobs", "top_nodes", "top_queues",
    "wait",
    # what they take and return
    "Applied", "ApplyError", "Attempt", "Candidate", "Claim", "Cluster", "ClusterError", "Deleted", "Experiment",
    "Consent", "ExperimentStatus", "Found", "Gone", "Interrupted", "JobGPUs", "Key", "Loaded", "Locked",
    "LogChunks", "LogsError", "MISSING", "NodeReport", "ObjectDiff", "ObjectState", "Plan", "PodContainer",
    "QueueReport", "Queueing", "Reader",
    "Restart", "RestartRefused", "Result", "Pulling", "Source", "Sources", "SpecError", "WaitFailed", "Waiting",
    "parse_duration", "shown_pair", "status_rows", "wide_rows", "Client", "Plans", "Statuses",
]


def __getattr__(name: str) -> object:
    # The local target's types, imported when first asked for (as `from arena_run.api import *` does),
    # so that a cluster-only script never loads the local target.
    if name == "LocalView":
        from ..local.view import LocalView

        return LocalView
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

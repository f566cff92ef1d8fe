"""arena_run.Client: the same methods for a cluster and for this machine.

    from arena_run import Client

    c = Client(local=True)                      # or Client(kubeconfig=..., context=..., namespace=...)
    plan = c.plan("examples/tf-git")            # files, directories, TOML/YAML text, dicts, Experiments
    c.apply(plan)
    c.wait(plan, until="finished")
    for line in c.logs("tf-git", follow=True):
        print(line)
    c.status()                                  # in Jupyter, the CLI's table

Switching target is one constructor argument; every method is a thin layer
over the verbs of arena_run.api with the client's target and namespace.
Annotations are real types (no `from __future__ import annotations`), so
help() and IDEs show them resolved.
"""

import codecs
import datetime as dt
from typing import Callable, Iterator, Literal, Optional, Union, overload

from ..apply import Found, ObjectState, Result
from ..apply.consent import Consent, Restart, restarts
from ..apply.events import Deleted, Listener
from ..apply.wait import Until
from ..cluster import Cluster
from ..objects.reader import LogChunks
from ..plan import Plan
from ..plan.unified import ObjectDiff
from ..spec.sources import Sources
from ..status.data import Claim
from ..status.experiments import ExperimentStatus
from ..status.prune import Candidate
from ..status.top import JobGPUs, NodeReport
from ..status.top_queue import QueueReport
from . import changes, reading
from .target import Target, connect, local as this_machine
from .views import Plans, Statuses

__all__ = ["Client"]


class Client:
    """Experiments on one target: a cluster (its kubeconfig, context and namespace) or this machine.

    Client(local=True) runs them here, as `arena-run --local`;
    Client(kubeconfig=..., context=..., namespace=...) on a cluster, as
    kubectl finds it (nothing is sent before the first call).  Every input is
    validated as a file is: a mistake raises SpecError with its location (file,
    line and key path; key path alone for a dict or an Experiment) and a
    suggestion where there is one.
    """

    def __init__(self, *, local: bool = False, kubeconfig: Optional[str] = None, context: Optional[str] = None,
                 namespace: Optional[str] = None, state_dir: Optional[str] = None, runner: Optional[str] = None,
                 target: Optional[Target] = None) -> None:
        if local and (kubeconfig or context or namespace):
            raise ValueError("kubeconfig, context and namespace are a cluster's; not with local=True")
        if (state_dir or runner) and not local:
            raise ValueError("state_dir and runner are this machine's; only with local=True")
        self.local = local
        self.namespace = namespace
        self.target: Target = target if target is not None else this_machine(state_dir, runner) if local else connect(
            kubeconfig, context)

    def __repr__(self) -> str:
        if not isinstance(self.target, Cluster):
            runner = self.target.runner
            return "Client(local=True)" if runner == "process" else f"Client(local=True, runner={runner!r})"
        return f"Client(server={self.target.server!r}, namespace={self.namespace or self.target.namespace!r})"

    # --- changing the target -------------------------------------------------------

    def plan(self, sources: Sources, *, adopt: bool = False, rerun: bool = False,
             replace_running: bool = False) -> Plans:
        """What apply would do for each experiment; reads the target, changes nothing.

        A change only this arena-run's rendering makes to a job that has not finished is deferred until
        it ends (op "defer"); replace_running=True plans it as a replacement now.
        """
        return Plans(changes.plan(self.target, sources, namespace=self.namespace, adopt=adopt, rerun=rerun,
                                  replace_running=replace_running))

    def apply(self, sources: Union[Sources, list[Plan]], *, adopt: bool = False, rerun: bool = False,
              wait: Union[bool, Until] = False, timeout: float = 600, progress: Listener = None,
              volumes: Optional[dict[str, str]] = None, replace_running: Consent = False) -> list[Result]:
        """Make the target match the files (or carry out plans made before); a second call changes nothing.

        A job that has not finished is stopped (replaced, or deleted) only with
        consent: replace_running=True for every such job, or the keys of those
        allowed (restarts() lists them); otherwise its experiment is not written
        and RestartRefused is raised after the others are applied.
        wait: True waits as `apply --wait` does (a cluster: until ready; this
        machine: until finished), or say "ready" or "finished".  volumes (this
        machine only): a PVC's claim name -> a directory.
        """
        return changes.apply(self.target, sources, namespace=self.namespace, adopt=adopt, rerun=rerun, wait=wait,
                             timeout=timeout, progress=progress, volumes=volumes, replace_running=replace_running)

    def restarts(self, plans: list[Plan]) -> list[Restart]:
        """The unfinished jobs that applying the plans would stop: what replace_running consents to."""
        return [r for p in plans for r in restarts(p)]

    def diff(self, plans: list[Plan]) -> list[ObjectDiff]:
        """Each object the plans change as a unified YAML diff, live against what the server would make of
        the apply (a dry run, as kubectl diff).  A cluster's only."""
        if not isinstance(self.target, Cluster):
            raise ValueError("diff compares with a cluster's dry run; not with local=True")
        return changes.diff(self.target, plans)

    def wait(self, plans: list[Plan], *, until: Until = "ready", timeout: float = 600,
             progress: Optional[Callable[[list[ObjectState]], None]] = None) -> list[ObjectState]:
        """Until the plans' objects are ready (jobs running or finished) or, until="finished", their jobs
        Succeeded; servers until available.  Raises WaitFailed when a job fails or time runs out."""
        return changes.wait(self.target, plans, until=until, timeout=timeout, progress=progress)

    def find(self, sources: Sources) -> list[Found]:
        """What of each experiment is on the target: what delete would remove."""
        return changes.find(self.target, sources, namespace=self.namespace)

    def delete(self, sources: Union[Sources, list[Found]], *, wait: bool = False, timeout: float = 300,
               progress: Listener = None) -> list[Deleted]:
        """Delete experiments (files, directories, names, or what find returned): every object, then the parent."""
        return changes.delete(self.target, sources, namespace=self.namespace, wait=wait, timeout=timeout,
                              progress=progress)

    def prune(self, since: Union[str, dt.timedelta], *, dry_run: bool = False,
              all_namespaces: bool = False) -> list[Candidate]:
        """Delete experiments whose jobs all finished longer ago than since ("7d"); dry_run: only find them."""
        if dry_run:
            return reading.prunable(self.target, since, namespace=self.namespace, all_namespaces=all_namespaces)
        return reading.prune(self.target, since, namespace=self.namespace, all_namespaces=all_namespaces)

    # --- checking on work ------------------------------------------------------------

    def status(self, sources: Optional[Sources] = None, *, all_namespaces: bool = False) -> Statuses:
        """Experiments of the namespace (or all), or those the files, directories or names mean."""
        return Statuses(reading.status(self.target, sources, namespace=self.namespace, all_namespaces=all_namespaces),
                        all_namespaces=all_namespaces)

    def logs(self, experiment: str, *, follow: bool = False, tail: Optional[int] = None,
             since: Union[str, dt.timedelta, None] = None, timestamps: bool = False, component: str = "job",
             role: Optional[str] = None, index: Optional[int] = None, point: Optional[str] = None,
             wait: bool = False) -> Iterator[str]:
        """A job's log line by line (str, without the line break): its chief, or worker 0, or the replica
        role/index picks.  follow: until the container ends; wait: for a container that has not started."""
        chunks = reading.logs(self.target, experiment, namespace=self.namespace, component=component, role=role,
                              index=index, point=point, follow=follow, tail=tail, since=since,
                              timestamps=timestamps, wait=wait or follow)
        return lines(chunks)

    @overload
    def top(self, of: Literal["jobs"] = "jobs", *, all_namespaces: bool = False) -> list[JobGPUs]: ...

    @overload
    def top(self, of: Literal["nodes"], *, all_namespaces: bool = False) -> NodeReport: ...

    @overload
    def top(self, of: Literal["queues"], *, all_namespaces: bool = False) -> QueueReport: ...

    def top(self, of: Literal["jobs", "nodes", "queues"] = "jobs", *,
            all_namespaces: bool = False) -> Union[list[JobGPUs], NodeReport, QueueReport]:
        """GPUs per job (phase, requested, allocated, nodes, age); of="nodes", per node; of="queues", Kueue's
        LocalQueues (pending, admitted) and their ClusterQueues' quota and usage (this machine: its one queue)."""
        if of == "nodes":
            return reading.top_nodes(self.target)
        if of == "queues":
            return reading.top_queues(self.target, namespace=self.namespace, all_namespaces=all_namespaces)
        if of != "jobs":
            raise ValueError(f"of must be 'jobs', 'nodes' or 'queues', not {of!r}")
        return reading.top_jobs(self.target, namespace=self.namespace, all_namespaces=all_namespaces)

    def data(self, *, all_namespaces: bool = False) -> list[Claim]:
        """The namespace's PVCs: capacity, access modes, status, and the experiments that mount them."""
        return reading.data(self.target, namespace=self.namespace, all_namespaces=all_namespaces)


def lines(chunks: LogChunks) -> Iterator[str]:
    """Byte chunks as str lines: UTF-8 decoded across chunk boundaries (a bad byte is U+FFFD), the
    line break dropped; the last line even without one."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    pending = ""
    try:
        for chunk in chunks:
            pending += decoder.decode(chunk)
            *done, pending = pending.split("\n")
            for line in done:
                yield line.removesuffix("\r")
        pending += decoder.decode(b"", final=True)
        if pending:
            yield pending
    finally:
        chunks.stop()  # the caller may have left early: end the stream (and its follower) too

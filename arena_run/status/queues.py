"""Kueue's view of arena-run's queued jobs, read beside the jobs themselves (`status`).

The Workloads and LocalQueues of a namespace are two LISTs that go out in the
same round trip as the jobs (one LIST of each per namespace, whatever the
number of jobs); a job finds its Workload by Kueue's owner reference.  Only
when some job is queued does a second round ask Kueue's visibility API for
the positions, one GET per LocalQueue that holds a queued job.  Where this user
may not read Kueue's objects (403), or the cluster serves no Kueue (404), the
jobs are shown as their own status says, and the queue as not readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..cluster import ClusterError
from ..objects.kinds import Kind
from ..objects.kueue import (
    JOB_UID, LOCAL_QUEUE, PENDING, WORKLOAD, Queueing, queue_of, queue_problem, workload_queueing, workloads_by_job,
)
from ..objects.live import side_by_side
from ..objects.reader import Reader

Listed = Optional[list[dict[str, Any]]]  # None: not readable here (forbidden, or not served)


def readable_list(reader: Reader, kind: Kind, namespace: Optional[str],
                  selector: Optional[str] = None) -> Callable[[], Listed]:
    """A LIST of one of Kueue's kinds; None where this user may not, or the cluster does not serve it."""
    def call() -> Listed:
        try:
            return reader.list(kind, namespace, selector=selector)
        except ClusterError as exc:
            if exc.status in (403, 404):
                return None
            raise
    return call


def reads(reader: Reader, namespace: Optional[str]) -> list[Callable[[], Listed]]:
    """The LISTs to send beside the jobs': the namespace's Workloads (those of a job), its LocalQueues."""
    return [readable_list(reader, WORKLOAD, namespace, JOB_UID), readable_list(reader, LOCAL_QUEUE, namespace)]


@dataclass
class Kueue:
    """What the two LISTs found, for looking each job up."""

    workloads: Listed
    local_queues: Listed
    _by_job: dict[str, dict[str, Any]] = field(default_factory=dict)
    _queues: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_job = workloads_by_job(self.workloads or [])
        self._queues = {(str(q["metadata"].get("namespace")), str(q["metadata"]["name"])): q
                        for q in self.local_queues or []}

    def queueing(self, job: dict[str, Any]) -> Optional[Queueing]:
        """Kueue's word on a job that carries a queue label; None for one that carries none."""
        name = queue_of(job)
        if name is None:
            return None
        ns = str(job["metadata"].get("namespace"))
        if self.workloads is None:
            return Queueing(name, "unknown", message="Kueue's Workloads are not readable here (forbidden, or "
                            "this cluster serves no Kueue v1beta2): the job's own status is shown")
        found = workload_queueing(job, self._by_job.get(str(job["metadata"].get("uid"))))
        local_queue = self._queues.get((ns, name))
        if not found.cluster_queue and local_queue is not None:
            found.cluster_queue = str((local_queue.get("spec") or {}).get("clusterQueue") or "")
        if found.state in ("queued", "no workload") and self.local_queues is not None:
            problem = queue_problem(ns, name, local_queue)
            if problem:
                found.message = problem  # what Kueue says too, with what to look at
        return found


def add_positions(reader: Reader, queued: list[tuple[str, Queueing, dict[str, Any]]]) -> None:
    """Each queued job's place among its LocalQueue's pending workloads, from Kueue's visibility API.

    queued: (namespace, its Queueing, the job).  One GET per LocalQueue,
    side by side; a LocalQueue the API does not answer for leaves the positions unknown."""
    queues = sorted({(ns, q.local_queue) for ns, q, _ in queued})
    if not queues:
        return
    answers = side_by_side(reader, [_pending(reader, ns, name) for ns, name in queues])
    # (namespace, LocalQueue) -> job uid -> (its place in the LocalQueue, in the ClusterQueue), 1 first
    places: dict[tuple[str, str], dict[str, tuple[Optional[int], Optional[int]]]] = {}
    for (ns, name), answer in zip(queues, answers):
        for item in (answer or {}).get("items") or []:
            owners = [o.get("uid") for o in (item.get("metadata") or {}).get("ownerReferences") or []]
            place = tuple(p + 1 if isinstance(p, int) else None
                          for p in (item.get("positionInLocalQueue"), item.get("positionInClusterQueue")))
            for uid in owners:
                places.setdefault((ns, name), {})[str(uid)] = (place[0], place[1])
    for ns, q, job in queued:
        q.position, q.cluster_position = places.get((ns, q.local_queue), {}).get(
            str(job["metadata"].get("uid")), (None, None))


def _pending(reader: Reader, namespace: str, local_queue: str) -> Callable[[], Optional[dict[str, Any]]]:
    def call() -> Optional[dict[str, Any]]:
        try:
            # The subresource's path: a Reader's get joins the name onto the kind's path.
            return reader.get(PENDING, namespace, f"{local_queue}/pendingworkloads")
        except ClusterError:
            return None  # not served (Kueue's visibility API is optional), or not allowed: no positions
    return call


def describe(q: Queueing) -> str:
    """One line: where the job waits, its place, Kueue's reason."""
    where = f"in LocalQueue {q.local_queue}" + (f" (ClusterQueue {q.cluster_queue})" if q.cluster_queue else "")
    place = f", #{q.position} of its pending workloads" if q.position else ""
    if q.position and q.cluster_position and q.cluster_position != q.position:
        place += f", #{q.cluster_position} of its ClusterQueue's"  # other LocalQueues share the quota
    since = f" since {q.since}" if q.since else ""
    reason = ": ".join(x for x in (q.reason, q.message) if x)
    line = f"Queued {where}{place}{since}" + (f": {reason}" if reason else "")
    if q.evicted:
        line += f" (requeued after {q.evicted})"
    return line


def admitted(q: Queueing) -> str:
    """The line of a job Kueue has let run (or finished, or could not find): by whom and since when."""
    if q.state == "admitted":
        return f"Admitted by ClusterQueue {q.cluster_queue or '?'} (LocalQueue {q.local_queue})" + \
            (f" since {q.since}" if q.since else "")
    return "" if q.state == "finished" else q.message

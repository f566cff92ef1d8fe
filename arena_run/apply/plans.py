"""Applying many experiments at once, and stopping them all on Ctrl-C.

Each experiment keeps its own ApplySet order and lock (writes.py); as many
of them are applied side by side as the cluster's transport has requests in
flight (its concurrency), each also writing its own objects concurrently:
while one experiment waits for its parent's answer, others' members are
written, and the transport holds back whatever exceeds its bound.  A failure
in one does not stop the others.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Union

from ..cluster import Cluster, ClusterError
from ..plan import Plan
from .errors import ApplyError
from .events import Applied, Listener, tell
from .writes import Interrupted, Result, apply_plan, recheck

def apply_plans(cluster: Cluster, plans: list[Plan], progress: Listener = None) -> list[Result]:
    """Apply the plans that change something, experiments side by side.

    The failures are raised together afterwards, as one ApplyError.  Ctrl-C
    stops every experiment before its next write and raises Interrupted,
    which says what was written.  progress hears each Outcome, each wait for
    a replaced job to go (Waiting, Gone), and each experiment's end (Applied).
    """
    todo = [p for p in plans if p.has_changes]
    recheck(cluster, todo)  # after any prompt: names someone else took meanwhile stop it all, unwritten
    stop = threading.Event()

    def one(p: Plan) -> Union[Result, ApplyError]:
        try:
            result: Union[Result, ApplyError] = apply_plan(cluster, p, progress=progress, stop=stop, rechecked=True)
        except ApplyError as exc:
            result = exc
        except ClusterError as exc:  # the parent could not be written: nothing of it was applied
            result = ApplyError([f"{p.experiment}: {exc}"])
        if not isinstance(result, Interrupted):
            tell(progress, Applied(p, error=result) if isinstance(result, ApplyError) else Applied(p, result=result))
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(len(todo), cluster.concurrency))) as pool:
        futures = [pool.submit(one, p) for p in todo]
        try:
            for f in futures:
                f.result()
        except KeyboardInterrupt:
            # No write is sent from here on: none starts, and a retry waiting
            # to send one again gives up (the writes in flight finish).
            stop.set()
            cluster.cancel()
            try:
                pool.shutdown(wait=True, cancel_futures=True)
            finally:
                cluster.resume()  # the connection stays usable (a notebook goes on)
    if stop.is_set():
        partial = []
        for f, p in zip(futures, todo):
            r = None if f.cancelled() else f.result()
            partial.append(r if isinstance(r, Result) else
                           r.results[0] if isinstance(r, Interrupted) else Result(p))
        raise Interrupted(partial)
    results = [f.result() for f in futures]
    failed = [r for r in results if isinstance(r, ApplyError)]
    if failed:
        raise ApplyError([line for exc in failed for line in exc.problems])
    return [r for r in results if isinstance(r, Result)]

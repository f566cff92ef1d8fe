"""One script of arena_run.Client calls, run on this machine (tests/local/test_client_here.py) and on the
control plane (tests/cluster/test_client_on_cluster.py): switching target is the constructor's argument alone."""

from __future__ import annotations

from typing import Callable

from arena_run import api
from tests.waiting import until

LINES = ["hello from the client", "second line"]


def experiment_text(name: str, namespace: str = "") -> str:
    return (f'name = "{name}"\n' + (f'namespace = "{namespace}"\n' if namespace else "")
            + '[job]\nimage = "busybox:1.36"\n'
            + f'command = "echo {LINES[0]}; echo {LINES[1]}"\n')


def drive(c, path: str, name: str, *, started: Callable[[], None], finish: Callable[[], None]) -> None:
    """plan, apply, logs, wait until finished, status, top, delete: the same calls whatever c's target."""
    plans = c.plan(path)
    assert [p.counts() for p in plans] == [{"create": 1}]
    assert len(repr(plans)) < 200 and name in repr(plans)
    (result,) = c.apply(plans)
    assert repr(result) == f"<Result {name}: 1 written, 0 failed>"
    assert not c.plan(path)[0].has_changes
    started()
    until(lambda: list(c.logs(name, wait=True)) == LINES, what="the job's two lines, as str")
    assert all(type(line) is str for line in c.logs(name))
    finish()
    states = c.wait(plans, until="finished", timeout=120)
    assert [(s.kind, s.name, s.phase, s.done, s.failed) for s in states] == [("TFJob", name, "Succeeded", True, False)]
    (st,) = c.status(path)
    assert (st.name, st.phase, st.sync) == (name, "Succeeded", "in sync")
    assert repr(st).startswith(f"<ExperimentStatus {name} in ") and "Succeeded, age " in repr(st)
    assert [(j.experiment, j.name) for j in c.top("jobs")] == [(name, name)]
    assert c.top("nodes").nodes
    # Kueue's queues (this machine: its one implicit queue), as api.top_queues reads them for the same target.
    assert c.top("queues").to_dict() == api.top_queues(c.target, namespace=c.namespace).to_dict()
    assert [d.name for d in c.delete(path)] == [name]
    assert [s.name for s in c.status()] == []

"""`arena-run top node|job|queue`: GPUs per node or per job, as `arena top`; Kueue's queues and quota."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Optional

import click

from .app import cli, examples
from .options import ALL_NAMESPACES, LOCAL, OUTPUT, VERBOSE, client, cluster_options

if TYPE_CHECKING:
    from rich.text import Text


class Grid:
    """Rows gathered, then printed as one grid (show.grid: cheap at a thousand rows)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.rows: list[list[object]] = []

    def add_row(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def __rich__(self) -> Text:
        from .show import grid

        return grid(self.columns, self.rows)


@cli.group(epilog=examples("arena-run top node", "arena-run top job -A", "arena-run top job --local -o json",
                           "arena-run top queue"))
def top() -> None:
    """GPUs per node or per job, as `arena top`; Kueue's queues and their quota."""


@top.command("node", epilog=examples("arena-run top node", "arena-run top node --local -o yaml"))
@VERBOSE
@click.option("--context", help="kubeconfig context (default: the current one).")
@click.option("--kubeconfig", type=click.Path(), help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")
@OUTPUT
@LOCAL
def top_node(kubeconfig: Optional[str], context: Optional[str], output: str, local: bool) -> int:
    """Each node's GPUs: total, allocated, unhealthy; then the cluster's (--local: this machine's)."""
    from . import show

    report = client(local, kubeconfig, context).top("nodes")
    if output != "table":
        show.structured(report.to_dict(), output)
        return 0
    table = Grid(["NAME", "IPADDRESS", "ROLE", "STATUS", "GPU(Total)", "GPU(Allocated)", "GPU(Unhealthy)"])
    for n in report.nodes:
        table.add_row(n.name, n.address, n.role, n.status, str(n.gpus_total), str(n.gpus_allocated),
                      str(n.gpus_unhealthy))
    show.out.print(table)
    show.out.print(f"Allocated/Total GPUs in cluster: {report.summary}"
                   + (f", {report.unhealthy} unhealthy" if report.unhealthy else ""))
    return 0


@top.command("job", epilog=examples("arena-run top job", "arena-run top job -A -o json"))
@cluster_options
@ALL_NAMESPACES
@OUTPUT
@LOCAL
def top_job(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool,
            output: str, local: bool) -> int:
    """Per job of every experiment: status, GPUs requested and allocated, nodes, age."""
    from . import show

    jobs = client(local, kubeconfig, context, namespace).top("jobs", all_namespaces=all_namespaces)
    if output != "table":
        show.structured([asdict(j) for j in jobs], output)
        return 0
    if not jobs:
        show.out.print("No jobs.")
        return 0
    table = Grid((["NAMESPACE"] if all_namespaces else []) +
                 ["EXPERIMENT", "JOB", "PHASE", "GPU(Requested)", "GPU(Allocated)", "NODES", "AGE"])
    for j in jobs:
        table.add_row(*([j.namespace] if all_namespaces else []), j.experiment, j.name, j.phase,
                      str(j.gpus_requested), str(j.gpus_allocated), ",".join(j.nodes) or "-", j.age)
    show.out.print(table)
    show.out.print(f"Allocated/Requested GPUs of these jobs: {sum(j.gpus_allocated for j in jobs)}/"
                   f"{sum(j.gpus_requested for j in jobs)}")
    return 0


@top.command("queue", epilog=examples("arena-run top queue", "arena-run top queue -A -o json",
                                      "arena-run top queue --local"))
@cluster_options
@ALL_NAMESPACES
@OUTPUT
@LOCAL
def top_queue(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool,
              output: str, local: bool) -> int:
    """Kueue's queues: each LocalQueue's pending and admitted workloads, its ClusterQueue's GPU quota used/nominal;
    then each ClusterQueue's quota, usage and borrowing per flavor and resource, GPUs first.

    A user who may not read the cluster-scoped ClusterQueues gets the LocalQueues and a note saying so.
    With --local: this machine's one implicit queue (docs/local.md).
    """
    from . import show

    report = client(local, kubeconfig, context, namespace).top("queues", all_namespaces=all_namespaces)
    if output != "table":
        show.structured(report.to_dict(), output)
        return 0
    if not report.local_queues:
        show.out.print("No LocalQueues.")
    else:
        table = Grid((["NAMESPACE"] if all_namespaces else []) +
                     ["LOCALQUEUE", "CLUSTERQUEUE", "ACTIVE", "PENDING", "ADMITTED", "GPU(Used/Nominal)"])
        for q in report.local_queues:
            gpus = report.gpus(q.cluster_queue)
            own = next((r.used for r in q.usage if r.resource == "nvidia.com/gpu"), "0")
            table.add_row(*([q.namespace] if all_namespaces else []), q.name, q.cluster_queue, q.active,
                          str(q.pending), str(q.admitted), f"{gpus.used}/{gpus.nominal}" if gpus else f"{own}/-")
        show.out.print(table)
    if any(c.resources for c in report.cluster_queues):
        show.out.print("")
        cqs = Grid(["CLUSTERQUEUE", "COHORT", "FLAVOR", "RESOURCE", "NOMINAL", "USED", "BORROWED"])
        for c in report.cluster_queues:
            for r in c.resources:
                cqs.add_row(c.name, c.cohort or "-", r.flavor, r.resource, r.nominal, r.used, r.borrowed)
        show.out.print(cqs)
    for note in report.notes:
        show.err.print(f"note: {note}")
    return 0

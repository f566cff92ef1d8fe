"""`arena-run top node|job`: GPUs per node or per job, as `arena top`."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Optional

import click

from .app import cli
from .options import ALL_NAMESPACES, LOCAL, OUTPUT, cluster_options, target

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


@cli.group()
def top() -> None:
    """GPUs per node or per job, as `arena top`."""


@top.command("node")
@click.option("--context", help="kubeconfig context (default: the current one).")
@click.option("--kubeconfig", type=click.Path(), help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config).")
@OUTPUT
@LOCAL
def top_node(kubeconfig: Optional[str], context: Optional[str], output: str, local: bool) -> int:
    """Each node's GPUs: total, allocated, unhealthy; then the cluster's (--local: this machine's)."""
    from ..api import top_nodes
    from . import show

    report = top_nodes(target(local, kubeconfig, context))
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


@top.command("job")
@cluster_options
@ALL_NAMESPACES
@OUTPUT
@LOCAL
def top_job(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool,
            output: str, local: bool) -> int:
    """Per job of every experiment: status, GPUs requested and allocated, nodes, age."""
    from ..api import top_jobs
    from . import show

    jobs = top_jobs(target(local, kubeconfig, context), namespace=namespace, all_namespaces=all_namespaces)
    if output != "table":
        show.structured([asdict(j) for j in jobs], output)
        return 0
    if not jobs:
        show.out.print("No jobs.")
        return 0
    table = Grid((["NAMESPACE"] if all_namespaces else []) +
                 ["EXPERIMENT", "JOB", "STATUS", "GPU(Requested)", "GPU(Allocated)", "NODES", "AGE"])
    for j in jobs:
        table.add_row(*([j.namespace] if all_namespaces else []), j.experiment, j.name, j.status,
                      str(j.gpus_requested), str(j.gpus_allocated), ",".join(j.nodes) or "-", j.age)
    show.out.print(table)
    show.out.print(f"Allocated/Requested GPUs of these jobs: {sum(j.gpus_allocated for j in jobs)}/"
                   f"{sum(j.gpus_requested for j in jobs)}")
    return 0

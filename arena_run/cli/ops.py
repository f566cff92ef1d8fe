"""Commands for checking on work, as in Arena: logs, top node, top job, prune, data list.

The computations live in arena_run.status (top, prune, data, logs) and return
data; here they are printed: a rich table for people (plain when piped),
`-o json|yaml` for scripts.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Optional, Union

import click

from .app import cli
from .live import LOCAL, _confirm, _connect, cluster_options

if TYPE_CHECKING:
    from rich.text import Text

    from ..api import LogTarget, Reader

OUTPUT = click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table",
                      show_default=True, help="json/yaml: for scripts.")
ALL_NAMESPACES = click.option("-A", "--all-namespaces", is_flag=True, help="Every namespace.")


class _table:
    """Rows gathered, then printed as one grid (show.grid: cheap at a thousand rows)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.rows: list[list[object]] = []

    def add_row(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def __rich__(self) -> Text:
        from .show import grid

        return grid(self.columns, self.rows)


# --- logs -----------------------------------------------------------------------


@cli.command()
@click.argument("target")
@cluster_options
@click.option("--role", help="Replica type (chief, worker, ps, evaluator, master); default: chief, else worker.")
@click.option("--index", type=click.IntRange(min=0), help="Replica index (default 0).")
@click.option("--point", help="A sweep point: its job name or its 8-digit suffix.")
@click.option("--component", type=click.Choice(["job", "tensorboard", "serving"]), default="job", show_default=True)
@click.option("-f", "--follow", is_flag=True, help="Keep streaming; wait for a pod that has not started.")
@click.option("--tail", type=click.IntRange(min=0), help="Only the last N lines.")
@click.option("--since", help="Only lines newer than this, e.g. 10m, 2h.")
@click.option("--timestamps", is_flag=True, help="Prefix each line with its time.")
@LOCAL
def logs(target: str, namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], role: Optional[str], index: Optional[int], point: Optional[str],
         component: str, follow: bool, tail: Optional[int], since: Optional[str], timestamps: bool, local: bool) -> int:
    """Logs of an experiment's job: its chief (or worker 0), or another replica.

    TARGET is an experiment name or its file.
    """
    from .. import api
    from . import show

    if os.path.exists(target):
        api.load(target)  # a bad file is its located problems, before the cluster is asked
    since_delta = api.parse_duration(since) if since else None
    cluster: Reader
    if local:
        if since or timestamps:
            raise click.UsageError("--since and --timestamps need a cluster's log times; not with --local")
        cluster, namespace = api.local_view(), api.LOCAL_NAMESPACE
    else:
        cluster = _connect(kubeconfig, context)
    found = api.log_target(target, cluster, namespace=namespace, component=component, role=role, index=index,
                           point=point)
    if not found.started:
        if not follow:
            show.err.print(f"{found.what}: {found.reason}; -f waits for it")
            return 1
        said: set[str] = set()

        def waiting(t: LogTarget) -> None:
            if t.reason not in said:
                said.add(t.reason)
                show.err.print(f"{t.what}: {t.reason}; waiting…")

        found = api.log_target(target, cluster, namespace=namespace, component=component, role=role, index=index,
                               point=point, wait=True, on_wait=waiting)
    out = sys.stdout.buffer
    try:
        for chunk in api.logs(found, cluster, follow=follow, tail=tail, since=since_delta, timestamps=timestamps):
            out.write(chunk)
            out.flush()
    except KeyboardInterrupt:
        return 0
    return 0


# --- top ------------------------------------------------------------------------


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
    from ..api import local_view, top_nodes
    from . import show

    report = top_nodes(local_view() if local else _connect(kubeconfig, context))
    if output != "table":
        show.structured(report.to_dict(), output)
        return 0
    table = _table(["NAME", "IPADDRESS", "ROLE", "STATUS", "GPU(Total)", "GPU(Allocated)", "GPU(Unhealthy)"])
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
def top_job(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool, output: str, local: bool) -> int:
    """Per job of every experiment: status, GPUs requested and allocated, nodes, age."""
    from dataclasses import asdict

    from ..api import local_view, top_jobs
    from . import show

    if local:
        jobs = top_jobs(local_view(), all_namespaces=True)
    else:
        jobs = top_jobs(_connect(kubeconfig, context), namespace=namespace, all_namespaces=all_namespaces)
    if output != "table":
        show.structured([asdict(j) for j in jobs], output)
        return 0
    if not jobs:
        show.out.print("No jobs.")
        return 0
    table = _table((["NAMESPACE"] if all_namespaces else []) +
                   ["EXPERIMENT", "JOB", "STATUS", "GPU(Requested)", "GPU(Allocated)", "NODES", "AGE"])
    for j in jobs:
        table.add_row(*([j.namespace] if all_namespaces else []), j.experiment, j.name, j.status,
                      str(j.gpus_requested), str(j.gpus_allocated), ",".join(j.nodes) or "-", j.age)
    show.out.print(table)
    show.out.print(f"Allocated/Requested GPUs of these jobs: {sum(j.gpus_allocated for j in jobs)}/"
                   f"{sum(j.gpus_requested for j in jobs)}")
    return 0


# --- prune ----------------------------------------------------------------------


@cli.command()
@cluster_options
@ALL_NAMESPACES
@click.option("--since", required=True, help="Finished longer ago than this, e.g. 7d, 12h.")
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
def prune(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool, since: str, yes: bool,
          dry_run: bool) -> int:
    """Delete experiments whose jobs all finished longer ago than --since.

    Never one with anything running or pending.
    """
    from .. import api
    from . import show

    older_than = api.parse_duration(since)
    cluster = _connect(kubeconfig, context)
    candidates = api.prunable(older_than, cluster, namespace=namespace, all_namespaces=all_namespaces)
    if not candidates:
        ns = None if all_namespaces else (namespace or cluster.namespace)
        show.out.print(f"Nothing to prune: no experiment{' in ' + ns if ns else ''} finished more than {since} ago.")
        return 0
    found = []
    for c in candidates:
        exp = api.lookup(c.name, c.namespace, cluster)
        if not exp.exists:
            continue
        jobs = ", ".join(f"{n} {p}" for n, p in c.jobs)
        show.out.print(f"Experiment [bold cyan]{c.name}[/] in {c.namespace}: finished {c.ago} ago ({jobs})")
        show.objects(exp)
        found.append(exp)
    if dry_run or not found:
        return 0
    if not _confirm(f"Delete these {len(found)} experiment(s)?", yes):
        show.err.print("Nothing was deleted.")
        return 1
    from .progress import Reporter

    with Reporter(show.out, show.err, len(found), "Deleting") as progress:
        api.delete(found, cluster, progress=progress)
    show.out.print(f"[green]Deleted[/] {len(found)} experiment(s).")
    return 0


# --- data -----------------------------------------------------------------------


@cli.group()
def data() -> None:
    """The data (PVCs) experiments mount."""


@data.command("list")
@cluster_options
@ALL_NAMESPACES
@OUTPUT
def data_list(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool, output: str) -> int:
    """PVCs with capacity, access modes, status, and the experiments that mount them."""
    from ..api import data as read_claims
    from . import show

    claims = read_claims(_connect(kubeconfig, context), namespace=namespace, all_namespaces=all_namespaces)
    if output != "table":
        show.structured([c.to_dict() for c in claims], output)
        return 0
    if not claims:
        show.out.print("No PersistentVolumeClaims.")
        return 0
    table = _table((["NAMESPACE"] if all_namespaces else []) +
                   ["NAME", "CAPACITY", "ACCESS MODES", "STATUS", "STORAGECLASS", "EXPERIMENTS"])
    for c in claims:
        table.add_row(*([c.namespace] if all_namespaces else []), c.name, c.capacity, ",".join(c.access_modes) or "-",
                      c.status, c.storage_class, ", ".join(c.experiments) or "-")
    show.out.print(table)
    return 0

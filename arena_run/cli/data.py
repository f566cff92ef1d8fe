"""`arena-run data list`: the PVCs experiments mount."""

from __future__ import annotations

from typing import Optional

from .app import cli, examples
from .options import ALL_NAMESPACES, OUTPUT, client, cluster_options
from .top import Grid


@cli.group(epilog=examples("arena-run data list", "arena-run data list -A -o json"))
def data() -> None:
    """The data (PVCs) experiments mount."""


@data.command("list", epilog=examples("arena-run data list", "arena-run data list -A -o json"))
@cluster_options
@ALL_NAMESPACES
@OUTPUT
def data_list(namespace: Optional[str], kubeconfig: Optional[str], context: Optional[str], all_namespaces: bool,
              output: str) -> int:
    """PVCs with capacity, access modes, status, and the experiments that mount them."""
    from . import show

    claims = client(False, kubeconfig, context, namespace).data(all_namespaces=all_namespaces)
    if output != "table":
        show.structured([c.to_dict() for c in claims], output)
        return 0
    if not claims:
        show.out.print("No PersistentVolumeClaims.")
        return 0
    table = Grid((["NAMESPACE"] if all_namespaces else []) +
                 ["NAME", "CAPACITY", "ACCESS MODES", "STATUS", "STORAGECLASS", "EXPERIMENTS"])
    for c in claims:
        table.add_row(*([c.namespace] if all_namespaces else []), c.name, c.capacity, ",".join(c.access_modes) or "-",
                      c.status, c.storage_class, ", ".join(c.experiments) or "-")
    show.out.print(table)
    return 0

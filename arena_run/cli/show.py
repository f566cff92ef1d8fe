"""Plans and status as people read them (rich), or as scripts do (JSON, YAML).

rich renders colour on a terminal and plain text when piped, so the same
code serves both; it is imported only by the commands that talk to a cluster.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from ..api import shown_pair

if TYPE_CHECKING:
    from ..api import ExperimentStatus, Found, ObjectDiff, Plan

# Piped output is not wrapped at 80 columns: scripts and CI logs read whole lines.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 250)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 250)

_SIGN = {"create": ("+", "green"), "update": ("~", "yellow"), "replace": ("-/+", "magenta"),
         "delete": ("-", "red"), "defer": ("!", "yellow"), "keep": ("=", "dim"), "unchanged": ("=", "dim")}


def plans(items: list[Plan], verbose: bool = False) -> None:
    for plan in items:
        head = Text.assemble(("Experiment ", "bold"), (plan.experiment, "bold cyan"), f" in {plan.namespace}")
        if plan.source:
            head.append(f"  ({plan.source})", style="dim")
        out.print(head)
        for action in plan.actions:
            if action.op in ("unchanged",) and not verbose and not action.reason.startswith("not ours"):
                continue
            sign, color = _SIGN[action.op]
            line = Text(f"  {sign:>3} ", style=color)
            line.append(f"{action.kind} {action.name}", style="bold" if action.op != "unchanged" else "")
            if action.reason:
                line.append(f"   {action.reason}", style="dim" if action.op != "replace" else color)
            out.print(line)
            for c in action.changes:
                old, new = shown_pair(c.old, c.new)
                change = Text(f"        {c.path}: {old} → {new}")
                if c.changed_by:
                    change.append(f"  (drift: changed by {', '.join(c.changed_by)})", style="yellow")
                out.print(change)
        if plan.parent_last is not None and not plan.changes and not plan.record_only:
            out.print(Text("    ~ ", style="yellow") + Text(f"ConfigMap {plan.parent_last['metadata']['name']}")
                      + Text("   the ApplySet parent's record of the experiment", style="dim"))
        summary = plan.summary()
        if plan.record_only:
            out.print(Text("  No changes.", style="green")
                      + Text(f" ({summary}; apply records {plan.record_note})", style="dim"))
        elif plan.deferred and not plan.changes:
            out.print(f"  Nothing to do now: {summary}.")
        elif not plan.has_changes:
            out.print(Text("  No changes.", style="green") + Text(f" ({summary})" if summary else "", style="dim"))
        else:
            out.print(f"  Plan: {summary}.")
        for warning in plan.warnings:
            err.print(Text(f"  warning: {warning}", style="yellow"))
        for problem in plan.problems:
            err.print(Text(f"  error: {problem}", style="red"))


def objects(found: Found) -> None:
    """What deleting an experiment removes, one line each, its ApplySet parent last."""
    for kind, name in found.objects():
        parent = found.parent is not None and kind == "ConfigMap" and found.parent["metadata"]["name"] == name
        note = " (its ApplySet parent)" if parent else ""
        out.print(f"  [red]-[/] {kind} {name}{note}")


def plans_json(items: list[Plan], diffs: Optional[list[ObjectDiff]] = None, fmt: str = "json") -> None:
    data = [p.to_dict() for p in items]
    if diffs is not None:
        # Each changed action gains its unified diff, in the plan's own order.
        texts = {d.key: d.text for d in diffs}
        for plan, entry in zip(items, data):
            for action, d in zip(plan.actions, entry["actions"]):
                if action.key in texts:
                    d["diff"] = texts[action.key]
    if fmt == "yaml":
        structured(data, "yaml")
    else:
        out.print_json(json.dumps(data))


def diffs(items: list[ObjectDiff]) -> None:
    """Unified diffs, coloured as git colours them."""
    for d in items:
        for line in d.text.splitlines():
            style = ("bold" if line.startswith(("---", "+++")) else "green" if line.startswith("+")
                     else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else "")
            out.print(Text(line, style=style))


def structured(data: Any, fmt: str) -> None:
    if fmt == "json":
        print(json.dumps(data, indent=2, default=str))
    else:
        from ..render.output import to_yaml

        # Through JSON first, so that YAML holds exactly what -o json does
        # (dates as strings), quoted as every YAML renderer of arena-run is.
        print(to_yaml([json.loads(json.dumps(data, default=str))], explicit_start=False), end="")


def grid(columns: list[str], rows: Sequence[Sequence[object]]) -> Text:
    """Columns as kubectl prints them: left-aligned, two spaces apart, a bold header.

    One Text for the whole table: rich's Table measures every cell as a
    renderable, which at a thousand rows costs more than reading the cluster.
    """
    cells = [[c if isinstance(c, Text) else Text(str(c)) for c in row] for row in rows]
    widths = [max([cell_len(col)] + [r[i].cell_len for r in cells]) for i, col in enumerate(columns)]
    out = Text()
    out.append("  ".join(col.ljust(w) for col, w in zip(columns, widths)).rstrip(), style="bold")
    for row in cells:
        out.append("\n")
        for i, (cell, w) in enumerate(zip(row, widths)):
            out.append_text(cell)
            if i < len(row) - 1:
                out.append(" " * (w - cell.cell_len + 2))
    return out


def status_table(items: list[ExperimentStatus], all_namespaces: bool, wide: bool = False) -> Text:
    """The status table (status.table's cells), PHASE and SYNC coloured on a terminal."""
    from ..api import status_rows, wide_rows

    columns, rows = (wide_rows if wide else status_rows)(items, all_namespaces)
    colors = {"Running": "green", "Succeeded": "blue", "Failed": "red", "Pending": "yellow"}
    phase, sync = columns.index("PHASE"), columns.index("SYNC")
    shown: list[list[Union[str, Text]]] = []
    for row in rows:
        cells: list[Union[str, Text]] = list(row)
        cells[phase] = Text(row[phase], style=colors.get(row[phase], ""))
        cells[sync] = Text(row[sync], style={"in sync": "green", "in-sync": "green", "drifted": "yellow"}.get(
            row[sync], "red"))
        shown.append(cells)
    return grid(columns, shown)


def status_detail(st: ExperimentStatus) -> list[str]:
    """Below the table, for a single experiment: each job and the endpoints' hints."""
    lines = []
    for j in st.jobs:
        params = f"  {j.params}" if j.params else ""
        reps = ", ".join(f"{r} {n}" for r, n in j.replicas.items())
        lines.append(f"  {j.kind} {j.name}: {j.phase}, {reps}, GPUs {j.gpus_allocated}/{j.gpus_requested}, "
                     f"age {j.age}{', took ' + j.duration if j.duration else ''}{params}")
        if j.message:
            lines.append(f"    {j.message}")
    for ep in (st.tensorboard, st.serving):
        if ep and ep.hint:
            lines.append(f"  {ep.name}: {ep.hint}")
    for d in st.sync_detail:
        lines.append(f"  sync: {d}")
    return lines

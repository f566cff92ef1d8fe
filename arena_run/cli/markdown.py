"""`plan -o markdown`: a plan as a pull-request comment.

A summary table (one row per experiment: what changes, whether anything
drifted, whether it may be applied), then per experiment with changes a
collapsed section listing each change, its replacement reason, its fields
with old and new values and who changed them (drift), and, with --diff,
each object's unified diff.  GitHub and GitLab render it the same.
"""

from __future__ import annotations

from typing import Optional

from ..api import Key, ObjectDiff, Plan, shown_pair

OPS = ("create", "update", "replace", "delete")
SIGN = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "defer": "!"}


def cell(text: str) -> str:
    """Text safe in a table cell: pipes escaped, no line breaks."""
    return " ".join(str(text).split()).replace("\\", "\\\\").replace("|", "\\|")


def code(text: str) -> str:
    """Inline code that holds any text: a fence longer than any run of backticks in it."""
    text = " ".join(str(text).split())
    run, longest = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown(plans: list[Plan], diffs: Optional[list[ObjectDiff]] = None) -> str:
    changed = [p for p in plans if p.to_review or p.problems]
    drifted = [p for p in plans if any(a.drift for a in p.actions)]
    head = f"### arena-run plan: {len(plans)} experiment(s), {len(changed)} with changes"
    if drifted:
        head += f", {len(drifted)} drifted"
    out = [head, ""]
    if any(p.problems for p in plans):
        out += ["**Cannot be applied**: fix the errors below first.", ""]
    out += ["| experiment | namespace | " + " | ".join(OPS) + " | drift | |",
            "|---|---|" + "--:|" * len(OPS) + "---|---|"]
    for p in plans:
        counts = p.counts()
        state = "error" if p.problems else ("changes" if p.to_review else "no changes")
        out.append(f"| {cell(p.experiment)} | {cell(p.namespace)} | "
                   + " | ".join(str(counts.get(op, 0)) for op in OPS)
                   + f" | {'yes' if p in drifted else ''} | {state} |")
    by_key = {d.key: d for d in diffs or []}
    for p in changed:
        out += ["", _section(p, by_key)]
    return "\n".join(out) + "\n"


def _section(p: Plan, diffs: dict[Key, ObjectDiff]) -> str:
    counts = p.counts()
    summary = ", ".join(f"{counts[op]} to {op}" for op in OPS if counts.get(op)) or "the ApplySet parent's record"
    lines = [f"<details><summary><b>{_html(p.experiment)}</b> in {_html(p.namespace)}: {_html(summary)}</summary>", ""]
    if p.source:
        lines += [f"From {code(p.source)}.", ""]
    for problem in p.problems:
        lines.append(f"- **error**: {cell(problem)}")
    for a in p.changes + p.deferred:
        line = f"- {code(SIGN.get(a.op, a.op))} **{a.kind} {cell(a.name)}**"
        if a.reason:
            line += f": {cell(a.reason)}"
        lines.append(line)
        for c in a.changes:
            old, new = shown_pair(c.old, c.new, width=200, quote=False)
            change = f"  - {code(c.path)}: {code(old)} → {code(new)}"
            if c.changed_by:
                change += f" (drift: changed by {', '.join(code(m) for m in c.changed_by)})"
            lines.append(change)
        d = diffs.get(a.key)
        if d is not None and d.text:
            fence = "````" if "```" in d.text else "```"
            lines += ["", f"  {fence}diff", *("  " + l for l in d.text.splitlines()), f"  {fence}", ""]
    if not p.changes and p.parent_last is not None:
        lines.append(f"- {code('~')} ConfigMap {cell(p.parent_last['metadata']['name'])}: "
                     "the ApplySet parent's record of the experiment")
    lines += ["", "</details>"]
    return "\n".join(lines)


def _html(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

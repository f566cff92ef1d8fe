"""Experiments that would own the same object, refused before anything is read or written.

Two files may name different experiments and still collide once --namespace
or the kube context has placed them: the same experiment name in one
namespace renders the same job, TensorBoard and parent.  Their applies would
overwrite each other, so the plan refuses them, one located line per file.
"""

from __future__ import annotations

from typing import Any, Optional

from ..objects.keys import Key, key_of
from ..spec.errors import SpecError
from ..spec.load import Loaded, problem_at

# Each experiment to plan: as loaded, the namespace it goes to, and its desired objects.
Placed = tuple[Loaded, str, list[dict[str, Any]]]


def refuse_collisions(placed: list[Placed], namespace: Optional[str]) -> None:
    """SpecError naming every experiment that shares an object with another; namespace: the --namespace given."""
    owners: dict[Key, list[int]] = {}
    for index, (_, _, desired) in enumerate(placed):
        for o in desired:
            owners.setdefault(key_of(o), []).append(index)
    clashing: dict[int, set[int]] = {}
    for indexes in owners.values():
        for i in indexes:
            clashing.setdefault(i, set()).update(j for j in indexes if j != i)
    problems = []
    how = f" (--namespace {namespace})" if namespace else ""
    for i in sorted(i for i, others in clashing.items() if others):
        item, ns, _ = placed[i]
        others = ", ".join(f"{placed[j][0].experiment.name!r} of {placed[j][0].file}" for j in sorted(clashing[i]))
        problems.append(problem_at(
            item.file, ("name",),
            f"experiment {item.experiment.name!r} would write the same objects in namespace {ns}{how} "
            f"as {others}: rename one of them"))
    if problems:
        raise SpecError(problems)

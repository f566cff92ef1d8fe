"""Desired against live: what apply would do, and why. Pure given the live state."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from .._version import __version__
from ..objects.applyset import (
    EXPERIMENT_KEY, FIELD_MANAGER, FINISHED_JOBS, PART_OF, SOURCE, SPEC_HASH, TOOLING, applyset_id, finished_jobs,
    foreign_tooling, group_kinds_of, newer_writer, parent_manifest, parent_name, spec_hash, version_of,
    written_by,
)
from ..objects.keys import Key, Live, LocalQueues, bare_kind, key_of
from ..objects.kinds import JOB_GROUP_KINDS, group_kind
from ..objects.kueue import held_by_kueue, queue_of, queue_problem
from ..objects.labels import EXPERIMENT, MANAGED_BY, MANAGER, RUNNER
from ..objects.phase import finished
from ..render import render, sort_key
from ..spec.floats import WrittenFloat
from ..spec.model import Experiment
from .diff import MISSING, Change, diff, equivalent_quantities, format_path
from .owned import owned_changes
from .owners import owners

# Built-in API groups: their objects are typed in the API server, which
# normalises resource quantities.  Custom resources keep the text sent.
NORMALISING_GROUPS = ("", "apps", "batch")  # "": the core group


def _absent(value: Any) -> Any:
    return None if value is MISSING else value


@dataclass
class FieldDiff:
    path: str
    old: Any
    new: Any
    changed_by: tuple[str, ...] = ()  # managers other than arena-run that own the live value: drift
    respelled: bool = False  # a quantity written differently with the same value (`0.5` -> `500m`)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "old": _absent(self.old), "new": _absent(self.new), "changed_by": list(self.changed_by)}


@dataclass
class Action:
    # create, update, replace, delete, unchanged, keep; defer: a replacement this arena-run's rendering
    # (not the file) asks of a job that has not finished, left until it ends (or --replace-running)
    op: str
    key: Key
    desired: Optional[dict[str, Any]] = None
    live: Optional[dict[str, Any]] = None
    changes: list[FieldDiff] = field(default_factory=list)
    reason: str = ""
    # The change comes from how this arena-run renders the file, not from the file: the same file
    # rendered by the version that applied it gave what is live.
    tool_caused: bool = False
    # An update of a job that Kueue holds (queued): written only over the job as the plan read it, so
    # a job admitted since (now running as it was) is not changed under its pods.
    while_held: bool = False

    @property
    def kind(self) -> str:
        return bare_kind(self.key)

    @property
    def name(self) -> str:
        return self.key[2]

    @property
    def drift(self) -> bool:
        return any(c.changed_by for c in self.changes)

    @property
    def stops_unfinished_job(self) -> bool:
        """Whether applying this stops a job that has not finished (Pending, Queued, Suspended,
        Running, Restarting): a replacement re-runs it from the start, a deletion ends it."""
        return self.op in ("replace", "delete") and self.key[0] in JOB_GROUP_KINDS and self.live is not None \
            and not finished(self.live)

    @property
    def stops_running(self) -> bool:
        """Whether applying this stops something that runs: a job that has not finished, or a server
        (a Deployment) that is up.  A finished job replaced or deleted stops nothing."""
        if self.op not in ("replace", "delete") or self.live is None:
            return False
        if self.key[0] in JOB_GROUP_KINDS:
            return not finished(self.live)
        return self.kind == "Deployment" and bool((self.live.get("status") or {}).get("availableReplicas"))

    def __repr__(self) -> str:  # the manifests stay out: a plan in a notebook reads as a plan
        return f"<Action {self.op} {self.kind} {self.key[1]}/{self.name}{': ' + self.reason if self.reason else ''}>"

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op, "kind": self.kind, "namespace": self.key[1], "name": self.name,
            "reason": self.reason, "changes": [c.to_dict() for c in self.changes],
        }


@dataclass
class Plan:
    experiment: str
    namespace: str
    source: str
    actions: list[Action]
    parent_first: Optional[dict[str, Any]]  # written before the members (the superset of kinds), or None
    parent_last: Optional[dict[str, Any]]  # written after pruning (exactly the new set), or None
    problems: list[str] = field(default_factory=list)  # why it must not be applied
    # What the plan was made from, for apply's checks at write time: the parent
    # (its resourceVersion, its lock) and the keys of the members that existed.
    live_parent: Optional[dict[str, Any]] = None
    live_keys: frozenset[Key] = frozenset()
    # Only apply's own bookkeeping would be written (the jobs it has now seen
    # finished): apply still writes it, but nothing the user would review
    # changes, so `plan --detailed-exitcode` is not tripped by a job ending.
    record_only: bool = False
    # What that bookkeeping records, as plan says it ("the finished job(s) it now sees").
    record_note: str = ""
    # Said, not refused: what the cluster will make of it (a LocalQueue that does not exist).
    warnings: list[str] = field(default_factory=list)

    @property
    def changes(self) -> list[Action]:
        """What applying does to members (a deferred replacement is not done now)."""
        return [a for a in self.actions if a.op not in ("unchanged", "keep", "defer")]

    @property
    def deferred(self) -> list[Action]:
        """Replacements this arena-run's rendering asks of unfinished jobs, left until they end."""
        return [a for a in self.actions if a.op == "defer"]

    @property
    def has_changes(self) -> bool:
        """Whether applying writes anything."""
        return bool(self.changes) or self.parent_last is not None

    @property
    def to_review(self) -> bool:
        """Changes beyond apply's bookkeeping, or pending ones: what `--detailed-exitcode` reports
        (and what `status` calls not in sync)."""
        return (self.has_changes and not self.record_only) or bool(self.deferred)

    def counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in self.actions:
            out[a.op] = out.get(a.op, 0) + 1
        return out

    def summary(self) -> str:
        """"2 to create, 1 unchanged", as the CLI's plan says it."""
        from .display import summary

        return summary(self)

    def __repr__(self) -> str:
        problems = f", {len(self.problems)} problem(s)" if self.problems else ""
        return f"<Plan {self.experiment} in {self.namespace}: {self.summary() or 'nothing'}{problems}>"

    def _repr_html_(self) -> str:
        """Terraform-like rows: the sign of each change, the object, why; then each field old -> new."""
        from ..objects.html import table
        from .display import rows

        return table(["", "OBJECT", "CHANGE"], rows(self), caption=f"Experiment {self.experiment} in "
                     f"{self.namespace}: {self.summary() or 'nothing to do'}"
                     + "".join(f"; error: {p}" for p in self.problems))

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment, "namespace": self.namespace, "source": self.source,
            "changes": self.has_changes, "record_only": self.record_only, "problems": list(self.problems),
            "warnings": list(self.warnings), "actions": [a.to_dict() for a in self.actions],
        }


def experiment_hash(exp: Experiment) -> str:
    return spec_hash(json.loads(exp.to_json()))


def make_plan(exp: Experiment, namespace: str, live: Live, *, source: str = "",
              adopt: bool = False, rerun: bool = False, desired: Optional[list[dict[str, Any]]] = None,
              replace_running: bool = False) -> Plan:
    """desired: desired_members(exp, namespace) when the caller has already rendered them.

    replace_running: a replacement of an unfinished job that only this arena-run's rendering asks
    for is planned now (a replace, which apply still asks consent for), not deferred."""
    if desired is None:
        desired = desired_members(exp, namespace)
    spec_json = exp.to_json()
    seen_finished = finished_jobs(live.parent)
    problems: list[str] = []
    if live.parent is not None and foreign_tooling(live.parent):
        problems.append(
            f"ConfigMap {namespace}/{live.parent['metadata']['name']} is the ApplySet parent of another tool "
            f"({foreign_tooling(live.parent)}); arena-run will not take it over"
        )
    newer = newer_writer(live.parent)
    if newer is not None and live.parent is not None:
        problems.append(
            f"ConfigMap {namespace}/{live.parent['metadata']['name']} was written by arena-run {newer}, newer than "
            f"this arena-run {__version__}; an older version does not write over a newer one's record "
            f"(upgrade arena-run to {newer} or later)"
        )
    actions: list[Action] = []
    desired_keys = set()
    origin = _Origin(exp, namespace, live.parent)
    for obj in desired:
        key = key_of(obj)
        desired_keys.add(key)
        actions.append(_action(obj, key, live, seen_finished, adopt, rerun, problems, origin, replace_running))
    for key, obj in live.members.items():
        if key not in desired_keys:
            actions.append(Action("delete", key, live=obj, reason="no longer in the file"))
    actions.sort(key=lambda a: sort_key(a.desired or a.live or {}))

    final = parent_manifest(
        exp.name, namespace, {group_kind(o) for o in desired}, source=source,
        spec_hash=spec_hash(json.loads(spec_json)), finished=_finished_now(actions),
        spec_json=spec_json, labels={MANAGED_BY: MANAGER, EXPERIMENT: exp.name},
    )
    if live.parent is not None and any(a.op == "defer" for a in actions):
        # A deferred job still runs as the recorded version rendered it: the record keeps naming that
        # version, so the next plan (by this version) still tells the renderer's change from the file's.
        final["metadata"]["annotations"][TOOLING] = live.parent["metadata"]["annotations"][TOOLING]
    old_kinds = set(group_kinds_of(live.parent))
    new_kinds = {group_kind(o) for o in desired}
    first = None
    # Written before any member changes: it names every kind old and new, and
    # writing it is how an apply takes the experiment (apply/lock.py).
    if live.parent is None or not new_kinds <= old_kinds or any(a.op not in ("unchanged", "keep", "defer")
                                                                    for a in actions):
        first = _superset(final, live.parent, old_kinds | new_kinds)
    changed = [] if live.parent is None else _record_changes(final, live.parent)
    last = None if live.parent is not None and not changed else final
    # Apply's own bookkeeping: the jobs it saw finish, and which arena-run version wrote the record last.
    bookkeeping = {f"metadata.annotations.{FINISHED_JOBS}", f"metadata.annotations.{TOOLING}"}
    record_only = first is None and bool(changed) and set(changed) <= bookkeeping
    notes = [what for key, what in ((FINISHED_JOBS, "the finished job(s) it now sees"),
                                    (TOOLING, f"that arena-run {__version__} keeps it now"))
             if record_only and f"metadata.annotations.{key}" in changed]
    return Plan(exp.name, namespace, source, actions, first, last, problems,
                live_parent=live.parent, live_keys=frozenset(live.members), record_only=record_only,
                record_note=" and ".join(notes),
                warnings=_queue_warnings(desired, namespace, live.queues))


def _queue_warnings(desired: list[dict[str, Any]], namespace: str, queues: Optional[LocalQueues]) -> list[str]:
    """A queue no job would ever leave: the LocalQueue is missing or inactive, or no Kueue serves one.

    A warning, not a refusal: Kueue holds such a job (suspended, nothing runs, no quota is used) and
    admits it once the queue is there, so a queue and its jobs may be applied in either order."""
    if queues is None:
        return []  # not read (this machine), or not readable by this user: nothing can be said
    out = []
    for name in sorted({q for q in (queue_of(o) for o in desired) if q}):
        jobs = ", ".join(f"{o['kind']} {o['metadata']['name']}" for o in desired if queue_of(o) == name)
        if not queues.served:
            out.append(f"job.queue: this cluster serves no Kueue LocalQueues (kueue.x-k8s.io/v1beta2; is Kueue "
                       f"installed?): the queue label of {jobs} has no effect")
            continue
        problem = queue_problem(namespace, name, queues.items.get(name))
        if problem:
            out.append(f"job.queue: {problem} ({jobs})")
    return out


def _record_changes(final: dict[str, Any], live_parent: dict[str, Any]) -> list[str]:
    """The paths for which the parent must be rewritten.  Where the file lies is
    no reason: the same file applied from another checkout changes nothing."""
    paths = {format_path(c.path) for c in diff(final, live_parent)}
    return sorted(paths - {f"metadata.annotations.{SOURCE}"})


def _finished_now(actions: list[Action]) -> dict[str, Any]:
    """The jobs to record as seen finished: finished and kept as they are, or kept away after their TTL."""
    out = {}
    for a in actions:
        if a.key[0] in JOB_GROUP_KINDS and a.desired is not None and \
                (a.op == "keep" or (a.op in ("unchanged", "update") and a.live is not None and finished(a.live))):
            out[a.name] = spec_hash(a.desired["spec"])
    return out


def desired_members(exp: Experiment, namespace: str) -> list[dict[str, Any]]:
    """The rendered objects, each labelled as a member of the experiment's ApplySet."""
    set_id = applyset_id(parent_name(exp.name), namespace)
    objects = render(exp, namespace)
    for obj in objects:
        obj["metadata"]["labels"][PART_OF] = set_id
    return objects


class _Origin:
    """Whether a member's difference comes from the file or from this arena-run's rendering.

    The parent records the file as applied (its spec and hash) and the version that rendered it.  Only
    when that version is not this one can a difference be the renderer's (with the same renderer it is
    an apply that did not finish, or drift).  Then, if the file is that record (same hash, or the same
    values: a record of an older version spells numbers as Python does), every difference from live
    is the renderer's; otherwise a member's is when this version renders the recorded file and the
    new one the same for it."""

    def __init__(self, exp: Experiment, namespace: str, parent: Optional[dict[str, Any]]) -> None:
        self.exp, self.namespace, self.parent = exp, namespace, parent
        self._recorded: Optional[Experiment] = None
        self._rendered: Optional[dict[Key, dict[str, Any]]] = None
        self._applied: Optional[dict[Key, dict[str, Any]]] = None  # the recorded file's members, rendered
        self.renderer_changed = parent is not None and written_by(parent) != __version__
        self.file_unchanged = self.renderer_changed and self._same_file()

    def _same_file(self) -> bool:
        assert self.parent is not None
        if (self.parent["metadata"].get("annotations") or {}).get(SPEC_HASH) == experiment_hash(self.exp):
            return True
        text = (self.parent.get("data") or {}).get(EXPERIMENT_KEY)
        try:
            self._recorded = Experiment.from_json(text) if text else None
        except ValueError:
            return False  # a record this version cannot read: its differences are the file's
        return self._recorded is not None and self._recorded == self.exp

    def tool_caused(self, key: Key, desired: dict[str, Any]) -> bool:
        if not self.renderer_changed:
            return False
        if self.file_unchanged:
            return True
        if self._recorded is None:
            return False
        if self._rendered is None:
            recorded = self._recorded
            if (version_of(written_by(self.parent) or "") or (0,)) < (0, 2):
                recorded = _spelled_as(recorded, self.exp)
            self._rendered = {key_of(o): o for o in desired_members(recorded, self.namespace)}
        # The local target's runner stamp is the user's choice, not the renderer's: compared without it.
        return bool(self._rendered.get(key) == _unstamped(desired))

    def applied_same(self, key: Key, change: FieldDiff) -> bool:
        """Whether the file asks at change's path for what it asked when it was applied (the
        recorded file rendered as this arena-run renders it): nothing there is the user's change."""
        if self.parent is None:
            return False
        if self._applied is None:
            text = (self.parent.get("data") or {}).get(EXPERIMENT_KEY)
            try:
                recorded = Experiment.from_json(text) if text else None
            except ValueError:
                recorded = None
            self._applied = {key_of(o): o for o in desired_members(recorded, self.namespace)} if recorded else {}
        value: Any = self._applied.get(key)
        for part in change.path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value is not None and value == change.new

    def why(self, what: str) -> str:
        edits = "your file is unchanged" if self.file_unchanged else "your edits do not change it"
        return f"arena-run {__version__} renders this differently ({what}); {edits}"


def _spelled_as(recorded: Experiment, exp: Experiment) -> Experiment:
    """The record with the file's spelling of each sweep float of the same value.

    0.1.0 recorded (and rendered) floats as Python spells them, so its record cannot say whether the
    file spelled a value otherwise: taking the file's spelling for an unchanged value makes today's
    rendering of the record differ from the file's only where the file's values do (per member: a
    point added to a sweep leaves the points that were there the renderer's)."""
    sweep = {}
    for param, values in recorded.sweep.items():
        written = [v for v in exp.sweep.get(param, []) if isinstance(v, WrittenFloat)]
        sweep[param] = [next((w for w in written if w == v), v)
                        if isinstance(v, float) and not isinstance(v, WrittenFloat) else v for v in values]
    return recorded.model_copy(update={"sweep": sweep})


def _action(obj: dict[str, Any], key: Key, live: Live, seen_finished: dict[str, Any],
            adopt: bool, rerun: bool, problems: list[str], origin: _Origin, replace_running: bool) -> Action:
    current = live.members.get(key)
    is_job = key[0] in JOB_GROUP_KINDS
    if current is None:
        if key in live.foreign:
            if not adopt:
                problems.append(
                    f"{key[0].split('.')[0]} {key[1]}/{key[2]} exists but is not part of this experiment; "
                    "arena-run leaves it alone (rename the experiment, delete it, or apply with --adopt)"
                )
                return Action("unchanged", key, obj, live.foreign[key], reason="not ours: left alone")
            return Action("update", key, obj, live.foreign[key], reason="adopting an existing object")
        # Only a job an apply saw finished can have been removed by its TTL;
        # one deleted while it ran (or before any apply saw it end) runs again.
        if is_job and not rerun and seen_finished.get(key[2]) == spec_hash(obj["spec"]) \
                and obj["spec"].get("runPolicy", {}).get("ttlSecondsAfterFinished") is not None:
            return Action("keep", key, obj, reason="finished and removed after its TTL; --rerun runs it again")
        return Action("create", key, obj)
    changes = _changes(obj, current)
    if is_job and queue_of(current) is not None:
        changes = [c for c in changes if not (_admission_edit(c) and origin.applied_same(key, c))]
    if is_job:
        # A quantity only spelt differently changes no pod: the job is updated
        # (so it reads as the file does), not restarted.
        spec_changes = [c for c in changes if c.path.startswith("spec") and not c.respelled]
        ours = bool(changes) and not any(c.changed_by for c in changes) and not _runner_switched(changes) \
            and origin.tool_caused(key, obj)
        if spec_changes and held_by_kueue(current) and queue_of(obj) and not rerun:
            # Kueue holds it (suspended, no pod): its template may change, and Kueue updates the job's
            # Workload in place, where it waits (its place is by the Workload's creation). A replacement
            # would send it to the back of the queue.  Apply writes it only while it is still held.
            moved = queue_of(current) != queue_of(obj)
            where = (f"moves to LocalQueue {queue_of(obj)} as old as it is" if moved else
                     f"it keeps its place in LocalQueue {queue_of(obj)}")
            return Action("update", key, obj, current, changes,
                          f"queued, not yet admitted: updated in place ({_job_keys(spec_changes)}); {where}",
                          tool_caused=ours, while_held=True)
        if spec_changes and ours and not rerun:
            # A new rendering is no reason to run a job again: one that runs keeps running (until it
            # ends, or --replace-running), one that ended stays ended (it runs so when it runs again).
            why = origin.why(_job_keys(spec_changes))
            if finished(current):
                return Action("unchanged", key, obj, current, reason=f"finished; {why}", tool_caused=True)
            if not replace_running:
                return Action("defer", key, obj, current, changes, f"deferred until the job ends: {why}; "
                              "--replace-running re-runs it now", tool_caused=True)
        if spec_changes:
            reason = origin.why(_job_keys(spec_changes)) if ours else "forces replacement: " + _job_keys(spec_changes)
            return Action("replace", key, obj, current, changes, reason, tool_caused=ours)
        if rerun and finished(current):
            return Action("replace", key, obj, current, changes, "--rerun of a finished job")
        if finished(current) and not changes:
            return Action("unchanged", key, obj, current, reason="finished")
    if not changes:
        return Action("unchanged", key, obj, current)
    ours = not any(c.changed_by for c in changes) and not _runner_switched(changes) and origin.tool_caused(key, obj)
    return Action("update", key, obj, current, changes, origin.why("in place") if ours else "", tool_caused=ours)


def _unstamped(value: Any) -> Any:
    """value without the local runner annotation (arena_run.local.runners), and without an
    annotations map that held only it (the stamp made it)."""
    if isinstance(value, list):
        return [_unstamped(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if k == "annotations" and isinstance(v, dict) and RUNNER in v:
            rest = {a: b for a, b in v.items() if a != RUNNER}
            if rest:
                out[k] = rest
            continue
        out[k] = _unstamped(v)
    return out


def _runner_switched(changes: list[FieldDiff]) -> bool:
    """A change of local runner (--container) is the user's, whatever else this arena-run renders anew."""
    return any(RUNNER in c.path for c in changes)


# Where Kueue writes an admitted job's flavor into its pod templates: node selectors, tolerations.
_ADMISSION_PATHS = re.compile(r"template\.spec\.(tolerations|nodeSelector)$")


def _admission_edit(change: FieldDiff) -> bool:
    """What Kueue added at admission is neither drift nor a change: a template's tolerations or node
    selector that Kueue alone now owns, holding everything the file asks for and the flavor's on top.
    (A list Kueue rewrote whole is Kueue's after it; writing the file's back would drop the flavor's
    entries from an admitted job, which Kueue would then see as changed.)  Kueue restores the file's
    values when it suspends the job again."""
    if not _ADMISSION_PATHS.search(change.path) or not change.changed_by:
        return False
    if not all(m.startswith("kueue") for m in change.changed_by):
        return False
    old, new = change.old, change.new
    if isinstance(new, list) and isinstance(old, list):
        return all(item in old for item in new)
    if isinstance(new, dict) and isinstance(old, dict):
        return all(old.get(k) == v for k, v in new.items())
    return False


def _changes(desired: dict[str, Any], live: dict[str, Any]) -> list[FieldDiff]:
    normalised = desired["apiVersion"].rpartition("/")[0] in NORMALISING_GROUPS
    raw: list[Change] = diff(_essence(desired), live, normalised=normalised)
    # What applying takes away (or replaces whole), from what arena-run owns
    # on the live object; a path diff already reports is not repeated.
    seen = [c.path for c in raw]
    raw += [c for c in owned_changes(desired, live, normalised)
            if not any(c.path[:len(p)] == p or p[:len(c.path)] == c.path for p in seen)]
    out = []
    for change in raw:
        others = tuple(m for m in owners(live, change.path) if m != FIELD_MANAGER) \
            if change.new is not MISSING else ()
        out.append(FieldDiff(format_path(change.path), change.old, change.new, others,
                             respelled=equivalent_quantities(change)))
    return out


def _essence(obj: dict[str, Any]) -> dict[str, Any]:
    """What arena-run sets, minus identity fields the key already compares."""
    meta = {k: v for k, v in obj["metadata"].items() if k not in ("name", "namespace")}
    return {**{k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}, "metadata": meta}


def _superset(final: dict[str, Any], live_parent: Optional[dict[str, Any]], kinds: set[str]) -> dict[str, Any]:
    # Written before any member: it must name every kind a member may have,
    # old or new, so an apply interrupted at any point leaves nothing that a
    # later run (or kubectl) cannot find.  What it records of the experiment
    # stays the old record until the members are applied: the finished jobs,
    # and the file and version the members were rendered from, so that after
    # an apply killed here the next plan (by a newer arena-run too) still tells
    # the file's unwritten edit from a change of rendering (_Origin).
    out: dict[str, Any] = json.loads(json.dumps(final))
    ann = out["metadata"]["annotations"]
    ann["applyset.kubernetes.io/contains-group-kinds"] = ",".join(sorted(kinds))
    old_ann = (live_parent or {}).get("metadata", {}).get("annotations") or {}
    ann[FINISHED_JOBS] = old_ann.get(FINISHED_JOBS, "{}")
    if live_parent is not None:
        for key in (SPEC_HASH, TOOLING):
            if key in old_ann:
                ann[key] = old_ann[key]
        old_record = (live_parent.get("data") or {}).get(EXPERIMENT_KEY)
        if old_record is not None:
            out.setdefault("data", {})[EXPERIMENT_KEY] = old_record
    return out


# Rendered paths of a job, back to the arena.toml keys that set them.
_JOB_KEYS = [
    (re.escape(RUNNER), "runner (--container)"),  # on this machine only (arena_run.local.runners)
    (r"\.initContainers", "code"),
    (r"\.command$|\.command\b", "job.command"),
    (r"\.image$", "job.image"),
    (r"\.env\b", "job.env"),
    (r"nvidia\.com/gpu", "job.gpus"),
    (r"resources(PerNode)?\.(requests|limits)\.cpu", "job.cpu"),
    (r"resources(PerNode)?\.(requests|limits)\.memory", "job.memory"),
    (r"\.workingDir", "job.working_dir"),
    (r"\[name=dshm\]", "job.shm"),
    (r"volume", "data"),
    (r"\.replicas$", "job.workers/ps"),
    (r"numNodes", "job.workers"),
    (r"runtimeRef", "job.runtime"),
    (r"slotsPerWorker", "job.slots_per_worker"),
    (r"mpiImplementation", "job.mpi_implementation"),
    (r"sshAuthMountPath", "job.ssh_auth_mount_path"),
    (r"activeDeadlineSeconds", "job.active_deadline"),
    (r"nodeSelector", "job.node_selector"),
    (r"tolerations", "job.tolerations"),
    (r"priorityClassName", "job.priority_class"),
    (r"imagePull", "job.image_pull_*"),
    (r"restartPolicy", "job.restart_policy"),
    (r"runPolicy\.(\w+)", None),
    (r"successPolicy", "job.success_policy"),
    (r"ReplicaSpecs\.\w+$", "job.workers/ps/chief/evaluator"),
]
_RUN_POLICY = {
    "cleanPodPolicy": "job.clean_pod_policy", "ttlSecondsAfterFinished": "job.ttl_after_finished",
    "activeDeadlineSeconds": "job.active_deadline", "backoffLimit": "job.backoff_limit",
}


def _job_keys(changes: list[FieldDiff]) -> str:
    keys: list[str] = []
    for change in changes:
        for pattern, name in _JOB_KEYS:
            m = re.search(pattern, change.path)
            if m:
                name = name or _RUN_POLICY.get(m.group(1), "job")
                break
        else:
            name = change.path
        if name not in keys:
            keys.append(name)
    return ", ".join(keys)

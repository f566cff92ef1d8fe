"""The status table as cells: what `arena-run status` prints, and a notebook's status shows.

Pure strings; the CLI colours the PHASE and SYNC cells, a notebook writes
HTML.  AGE is always the time since the experiment's (oldest) job was
created, DURATION how long a finished job ran.  The wide table keeps one
value per cell, one row per job, for awk, grep and spreadsheets.
"""

from __future__ import annotations

from typing import Optional

from .experiments import ExperimentStatus, JobStatus

COLUMNS = ["EXPERIMENT", "PHASE", "JOBS", "REPLICAS", "GPUS", "AGE", "DURATION", "TENSORBOARD", "SERVING", "SYNC"]
WIDE_COLUMNS = ["EXPERIMENT", "JOB", "KIND", "PHASE", "READY", "REPLICAS", "GPUS_ALLOCATED", "GPUS_REQUESTED",
                "AGE", "DURATION", "NODES", "TENSORBOARD", "SERVING", "SYNC"]


def status_rows(items: list[ExperimentStatus], all_namespaces: bool = False) -> tuple[list[str], list[list[str]]]:
    """(columns, rows): one row per experiment."""
    columns = (["NAMESPACE"] if all_namespaces else []) + COLUMNS
    rows = []
    for st in items:
        jobs = st.jobs
        replicas = ", ".join(f"{role} {n}" for role, n in jobs[0].replicas.items()) if len(jobs) == 1 else (
            f"{sum(1 for j in jobs if j.phase == 'Running')}/{len(jobs)} running" if jobs else "-")
        gpus = f"{sum(j.gpus_allocated for j in jobs)}/{sum(j.gpus_requested for j in jobs)}" if jobs else "-"
        row = [st.namespace] if all_namespaces else []
        row += [st.name, st.phase, str(len(jobs)), replicas, gpus, st.age or "-", st.duration or "-",
                st.tensorboard.url if st.tensorboard else "-",
                f"{st.serving.url} ({st.serving.available})" if st.serving else "-", st.sync]
        rows.append(row)
    return columns, rows


def wide_rows(items: list[ExperimentStatus], all_namespaces: bool = False) -> tuple[list[str], list[list[str]]]:
    """(columns, rows): one row per job (an experiment without jobs: one row), one value per cell, no spaces."""
    columns = (["NAMESPACE"] if all_namespaces else []) + WIDE_COLUMNS
    rows = []
    for st in items:
        tb = st.tensorboard.url if st.tensorboard else "-"
        serving = st.serving.url if st.serving else "-"
        sync = st.sync.replace(" ", "-")
        jobs: list[Optional[JobStatus]] = list(st.jobs) or [None]
        for j in jobs:
            row = [st.namespace] if all_namespaces else []
            if j is None:
                row += [st.name, "-", "-", st.phase, "-", "-", "-", "-", "-", "-", "-", tb, serving, sync]
            else:
                ready = sum(int(str(n).split("/")[0]) for n in j.replicas.values())
                total = sum(int(str(n).split("/")[-1]) for n in j.replicas.values())
                row += [st.name, j.name, j.kind, j.phase, f"{ready}/{total}",
                        ",".join(f"{role}={n}" for role, n in j.replicas.items()) or "-",
                        str(j.gpus_allocated), str(j.gpus_requested), j.age or "-", j.duration or "-",
                        ",".join(j.nodes) or "-", tb, serving, sync]
            rows.append(row)
    return columns, rows

"""A run of a job (or of a TensorBoard / serving Deployment) and its replicas, as status.json records them.

The supervisor's controllers change these; readers (view.py) read what
`Run.to_dict` wrote.  Nothing here starts or stops a process.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from ..objects.phase import FINISHED_PHASES
from . import distributed
from .distributed import LOCAL_JOB_KIND_NAMES
from .runner import Handle
from .state import now_iso, parse_iso

COMPONENT_KINDS = ("Deployment",)


class Replica:
    """One replica (a pod): its slot, the GPUs it was given, and its container's state.

    state: waiting (not started yet), running, exited (ended, not judged yet),
    backoff (to be started again at `due`), succeeded, failed, stopped.
    """

    def __init__(self, slot: distributed.Slot, pod: str) -> None:
        self.slot, self.pod = slot, pod
        self.gpus: list[str] = []  # uuids
        self.proc: Optional[Handle] = None
        self.argv: Optional[list[str]] = None  # a server's, its ports made local; else the container's
        self.published: dict[int, int] = {}  # a server in a container: its pod's port -> a port of 127.0.0.1
        self.state = "waiting"
        self.exit_code: Optional[int] = None
        self.restarts = 0
        self.started: Optional[str] = None
        self.finished: Optional[str] = None
        self.due = 0.0  # a restart in backoff starts at this monotonic time

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.slot.role, "index": self.slot.replica_index, "port": self.slot.port,
            "host": self.slot.host, "pod": self.pod,
            "pid": self.proc.pid if self.proc and self.state == "running" else None, "state": self.state,
            "exitCode": self.exit_code, "restarts": self.restarts, "started": self.started,
            "finished": self.finished, "gpus": self.gpus,
        }

    @classmethod
    def from_dict(cls, r: dict[str, Any]) -> Replica:
        rep = cls(distributed.Slot(r["role"], r["index"], r["port"], r.get("host") or distributed.HOST), r["pod"])
        rep.state, rep.exit_code, rep.restarts = r["state"], r.get("exitCode"), r.get("restarts", 0)
        rep.started, rep.finished, rep.gpus = r.get("started"), r.get("finished"), r.get("gpus", [])
        return rep


class Run:
    """One run of a job (or of a TensorBoard / serving Deployment)."""

    def __init__(self, entry: dict[str, Any], directory: str):
        self.entry, self.uid, self.obj = entry, entry["uid"], entry["object"]
        self.kind = self.obj["kind"]
        self.dir = directory
        self.phase, self.reason, self.message = "Pending", "", ""
        self.created = entry.get("created") or now_iso()
        self.start_time: Optional[str] = None
        self.completion_time: Optional[str] = None
        self.replicas: list[Replica] = []
        self.restarts = 0
        self.holds = False  # it holds GPUs and cores in the machine's ledger
        self.started_at = 0.0  # monotonic, for the deadline
        self.finished_at: Optional[float] = None  # wall clock, for the TTL
        self.urls: dict[str, Any] = {}
        self.gone = False  # its files were removed (delete, replace, TTL)

    @property
    def finished(self) -> bool:
        return self.phase in FINISHED_PHASES

    @property
    def is_job(self) -> bool:
        return self.kind in LOCAL_JOB_KIND_NAMES

    def restore(self, old: dict[str, Any]) -> None:
        """What an earlier supervisor recorded in status.json (finished_at from its completion time)."""
        self.phase, self.reason, self.message = old["phase"], old.get("reason", ""), old.get("message", "")
        self.start_time, self.completion_time = old.get("startTime"), old.get("completionTime")
        self.restarts, self.urls = old.get("restarts", 0), old.get("urls", {})
        self.replicas = [Replica.from_dict(r) for r in old.get("replicas", [])]
        if self.finished:
            self.finished_at = parse_iso(self.completion_time)

    def to_dict(self) -> dict[str, Any]:
        return {
            "uid": self.uid, "kind": self.kind, "name": self.obj["metadata"]["name"], "phase": self.phase,
            "reason": self.reason, "message": self.message, "created": self.created,
            "startTime": self.start_time, "completionTime": self.completion_time, "restarts": self.restarts,
            "replicas": [r.to_dict() for r in self.replicas], "urls": self.urls,
            "supervisor": os.getpid(),
        }

"""Consent to stop a job that has not finished: the one thing apply never does unasked.

A training job that has run for two days is the most valuable object apply
touches, and its operator never applies a changed spec to running pods: a
replacement throws the run away and starts it again.  So a plan that would
stop an unfinished job (replace or delete it) is carried out only with
consent for that job: every job (`--replace-running`, replace_running=True),
or the jobs a person agreed to at the prompt (a collection of their keys).
Without it, nothing of that experiment is written, and each such job is one
line saying what would restart and how to allow it.  Finished jobs are not
asked about: re-running one is what an edit of a finished job means.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Collection, Optional, Union

from ..objects.keys import Key, bare_kind
from ..objects.phase import job_phase
from ..objects.times import age, parse_time, utc_now
from ..plan import Plan
from .errors import ApplyError
from .writes import Result

ALLOW = "--replace-running"
# True: every unfinished job may be stopped; False: none; a collection: the jobs of those keys.
Consent = Union[bool, Collection[Key]]


@dataclass(frozen=True)
class Restart:
    """An unfinished job a plan would stop."""

    experiment: str
    key: Key
    phase: str
    age: str  # since the job was created, as kubectl shows it
    op: str  # replace (stopped, run again from the start) or delete (stopped, no longer in the file)
    reason: str

    @property
    def kind(self) -> str:
        return bare_kind(self.key)

    @property
    def name(self) -> str:
        return self.key[2]

    def what(self) -> str:
        """`PyTorchJob ns/train (Running, 2d3h) will be stopped and re-run from the start (why)`."""
        fate = "stopped and re-run from the start" if self.op == "replace" else "stopped and deleted"
        return f"{self.kind} {self.key[1]}/{self.name} ({self.phase}, {self.age}) will be {fate}" + \
            (f" ({self.reason})" if self.reason else "")

    def refusal(self) -> str:
        fate = "re-run it from the start" if self.op == "replace" else "delete it"
        return f"{self.experiment}: {self.kind} {self.key[1]}/{self.name} is {self.phase} ({self.age}): " \
               f"applying would stop it and {fate} ({self.reason}); nothing of {self.experiment} was written: " \
               f"apply with {ALLOW} to allow it"


def restarts(plan: Plan, now: Optional[dt.datetime] = None) -> list[Restart]:
    """The unfinished jobs applying plan would stop, in the plan's order."""
    now = now or utc_now()
    out = []
    for a in plan.actions:
        if a.stops_unfinished_job and a.live is not None:
            created = parse_time(a.live["metadata"].get("creationTimestamp"))
            out.append(Restart(plan.experiment, a.key, job_phase(a.live), age(created, now), a.op, a.reason))
    return out


def allowed(restart: Restart, consent: Consent) -> bool:
    return consent if isinstance(consent, bool) else restart.key in consent


def split(plans: list[Plan], consent: Consent,
          now: Optional[dt.datetime] = None) -> tuple[list[Plan], list[Restart]]:
    """(the plans that may be applied, the stops refused); an experiment with any refused stop is held back whole."""
    ok, refused = [], []
    for plan in plans:
        mine = [r for r in restarts(plan, now) if not allowed(r, consent)]
        if mine:
            refused += mine
        else:
            ok.append(plan)
    return ok, refused


class RestartRefused(ApplyError):
    """Applying would have stopped unfinished jobs without consent: those experiments were not written.

    results: what was applied of the other experiments."""

    def __init__(self, refused: list[Restart], results: Optional[list[Result]] = None):
        self.refused = refused
        self.results = results or []
        super().__init__([r.refusal() for r in refused])

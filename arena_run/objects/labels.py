"""The labels and annotations arena-run writes and reads back, spelled once.

They are how arena-run finds its objects again (status, delete, logs, top) and
how anyone else can tell who manages an object; render writes them, every
other layer selects by them.  The ApplySet's own keys are in objects.applyset.
"""

from __future__ import annotations

from ..spec.names import LABEL_PREFIX, MANAGED_BY

MANAGER = "arena-run"
EXPERIMENT = LABEL_PREFIX + "experiment"
COMPONENT = LABEL_PREFIX + "component"  # job, tensorboard, serving
SWEEP_POINT = LABEL_PREFIX + "sweep-point"
SWEEP_PARAMS = LABEL_PREFIX + "sweep-params"  # annotation: the point's values as JSON
# Pod template annotation, on this machine only: the runner its pods run in (process, container).
RUNNER = LABEL_PREFIX + "runner"
# The managed-by label as a LIST selector: everything arena-run wrote.
MANAGED = f"{MANAGED_BY}={MANAGER}"

__all__ = ["COMPONENT", "EXPERIMENT", "LABEL_PREFIX", "MANAGED", "MANAGED_BY", "MANAGER", "RUNNER", "SWEEP_PARAMS",
           "SWEEP_POINT"]  # LABEL_PREFIX, MANAGED_BY: the spec's (it refuses user labels under them), shown here

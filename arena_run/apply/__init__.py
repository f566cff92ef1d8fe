"""Carrying out plans: the ApplySet protocol, concurrent writes, waiting.

Returns what it did; prints nothing.  The order follows kubectl's ApplySet
implementation, so an apply interrupted at any point leaks nothing and a
re-run converges:
  1. the parent, naming every kind old or new (only if that set grows),
  2. the members: creates, updates and replacements, concurrently,
  3. pruning: members no longer desired, deleted by uid,
  4. the parent with exactly the new kinds and the new job record.
Writing the parent first also takes the experiment's lock (lock.py), and the
last write releases it; a first apply writes its parent once.
"""

from .delete import Found, delete_experiment, find_experiment
from .dryrun import dry_run
from .errors import ApplyError, Locked
from .plans import apply_plans
from .wait import ObjectState, WaitFailed, wait_ready
from .writes import Interrupted, Outcome, Result, apply_plan, recheck

__all__ = ["ApplyError", "Found", "Interrupted", "Locked", "Outcome", "Result", "apply_plan", "apply_plans",
           "delete_experiment", "dry_run", "find_experiment", "recheck", "ObjectState", "WaitFailed", "wait_ready"]

"""Desired against live: a Plan of actions with field diffs. Pure given the live objects."""

from .build import Action, FieldDiff, Plan, experiment_hash, make_plan, members, spec_hash

__all__ = ["Action", "FieldDiff", "Plan", "experiment_hash", "make_plan", "members", "spec_hash"]

"""Desired against live: a Plan of actions with field diffs. Pure given the live objects."""

from .build import Action, FieldDiff, Plan, desired_members, experiment_hash, make_plan

__all__ = ["Action", "FieldDiff", "Plan", "desired_members", "experiment_hash", "make_plan"]

"""The ApplySet parent's kind on the cluster; the pure parts live in arena_run.objects.applyset."""

from __future__ import annotations

from ..objects.applyset import (
    EXPERIMENT_KEY, FINISHED, GROUP_KINDS, ID_LABEL, PART_OF, SOURCE, SPEC_HASH, TOOL, TOOLING, applyset_id,
    finished_jobs, foreign_tooling, group_kinds_of, parent_manifest, parent_name,
)
from .kinds import KINDS, Kind

__all__ = [  # re-exported: apply and status import them from here
    "EXPERIMENT_KEY", "FINISHED", "GROUP_KINDS", "ID_LABEL", "PARENT_KIND", "PART_OF", "SOURCE", "SPEC_HASH", "TOOL",
    "TOOLING", "applyset_id", "finished_jobs", "foreign_tooling", "group_kinds_of", "parent_manifest", "parent_name",
]

PARENT_KIND: Kind = KINDS["ConfigMap"]

"""The kinds arena-run reads and writes; the table itself is pure data in arena_run.objects.kinds."""

from __future__ import annotations

from ..objects.kinds import JOB_KINDS, KINDS, Kind, by_group_kind, kind_of

__all__ = ["JOB_KINDS", "KINDS", "Kind", "by_group_kind", "kind_of"]  # re-exported

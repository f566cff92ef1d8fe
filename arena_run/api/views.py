"""What the Client returns for many: lists that also show themselves in a notebook.

A list of plans or statuses is a list (index it, loop over it, len()); in
Jupyter it is shown as the CLI shows it: the plans as Terraform-like rows,
the statuses as the status table.
"""

from __future__ import annotations

from typing import Iterable

from ..objects.html import table
from ..plan import Plan
from ..status.experiments import ExperimentStatus
from ..status.table import status_rows

__all__ = ["Plans", "Statuses"]


class Plans(list[Plan]):
    """The plans of a Client.plan call, one per experiment."""

    def _repr_html_(self) -> str:
        return "".join(p._repr_html_() for p in self) or "<p>No experiments.</p>"


class Statuses(list[ExperimentStatus]):
    """The experiments of a Client.status call."""

    def __init__(self, items: Iterable[ExperimentStatus] = (), *, all_namespaces: bool = False) -> None:
        super().__init__(items)
        self.all_namespaces = all_namespaces

    def _repr_html_(self) -> str:
        if not self:
            return "<p>No experiments.</p>"
        return table(*status_rows(list(self), self.all_namespaces))

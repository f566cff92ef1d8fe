"""Why an apply did not happen, or not wholly: one line per reason."""

from __future__ import annotations

from ..spec.errors import UserError


class ApplyError(UserError):
    """The plan was not applied (or not wholly): one line per reason."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))

    def lines(self) -> list[str]:
        return [f"error: {p}" for p in self.problems]


class Locked(ApplyError):
    """Another apply holds the experiment, or changed it since the plan was made."""

    def __init__(self, problem: str):
        super().__init__([problem])

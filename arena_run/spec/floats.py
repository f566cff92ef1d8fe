"""Floats that keep the spelling the file gave them.

A data scientist writes `lr = [1e-5, 0.10]` and expects the training script
to get `--lr=1e-5`, not Python's `1e-05` and `0.1`.  The TOML and YAML
loaders make every float a WrittenFloat: a float to everything that computes
with it (equality, hashing, point names, quantities), with the text it was
written as for everything that prints a sweep value.

What is kept: the sign, the digits, the exponent and its case, as written
(`+1E-05` stays `+1E-05`).  What is dropped: TOML's digit separators
(`1_000.5` is `1000.5`), which are syntax of the file like its quotes, not
part of the number.
"""

from __future__ import annotations

from typing import Optional


class WrittenFloat(float):
    """A float and its text.  repr() stays float's, so only code that asks for .text sees the spelling."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str, value: Optional[float] = None) -> "WrittenFloat":
        self = super().__new__(cls, text if value is None else value)
        self.text = text.replace("_", "")
        return self

    def __reduce__(self) -> tuple[type["WrittenFloat"], tuple[str, float]]:  # copy and pickle keep the text
        return (type(self), (self.text, float(self)))


def spelled(value: float) -> str:
    """How a float reads in a command or a message: as written, else Python's repr."""
    return value.text if isinstance(value, WrittenFloat) else repr(value)

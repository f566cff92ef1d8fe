"""Kubernetes resource quantities (`500m`, `1Gi`, `1e3`), parsed once for every layer.

The grammar is apimachinery's (`resource.ParseQuantity`): a signed decimal
number, then a binary suffix (Ki..Ei), a decimal one (n, u, m, k, M..E) or an
exponent (`e3`, `E-2`).  A Quantity compares by value, as the API server does
when it normalises one, so `Quantity.parse("100m") == Quantity.parse("0.1")`
and `1Gi` equals `1073741824`; its text stays as written for display.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Context, Decimal
from functools import total_ordering

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal(10**3), "M": Decimal(10**6), "G": Decimal(10**9), "T": Decimal(10**12),
            "P": Decimal(10**15), "E": Decimal(10**18)}
# The exponent comes first: `1E3` is 1000, `1E` one exa.
# Exact for any quantity a manifest holds: the default 28 digits would round 1.000000000000000000000000001Ei.
_EXACT = Context(prec=200)
_GRAMMAR = re.compile(r"([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]?)")

class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


@total_ordering
@dataclass(frozen=True, eq=False)
class Quantity:
    value: Decimal  # exact: Decimal keeps 0.1 and 100m the same number
    text: str = field(default="")  # as written ("" when made from a number)

    @classmethod
    def parse(cls, value: object) -> Quantity:
        """A quantity from its text, or from a number as JSON holds one; QuantityError otherwise."""
        if isinstance(value, bool):  # a bool is an int to Python, never a quantity to Kubernetes
            raise QuantityError(f"{value!r} is not a quantity")
        if isinstance(value, (int, float, Decimal)):
            number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
            if not number.is_finite():
                raise QuantityError(f"{value!r} is not a quantity")
            return cls(number, str(value))
        if not isinstance(value, str):
            raise QuantityError(f"{value!r} is not a quantity")
        match = _GRAMMAR.fullmatch(value)
        if match is None:
            raise QuantityError(f"{value!r} is not a quantity")
        digits, suffix = match.groups()
        base = Decimal(digits)
        try:
            if suffix in _BINARY:
                return cls(_EXACT.multiply(base, _BINARY[suffix]), value)
            if suffix in _DECIMAL:
                return cls(_EXACT.multiply(base, _DECIMAL[suffix]), value)
            return cls(_EXACT.scaleb(base, int(suffix[1:])), value)
        except ArithmeticError:  # an exponent past what a Decimal holds
            raise QuantityError(f"{value!r} is out of range") from None

    def format(self) -> str:
        """The canonical text: a whole number plain, else in m, u or n when exact, else a decimal.

        `Quantity.parse(q.format()) == q` for every quantity."""
        for factor, suffix in ((Decimal(1), ""), (Decimal(10**3), "m"), (Decimal(10**6), "u"),
                               (Decimal(10**9), "n")):
            scaled = _EXACT.multiply(self.value, factor)
            if scaled == scaled.to_integral_value():
                return f"{int(scaled)}{suffix}"
        return format(_EXACT.normalize(self.value), "f")

    def ceil(self) -> int:
        """The value rounded up to a whole number, as apimachinery's Quantity.Value() rounds."""
        return math.ceil(self.value)

    def whole(self) -> bool:
        return self.value == self.value.to_integral_value()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __str__(self) -> str:
        return self.text or self.format()


def same_quantity(a: object, b: object) -> bool:
    """Whether a and b are quantities of the same value (`0.5` and `500m`); False if either is not one."""
    try:
        return Quantity.parse(a) == Quantity.parse(b)
    except QuantityError:
        return False

"""Kubernetes quantities: one parser (arena_run.objects.quantity) for the planner, status and the local target."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from arena_run.objects.quantity import Quantity, QuantityError, same_quantity

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
SUFFIXES = [*BINARY, *DECIMAL, "e3", "E-2", "e0"]


@st.composite
def quantity_texts(draw: st.DrawFn) -> str:
    """Any text of the grammar: a signed decimal (whole or not, a leading or trailing point) and a suffix."""
    sign = draw(st.sampled_from(["", "+", "-"]))
    whole = draw(st.integers(0, 10**12))
    fraction = draw(st.one_of(st.none(), st.integers(0, 10**6)))
    number = str(whole) if fraction is None else f"{whole}.{fraction}"
    if fraction is not None and draw(st.booleans()):
        number = f".{fraction}"
    return sign + number + draw(st.sampled_from(SUFFIXES))


@pytest.mark.parametrize("a,b", [("100m", "0.1"), ("1Gi", "1073741824"), ("1Gi", 1073741824), ("0.5", "500m"),
                                 ("1k", "1000"), ("1e3", "1k"), ("1E", "1e18"), ("2Ki", "2048"), ("1", 1.0),
                                 ("1.5", 1.5), ("1Ei", str(2**60)), ("1Pi", "1024Ti"), ("1n", "0.001u")])
def test_values_compare_equal_whatever_the_spelling(a, b):
    assert Quantity.parse(a) == Quantity.parse(b)
    assert same_quantity(a, b)


@pytest.mark.parametrize("small,large", [("999m", "1"), ("1M", "1Mi"), ("1Gi", "1.1G"),
                                         ("-1", "0"), ("1Ki", "1.025k")])
def test_order_follows_value(small, large):
    assert Quantity.parse(small) < Quantity.parse(large)
    assert Quantity.parse(large) > Quantity.parse(small)


@pytest.mark.parametrize("text", ["", " 1", "1 ", "Gi", "1KiB", "1.2.3", "1e", "1ki", "one", "1_000", "0x10", "1/2",
                                  "Infinity", "NaN", "--1", "1e9999999"])
def test_what_is_not_a_quantity_is_refused(text):
    with pytest.raises(QuantityError):
        Quantity.parse(text)
    assert not same_quantity(text, text)


@pytest.mark.parametrize("value", [True, False, None, [1], {"a": 1}, float("nan"), float("inf")])
def test_only_text_and_numbers_are_quantities(value):
    with pytest.raises(QuantityError):
        Quantity.parse(value)


@given(quantity_texts())
def test_parse_format_round_trip(text):
    quantity = Quantity.parse(text)
    assert Quantity.parse(quantity.format()) == quantity
    assert Quantity.parse(quantity.format()).format() == quantity.format()  # format is canonical
    assert str(quantity) == text  # the text as written is kept for display


@given(st.integers(-10**15, 10**15), st.sampled_from(sorted(BINARY)))
def test_binary_suffixes_are_powers_of_two(n, suffix):
    assert Quantity.parse(f"{n}{suffix}") == Quantity.parse(str(n * BINARY[suffix]))
    assert Quantity.parse(f"{n}{suffix}").value == n * BINARY[suffix]


@given(st.integers(-10**15, 10**15), st.sampled_from(sorted(DECIMAL)))
def test_decimal_suffixes_are_powers_of_ten(n, suffix):
    assert Quantity.parse(f"{n}{suffix}") == Quantity.parse(f"{n}e{DECIMAL[suffix]}")
    assert Quantity.parse(f"{n}{suffix}").value == Decimal(n).scaleb(DECIMAL[suffix])


@given(quantity_texts(), quantity_texts())
def test_equality_order_and_hash_agree_with_the_value(a, b):
    qa, qb = Quantity.parse(a), Quantity.parse(b)
    assert (qa == qb) == (qa.value == qb.value)
    assert (qa < qb) == (qa.value < qb.value)
    if qa == qb:
        assert hash(qa) == hash(qb)


@pytest.mark.parametrize("text,whole", [("1", 1), ("1500m", 2), ("0.1", 1), ("64Mi", 64 * 2**20), ("2", 2), ("-0.5", 0)])
def test_ceil_rounds_up_as_apimachinery_value_does(text, whole):
    assert Quantity.parse(text).ceil() == whole

"""gallery.net.numbers: what a number field sends is read, anything else refused on
its text before any conversion, and the range is checked before a caller sees
the value."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gallery.net import numbers
from gallery.net.numbers import NumberError


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("5", Decimal(5)),
        ("1.5", Decimal("1.5")),
        (" 2 ", Decimal(2)),
        ("-5", Decimal(-5)),
        ("007", Decimal(7)),
        ("0" * 60 + "3", Decimal(3)),
        ("999999999999999999", Decimal("999999999999999999")),
        ("1.123456", Decimal("1.123456")),
    ],
)
def test_a_plain_decimal_is_read(raw, value):
    assert numbers.plain(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "1e999999999",
        "1E5",
        "5e0",
        "1e-999999",
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "\u0661\u0662\u0663",  # Arabic-Indic digits
        "\uff11\uff12",  # fullwidth digits
        "\u00b2",  # superscript two
        "-0",
        "-0.0",
        "+5",
        "1_000",
        "1,000",  # a thousands separator, or a decimal comma: either way not one credit
        "1,5",
        "0x10",
        "1 000",
        "\u00a05",  # a no-break space
        "",
        " \t ",
        "1.",
        ".5",
        "1.2.3",
        "--5",
        "9" * 19,
        "1.1234567",
        "1" * 400,
        None,
    ],
)
def test_anything_else_is_refused_on_its_text(raw):
    assert numbers.plain(raw) is None


def test_a_value_out_of_range_names_the_field_and_the_rule():
    with pytest.raises(NumberError, match=r"^The pan scale must be a number from 1\.1 to 3$"):
        numbers.number("3.5", label="The pan scale", minimum=Decimal("1.1"), maximum=Decimal(3))
    with pytest.raises(NumberError, match=r"^The width must be a whole number from 1 to 8192$"):
        numbers.whole("2.5", label="The width", minimum=1, maximum=8192)
    assert numbers.whole("5.0", label="The width", minimum=1, maximum=8192) == 5
    assert numbers.as_json(Decimal("2.0")) == 2 and isinstance(numbers.as_json(Decimal(2)), int)
    assert numbers.as_json(Decimal("1.3")) == 1.3


@pytest.mark.parametrize(
    ("raw", "day"),
    [("2026-02-28", date(2026, 2, 28)), ("2000-01-01", date(2000, 1, 1))],
)
def test_a_real_day_is_read(raw, day):
    assert numbers.day(raw, label="The start date") == day


@pytest.mark.parametrize(
    "raw",
    ["2026-02-30", "2026-13-01", "9999-12-31", "1999-12-31", "2026-2-3", "20260203", "2026-W05-1"],
)
def test_an_impossible_or_odd_day_is_refused_with_the_rule(raw):
    with pytest.raises(NumberError, match="The start date must be a date as YYYY-MM-DD"):
        numbers.day(raw, label="The start date")


@given(st.text(max_size=80))
def test_any_text_is_either_refused_or_a_small_number_in_range(raw):
    value = numbers.plain(raw)
    if value is not None:
        assert set(raw.strip(" \t\r\n")) <= set("-0123456789.")
        assert abs(value) < 10**18 and value.as_tuple().exponent >= -6
    try:
        checked = numbers.number(raw, label="x", minimum=Decimal("1.1"), maximum=Decimal(3))
    except NumberError:
        return
    assert Decimal("1.1") <= checked <= Decimal(3)

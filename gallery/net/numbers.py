"""Numbers and dates people type into forms and query strings, read with
explicit bounds before any arithmetic.

Python's own readers accept far more than a person types: `Decimal` takes
exponents ("1e999999999" becomes a billion-digit integer when converted, which
holds a worker for minutes), NaN and Infinity; `int` and `\\d` take digits of
every script (Arabic-Indic, fullwidth) and underscores ("1_000"). Here a number is what a
number field sends: an optional minus sign, ASCII digits, at most one decimal
point, of bounded length, and nothing else. (Not a decimal comma: a browser's
number field always sends a point, and "1,000" must not become one credit.) Its range is checked
before it is returned, so a caller never computes with one it did not expect.

Pure: no Django. The ranges come from the callers (the operation catalog, an
image's size, a model field's column), never from here.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

# Digits before the point: anything longer is past every range we check, and
# 18 digits stay below 2**63, so no 64-bit column can overflow.
MAX_INTEGER_DIGITS = 18
MAX_FRACTION_DIGITS = 6  # a scale of 1.123456 is already more than a form sends
MAX_LENGTH = 64  # characters read at all, leading zeros and spaces included
# The largest primary key a 64-bit column holds (DEFAULT_AUTO_FIELD is BigAutoField).
MAX_ID = 2**63 - 1
# The years a date or month filter may name: wide enough for any real ledger,
# narrow enough that a month's end (the next month's start) is always a date.
FIRST_YEAR, LAST_YEAR = 2000, 2999

_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)
_SPACE = " \t\r\n"  # what a browser or a person may leave around a value; not U+00A0


class NumberError(ValueError):
    """The value is not a number in range; the message names the field and the rule."""


def shown(value: Decimal | int) -> str:
    """A bound as people write it: 3, 1.1, 100000000 (no exponent, no trailing zeros)."""
    text = format(Decimal(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def rule(label: str, minimum: Decimal | int, maximum: Decimal | int, *, whole: bool) -> str:
    kind = "a whole number" if whole else "a number"
    return f"{label} must be {kind} from {shown(minimum)} to {shown(maximum)}"


def plain(raw: str | None) -> Decimal | None:
    """The value of a plain decimal number, or None for anything else.

    No exponent, no sign but a leading minus (and no "-0"), ASCII digits only,
    at most MAX_INTEGER_DIGITS before the point and MAX_FRACTION_DIGITS after.
    Each check is on the text, so nothing is converted that could be large.
    """
    if raw is None or len(raw) > MAX_LENGTH:
        return None
    match = _NUMBER.fullmatch(raw.strip(_SPACE))
    if match is None:
        return None
    sign, integer, fraction = match.groups()
    integer = integer.lstrip("0") or "0"
    if len(integer) > MAX_INTEGER_DIGITS or len(fraction or "") > MAX_FRACTION_DIGITS:
        return None
    value = Decimal(f"{integer}.{fraction}" if fraction else integer)
    if sign and value == 0:
        return None  # "-0" is no way to write zero; refuse it rather than guess
    return -value if sign else value


def number(
    raw: str | None,
    *,
    label: str,
    minimum: Decimal | int,
    maximum: Decimal | int,
    whole: bool = False,
) -> Decimal:
    """`raw` as a Decimal from `minimum` to `maximum`, or NumberError naming
    `label` and the range ("The pan scale must be a number from 1.1 to 3")."""
    value = plain(raw)
    if (
        value is None
        or not minimum <= value <= maximum
        or (whole and value != value.to_integral_value())
    ):
        raise NumberError(rule(label, minimum, maximum, whole=whole))
    return value


def whole(raw: str | None, *, label: str, minimum: int, maximum: int) -> int:
    """`raw` as an int from `minimum` to `maximum` ("5.0" is 5), or NumberError."""
    return int(number(raw, label=label, minimum=minimum, maximum=maximum, whole=True))


def as_json(value: Decimal) -> int | float:
    """A bounded Decimal as the JSON number adapters send: 2, not 2.0; 1.5 as written."""
    return int(value) if value == value.to_integral_value() else float(value)


def day(raw: str | None, *, label: str) -> date:
    """`YYYY-MM-DD` (what `<input type="date">` sends) as a real day from
    FIRST_YEAR to LAST_YEAR, or NumberError naming `label` and the rule."""
    match = _DAY.fullmatch((raw or "").strip(_SPACE)) if len(raw or "") <= MAX_LENGTH else None
    problem = f"{label} must be a date as YYYY-MM-DD from {FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31"
    if match is None:
        raise NumberError(problem)
    year, month, day_ = (int(part) for part in match.groups())
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise NumberError(problem)
    try:
        return date(year, month, day_)
    except ValueError:  # 2026-02-30, month 13
        raise NumberError(problem) from None

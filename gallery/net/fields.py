"""Form fields that read what people type with explicit bounds (see numbers.py)."""

from __future__ import annotations

from typing import Any

from django import forms

from gallery.net import numbers


class WholeNumberField(forms.IntegerField):
    """An IntegerField that reads only what a number field sends (see
    gallery.net.numbers): Django's own accepts "١٢٣", "1_000" and, through float(),
    exponents. Both bounds are required, so no value can overflow its column."""

    def __init__(self, *, min_value: int, max_value: int, **kwargs: Any) -> None:
        super().__init__(min_value=min_value, max_value=max_value, **kwargs)
        self.error_messages["invalid"] = f"Enter a whole number from {min_value} to {max_value}."

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value  # initial data, not typed
        parsed = numbers.plain(str(value))
        if parsed is None or parsed != parsed.to_integral_value():
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(parsed)

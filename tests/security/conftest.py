"""The throttles' clock, fixed for every security test.

The throttles count in fixed windows that follow the clock (15 minutes for
passwords and tokens, one minute for Generate). Read from the wall clock, a test
whose attempts straddle a window's edge sees its count start again halfway and
fails; with this clock each test's attempts fall in one window, and a test that
means to cross an edge moves the clock there itself."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gallery.net import throttle
from tests.factories import Clock

# Three minutes into a 15-minute window, on a minute boundary.
T0 = datetime(2026, 3, 1, 12, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def throttle_clock(monkeypatch) -> Clock:
    controlled = Clock(T0)
    monkeypatch.setattr(throttle, "clock", controlled)
    return controlled

"""Fixtures of the live tests."""

from __future__ import annotations

import pytest

from gallery.studio.live import hub


@pytest.fixture
def test_hub(monkeypatch) -> hub.Hub:
    """The process hub, without its thread: a test runs its passes (`tick`) in
    the test's own thread, so they see the test's transaction."""
    made = hub.Hub(threaded=False)
    monkeypatch.setattr(hub, "_hub", made)
    return made

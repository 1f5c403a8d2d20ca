"""The simulator reports progress as the upstream does: 0 while pending, then
rising percentages while processing, from the task's own duration. The
engine's clock is stepped by the test: no waiting, no timing assertions."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from simclient import Api

import simulator.engine


def test_a_task_reports_rising_progress_through_its_duration(
    evolink: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = evolink.submit({"model": "mj-v7", "prompt": "a fox [sim:duration=100]"})
    created = float(evolink.poll(task_id).json()["created"])
    readings = []
    for seconds in (5, 20, 40, 60, 80, 95):
        clock = SimpleNamespace(time=lambda s=seconds: created + s)
        monkeypatch.setattr(simulator.engine, "time", clock)
        body = evolink.poll(task_id).json()
        readings.append((body["status"], body["progress"]))
    monkeypatch.undo()
    assert readings[0] == ("pending", 0)
    processing = [p for status, p in readings if status == "processing"]
    assert len(processing) == 5
    assert processing == sorted(set(processing))  # strictly rising
    assert 0 < processing[0] < processing[-1] < 100

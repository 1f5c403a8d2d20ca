"""Queued tasks and schedules name their function by dotted path (django-q2 stores it
in the queue and in django_q_schedule). The domain restructure kept gallery.tasks where it
was, so a task queued before it still runs after it."""

from __future__ import annotations

import pydoc

import pytest
from django_q.models import Schedule, Task
from django_q.tasks import async_task, result

from tests.factories import in_flight_job

STORED_PATHS = [
    "gallery.tasks.submit_job",
    "gallery.tasks.ingest_job",
    "gallery.tasks.deliver_callback",
]


@pytest.mark.parametrize("path", STORED_PATHS)
def test_a_task_path_stored_before_the_restructure_still_names_a_function(path: str) -> None:
    assert callable(pydoc.locate(path))


@pytest.mark.django_db
def test_a_schedule_row_with_the_old_path_still_runs(bob, team) -> None:
    job = in_flight_job(bob, team)  # ingest leaves a running job alone: no network
    row = Schedule.objects.create(func="gallery.tasks.ingest_job", args=repr(job.pk))
    task_id = async_task(row.func, job.pk, sync=True)
    assert Task.objects.get(id=task_id).success, result(task_id)  # an unknown path fails

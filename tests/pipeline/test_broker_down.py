"""A broker that cannot be told after the commit (Redis down) does not fail
the request that made the job: the job and its reservation stand, and the
poller's sweep sends its task again."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gallery.models import Job
from gallery.studio import pipeline
from tests.pipeline.test_create_batch import draft, member

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker_down(settings, monkeypatch):
    # A broker outside the database: the task is sent after the commit.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://127.0.0.1:9/0"}
    settings.Q_CLUSTER.pop("orm", None)
    sent = []

    def unreachable(*args, **kwargs):
        sent.append(args)
        raise ConnectionError("Error 111 connecting to 127.0.0.1:9. Connection refused.")

    monkeypatch.setattr(pipeline, "async_task", unreachable)
    return sent


def test_a_job_made_while_the_broker_is_down_stands_and_is_sent_again_by_the_sweep(
    alice, team, broker_down
):
    membership = member(alice, team, credits=1000)
    job = pipeline.create(membership, draft("a red fox"))  # does not raise
    assert len(broker_down) == 1  # it was tried, after the commit
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.credits_reserved > 0
    later = job.next_poll_at + timezone.timedelta(seconds=1)
    assert pipeline.sweep(now=later) >= 1
    assert len(broker_down) == 2  # the sweep sent it again

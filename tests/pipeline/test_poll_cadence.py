"""How often a running job is read: often enough that its card's bar moves in
steps from the start (issue 16: it sat at 0 % and jumped to 95 %, because the
first read came at 80 % of the provider's estimate), and no more often than
that needs before the estimate. The clock is passed in: no waiting."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from django.utils import timezone

from gallery.models import Job
from gallery.studio import pipeline


def reads_before_the_estimate(estimate: float) -> list[float]:
    """The seconds after submission at which the poller reads, up to the estimate."""
    start = timezone.now()
    job = Job(snapshot={"estimated_seconds": estimate}, submitted_at=start)
    at = pipeline._first_poll_delay(estimate)
    reads = []
    while at < estimate:
        reads.append(at)
        at += pipeline.next_poll_delay(job, now=start + timedelta(seconds=at))
    return reads


def test_a_six_second_job_is_read_from_its_first_second_on():
    reads = reads_before_the_estimate(6)
    assert reads[0] <= 1.5
    assert len(reads) >= 4  # four readings of the bar, not one at 4.8 s


def test_a_long_job_is_read_every_few_seconds_not_every_second_before_its_estimate():
    reads = reads_before_the_estimate(120)
    gaps = [b - a for a, b in pairwise(reads)]
    assert reads[0] <= 6 and max(gaps) <= 6
    assert min(gaps[:-1]) >= 4  # about 5 s apart, jitter aside: 24 reads, not 120


def test_near_and_past_the_estimate_reads_back_off_as_before():
    start = timezone.now()
    job = Job(snapshot={"estimated_seconds": 6}, submitted_at=start)
    near = pipeline.next_poll_delay(job, now=start + timedelta(seconds=6))
    late = pipeline.next_poll_delay(job, now=start + timedelta(seconds=120))
    assert near <= 1.1 * pipeline.MIN_POLL
    assert late >= 0.9 * pipeline.MAX_POLL

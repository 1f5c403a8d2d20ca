"""django-q2 entry points: thin, taking ids, safe to run twice.

The pipeline enqueues them by dotted name (`pipeline.enqueue`) inside the
transaction that makes or moves the job (the ORM broker's queue is in the same
database) or, with Redis, once it commits: either way a worker never sees a
job that the request creating it later rolled back.
"""

from __future__ import annotations

from gallery.api import callbacks as api_callbacks
from gallery.credits import alerts
from gallery.studio import exports, pipeline


def submit_job(job_id: int) -> None:
    pipeline.run_submit(job_id)


def ingest_job(job_id: int) -> None:
    pipeline.ingest(job_id)


def deliver_callback(job_id: int) -> None:
    api_callbacks.deliver(job_id)


def build_export(export_id: int) -> None:
    exports.build(export_id)


def budget_alerts(job_id: int) -> None:
    alerts.check_job(job_id)

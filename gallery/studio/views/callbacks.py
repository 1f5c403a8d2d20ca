from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gallery.net import digests
from gallery.studio import pipeline
from gallery.studio.models.jobs import Job


@csrf_exempt
@login_not_required
@require_POST
def provider_callback(request: HttpRequest, provider: str, job_id: int, token: str) -> HttpResponse:
    """A provider says a task ended. The body is only a hint: nobody signs it,
    so the job is re-read from the provider through the normal path.

    Accepted once per job status: a replay in the same status changes nothing,
    and once the job is final the URL is gone (410), so replaying it cannot
    grow the event log or the poller's work."""
    job = (
        Job.objects.filter(pk=job_id, provider=provider)
        .only("pk", "callback_token_hash", "status")
        .first()
    )
    if job is None or not digests.matches(token, job.callback_token_hash):
        return HttpResponseNotFound()
    with transaction.atomic():
        # The row lock queues concurrent replays, so only the first of them sees
        # no event for the status and writes one. No key lock: rows pointing at
        # the job (its log, written under the change feed's lock) need not wait.
        job = Job.objects.select_for_update(no_key=True).only("pk", "status").get(pk=job.pk)
        if job.is_final:
            gone = "This job has ended; its callback URL is gone."
            return HttpResponse(gone, status=410, content_type="text/plain")
        if job.events.filter(kind="callback", data__status=job.status).exists():
            return HttpResponse(status=204)
        nudged = pipeline.nudge(job)
        message = "read scheduled" if nudged else f"ignored: job is {job.status}"
        job.log("callback", message, status=job.status)
    return HttpResponse(status=204)

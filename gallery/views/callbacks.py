from __future__ import annotations

import hashlib
import hmac

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gallery import pipeline
from gallery.models import Job


@csrf_exempt
@login_not_required
@require_POST
def provider_callback(request: HttpRequest, provider: str, job_id: int, token: str) -> HttpResponse:
    """A provider says a task ended. The body is only a hint: nobody signs it,
    so the job is re-read from the provider through the normal path."""
    job = (
        Job.objects.filter(pk=job_id, provider=provider)
        .only("pk", "callback_token_hash", "status")
        .first()
    )
    given = hashlib.sha256(token.encode()).hexdigest()
    if (
        job is None
        or not job.callback_token_hash
        or not hmac.compare_digest(given, job.callback_token_hash)
    ):
        return HttpResponseNotFound()
    nudged = pipeline.nudge(job)
    job.log("callback", "read scheduled" if nudged else f"ignored: job is {job.status}")
    return HttpResponse(status=204)

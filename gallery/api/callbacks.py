"""Calling an API client back when its task ends, as evolink does.

evolink (providers.md §2.3) POSTs the task body (the same JSON as
`GET /v1/tasks/{id}`) to the request's `callback_url` once the task is
completed, failed or cancelled and billed; it waits 10 s per attempt, treats
any 2xx as delivered and retries three times, after 1 s, 2 s and 4 s. This
module does the same for tasks created through mjweb's team API.

The URL is the client's, so it goes through the SSRF guard on every attempt
(`netguard.safe_post_json`: https only, the name resolved once and every
address checked, no redirects followed). The only exception is a path under
the base URL of a loopback upstream the operator configured
(`netguard.callback_allowance()`: the simulator's dialect paths in `make run`
and in tests, never its control API).
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import httpx
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from gallery.api import translate as api
from gallery.api.models.tokens import ApiTask
from gallery.net import netguard

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds per attempt, evolink's figure
RETRY_DELAYS = (1.0, 2.0, 4.0)  # before the second, third and fourth attempt
# A claim older than this belongs to a worker that died mid-delivery: 4 attempts
# of 10 s and 7 s of waiting fit well inside it.
CLAIM_LEASE = timedelta(minutes=2)

_sleep = time.sleep  # tests replace it


def deliver(job_id: int) -> None:
    """POST the task body of job `job_id` to its API callback_url, once.

    Contract: call it (e.g. from a django-q2 task) after the job reached a
    final state (completed, failed or cancelled) and its credits were settled
    or refunded. It does nothing for a job without an API callback, for a job
    still in flight, and for one whose callback was already delivered, given
    up on, or is being sent by another worker; so calling it twice, or from
    two workers at once, sends at most one series of attempts. It blocks
    while it retries (at most 4 × 10 s plus 7 s), never raises for a
    client's failing or refused URL, and records the outcome on the
    job's ApiTask and in the job's event log.
    """
    task = (
        ApiTask.objects.select_related("job")
        .filter(
            job_id=job_id,
            callback_state__in=[ApiTask.CallbackState.PENDING, ApiTask.CallbackState.SENDING],
        )
        .exclude(callback_url="")
        .first()
    )
    if task is None or not task.job.is_final or not _claim(task):
        return
    # Result URLs signed for the token that made the task, as a read with it
    # would get them; a task whose token is gone gets URLs that do not open.
    token_pk = task.token_id or 0
    body = api.task_body(
        task.job, lambda image: api.file_url(settings.MJWEB_PUBLIC_URL, image, token_pk)
    )
    status, error, attempts = _post_with_retries(task.callback_url, body)
    _record(task, status, error, attempts)


def _post_with_retries(url: str, body: dict) -> tuple[int | None, str, int]:
    """Evolink's series of attempts: the last status (None when nothing
    answered), the error to record ("" when delivered) and how many were made."""
    allow = netguard.callback_allowance(url)
    status: int | None = None
    error = ""
    attempts = 0
    for delay in (0.0, *RETRY_DELAYS):
        if delay:
            _sleep(delay)
        attempts += 1
        try:
            status = netguard.safe_post_json(
                url, body, timeout=TIMEOUT, https_only=True, allow=allow
            )
        except netguard.UnsafeURL as exc:
            status, error = None, f"refused: the URL {exc.reason}"
            break  # a policy refusal does not change on a retry
        except netguard.FetchError as exc:
            status, error = None, f"the URL {exc.reason}"
            continue
        if 200 <= status < 300:
            error = ""
            break
        error = f"answered HTTP {status}"
    return status, error, attempts


def _record(task: ApiTask, status: int | None, error: str, attempts: int) -> None:
    """The outcome on the task and in its job's event log."""
    delivered = status is not None and 200 <= status < 300
    now = timezone.now()
    state = ApiTask.CallbackState.DELIVERED if delivered else ApiTask.CallbackState.FAILED
    ApiTask.objects.filter(pk=task.pk).update(
        callback_state=state,
        callback_attempts=attempts,
        callback_status=status,
        callback_error=error[:300],
        callback_delivered_at=now if delivered else None,
    )
    # The host only: a callback URL may carry the client's own secret in its path or query.
    host = _host(task.callback_url)
    job = task.job
    if delivered:
        job.log("api callback", f"Delivered to {host} (HTTP {status})", attempts=attempts)
    else:
        job.log("api callback failed", f"{host}: {error}", attempts=attempts)
        log.info("API callback for job %s not delivered to %s: %s", job.pk, host, error)


def _claim(task: ApiTask) -> bool:
    """pending → sending, or take over a sending claim whose worker died."""
    now = timezone.now()
    claimable = Q(callback_state=ApiTask.CallbackState.PENDING) | Q(
        callback_state=ApiTask.CallbackState.SENDING, callback_claimed_at__lt=now - CLAIM_LEASE
    )
    return bool(
        ApiTask.objects.filter(claimable, pk=task.pk).update(
            callback_state=ApiTask.CallbackState.SENDING, callback_claimed_at=now
        )
    )


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or "?"
    except (httpx.InvalidURL, TypeError, ValueError):
        return "?"

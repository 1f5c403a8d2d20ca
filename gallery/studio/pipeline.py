"""The job pipeline: from a validated request to stored images, never losing one.

    create()      validate, then in one transaction make the job and reserve its
                  credits; the submit task is queued when that commits
    create_batch() a prompt with permutations or --repeat: create() per job, all
                  in one transaction, so the batch is made whole or not at all
    run_submit()  queued → submitting → running (or failed + refunded)
    refresh()     one status read; running → ingesting, or failed + refunded
    ingest()      download, verify, store; then settle and complete
    reap()        jobs past their deadline get one last read, then an end

Every step re-reads the job, moves it with a conditional UPDATE and is safe
to run twice: a queue redelivery, a duplicate callback or a second poller
finds the job already moved and does nothing. Credits move only through
`gallery.credits.ledger`, each exactly once per job.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from gallery.catalog import operations, permutations
from gallery.catalog.pricing import Quote
from gallery.catalog.prompt import Code, Issue
from gallery.credits import ledger
from gallery.credits.models.budgets import Budget
from gallery.credits.models.credits import DEFAULT_MAX_IN_FLIGHT, CreditAccount
from gallery.credits.quotes import preview, preview_batch, trusted_prefixes
from gallery.providers import Kind, ProviderError, Snapshot, Status, get_adapter
from gallery.studio import health, images, public_urls
from gallery.studio.live.events import emit
from gallery.studio.models.health import Outcome, ProviderCall
from gallery.studio.models.jobs import JOB_DEADLINE, WAITING_NOTE_START, Image, Job
from gallery.studio.models.live import LiveEvent
from gallery.teams import audit
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership, Team

log = logging.getLogger(__name__)

MAX_SUBMIT_ATTEMPTS = 3  # a worker killed mid-submit is redelivered; stop after this
RESUBMIT_DELAY = timedelta(seconds=5)
MIN_POLL, MAX_POLL = 1.0, 15.0  # seconds between status reads around and after the estimate
IMAGE_RETRY_WINDOW = timedelta(hours=23)  # upstream URLs live 24 h


def _recheck(name: str) -> timedelta:
    """When the poller's sweep next looks at a job in a given state, in case the
    queue task that should move it was lost (a killed worker, a lost Redis task).
    MJWEB_SUBMIT_TIMEOUT must outlast any create request."""
    return timedelta(seconds=getattr(settings, f"MJWEB_{name}"))


class Refused(Exception):
    """The job was not created; nothing was sent or charged. Status is the HTTP
    status an API answer should carry."""

    def __init__(
        self,
        message: str,
        *,
        issues: tuple[Issue, ...] = (),
        status: int = 400,
        budget: Budget | None = None,
        short: int = 0,
    ) -> None:
        super().__init__(message)
        self.message, self.issues, self.status = message, issues, status
        # The budget that refused it and by how much: the member may ask for more.
        self.budget, self.short = budget, short


@dataclass(frozen=True)
class Draft:
    """What a person asked for, before it becomes a job."""

    request: operations.Request
    prompt_raw: str = ""
    parent: Image | None = None
    client_request_id: str = ""
    # None: an edit inherits its parent's project; anything else has none.
    project: Project | None = None


def enqueue(task: str, job_id: int) -> None:
    """Queue gallery.tasks.<task>(job_id) so that a worker sees it only if, and
    once, the current transaction commits.

    With django-q2's ORM broker on this database the queue row is written in
    that very transaction: it commits or rolls back with the job, and costs no
    write transaction of its own (nor the reconnect the broker does outside
    one). Another broker (Redis) is told after the commit, and a broker that
    cannot be told does not fail the request: the job is saved, and the
    poller's sweep queues its task again.
    """

    def send() -> None:  # a function, not a partial: Django logs a robust hook's __qualname__
        async_task(f"gallery.tasks.{task}", job_id, group=task)

    if _queue_in_this_database() and not transaction.get_autocommit():
        send()
    else:
        transaction.on_commit(send, robust=True)


def _queue_in_this_database() -> bool:
    conf = settings.Q_CLUSTER
    return conf.get("orm") == "default" and not conf.get("redis") and not conf.get("sync")


# --- creating -----------------------------------------------------------------------


def parent_facts(image: Image) -> operations.ParentFacts:
    job = image.job
    return operations.ParentFacts(
        provider=job.provider,
        operation=job.operation,
        speed=job.speed or None,
        image_count=job.images.count(),
        completed=job.status == Job.Status.COMPLETED,
    )


def create(
    membership: Membership, draft: Draft, *, record: Callable[[Job], object] | None = None
) -> Job:
    """Check everything, then make the job and reserve its credits, or refuse.

    `record(job)`, if given, runs in the transaction that makes a new job (the
    API writes its task row there), so the job exists with it or not at all.
    Everything that needs no lock is done before that transaction starts:
    SQLite has one writer at a time, and every create waits for the others.
    """
    if not membership.can_create:
        raise Refused("Viewers cannot generate", status=403)
    existing = _existing_for_client_request(membership, draft.client_request_id)
    if existing is not None:
        return existing
    quote = _priced(draft)
    project = _project_of(membership, draft)
    account = ledger.account_for(membership)
    prompt = operations.normalized(draft.request, trusted_url_prefixes=trusted_prefixes()).prompt
    # A job that starts a lineage is its own root, as its card reads it (no --parameters).
    root_prompt = _root_prompt(membership, draft) or Job(prompt=prompt).prompt_text
    with transaction.atomic():
        # Decide under the lock every reservation and every slot claim of the
        # team takes (the reserve below takes it again), so the count is final.
        team = ledger.lock_team(membership.team_id)
        # Again under the lock: the same request sent twice at once (a double
        # click without JavaScript) finds here the job the other one made.
        existing = _existing_for_client_request(membership, draft.client_request_id)
        if existing is not None:
            return existing
        if member_cap(membership.team_id, membership.user_id) == 0:
            raise Refused(PAUSED, status=403)
        awaiting = approval_reason(team.approval_above, account, quote.credits)
        waits = not awaiting and _must_wait(membership.team_id, membership.user_id)
        job = _new_job(
            membership,
            draft,
            prompt,
            root_prompt,
            quote.credits,
            waits=waits,
            project=project,
            awaiting=awaiting,
        )
        try:
            ledger.reserve(job=job, account=account)
        except ledger.LimitExceeded as exc:
            transaction.set_rollback(True)
            short = exc.needed - max(exc.left, 0)
            raise Refused(str(exc), status=402, budget=exc.budget, short=short) from None
        except ledger.LedgerError as exc:
            transaction.set_rollback(True)
            raise Refused(str(exc), status=402) from None
        _announce_new(job, membership, quote, waits=waits, awaiting=awaiting)
        if record is not None:
            record(job)
        if not waits and not awaiting:
            enqueue("submit_job", job.pk)
    return job


def _announce_new(job: Job, membership: Membership, quote: Quote, *, waits: bool, awaiting: str):
    """In create()'s transaction, after the team's lock and the reservation
    (lock order: see live.events): open pages hear of the job, its log says
    where it stands, and budget alerts are checked once it commits."""
    emit(job.team_id, LiveEvent.Kind.CREATED, job_id=job.pk, payload={"waiting": waits})
    job.log("created", f"Reserved {job.credits_reserved} credits", quote=quote.label)
    if waits:
        job.log("waiting", WAITING_FOR_MEMBER)
    if awaiting:
        job.log("awaiting approval", awaiting)
    if Budget.objects.covering(job.team_id, job.project_id, membership.pk).exists():
        enqueue("budget_alerts", job.pk)  # thresholds crossed, told once committed


UNKNOWN_PROJECT = "That project is not one of this team's open projects; choose another."


def _project_of(membership: Membership, draft: Draft) -> Project | None:
    """The job's project: the one asked for, which must be an open project of
    the team; else an edit's parent's (edits stay with their original)."""
    if draft.project is not None:
        if draft.project.team_id != membership.team_id or draft.project.archived_at is not None:
            issue = Issue(Code.INVALID_VALUE, "project", UNKNOWN_PROJECT)
            raise Refused(UNKNOWN_PROJECT, issues=(issue,))
        return draft.project
    if draft.parent is not None:
        return draft.parent.job.project
    return None


def _priced(draft: Draft) -> Quote:
    """The draft's quote once every rule passes; Refused with the first problem."""
    check = preview(draft.request, parent_facts(draft.parent) if draft.parent else None)
    if check.errors:
        raise Refused(check.errors[0].message, issues=check.errors)
    if check.quote is None:
        raise Refused(check.price_problem)
    return check.quote


def _new_job(
    membership: Membership,
    draft: Draft,
    prompt: str,
    root_prompt: str,
    credits: int,
    *,
    waits: bool,
    project: Project | None,
    awaiting: str = "",
) -> Job:
    """The job row a checked draft becomes, inside create()'s transaction."""
    request = draft.request
    now = timezone.now()
    return Job.objects.create(
        team=membership.team,
        user=membership.user,
        project=project,
        provider=request.provider,
        operation=request.operation,
        parent=draft.parent,
        source_urls=list(request.image_urls),
        prompt_raw=draft.prompt_raw,
        prompt=prompt,
        title=operations.title(request.operation, request.resolved_params()),
        root_prompt=root_prompt,
        params={**request.params, **_parent_params(request)},
        speed=request.effective_speed() or "",
        client_request_id=draft.client_request_id,
        credits_reserved=credits,
        created=now,  # the reservation's time: the month its spend counts in
        # A job past its member's cap is parked (no recheck time): dispatch
        # sends it when a slot frees. One awaiting approval has none either.
        next_poll_at=None if waits or awaiting else now + _recheck("QUEUE_RECHECK"),
        status=Job.Status.AWAITING if awaiting else Job.Status.QUEUED,
        approval_reason=awaiting,
    )


def create_batch(membership: Membership, draft: Draft) -> list[Job]:
    """Every job the draft's prompt stands for (gallery.catalog.permutations), made
    and reserved as a whole, or none of them: one transaction around a
    create() per job. Job n's client request id is derived from the draft's,
    so a replayed batch finds its jobs and makes nothing twice. A prompt
    without batch syntax is exactly create()."""
    if not membership.can_create:
        raise Refused("Viewers cannot generate", status=403)
    try:
        expansion = permutations.expand(draft.request.prompt, cap=settings.MJWEB_BATCH_CAP)
    except permutations.BatchError as problem:
        raise Refused(problem.message, issues=(problem.issue,)) from None
    if not expansion.uses_syntax:
        return [create(membership, draft)]
    check = preview_batch(draft.request, parent_facts(draft.parent) if draft.parent else None)
    if check.errors:
        raise Refused(check.errors[0].message, issues=check.errors)
    if not check.ok:
        raise Refused(check.price_problem)
    drafts = [
        dataclasses.replace(
            draft,
            request=request,
            prompt_raw=request.prompt,
            client_request_id=permutations.job_request_id(draft.client_request_id, index)
            if check.batch
            else draft.client_request_id,
        )
        for index, request in enumerate(check.requests)
    ]
    try:
        with transaction.atomic():
            return [create(membership, one) for one in drafts]
    except Refused as refused:
        raise _batch_refusal(refused, membership, drafts, check.credits) from None


def _batch_refusal(refused: Refused, membership: Membership, drafts: list[Draft], total: int):
    """A job's refusal as the whole batch's: nothing was made. Short of credits,
    the message names the batch's total and the shortfall."""
    if len(drafts) == 1:
        return refused
    count = len(drafts)
    if refused.status == 402:
        balance = ledger.account_for(membership).balance
        if total > balance:
            return Refused(
                f"These {count} jobs cost {total} credits and you have {balance} "
                f"({total - balance} short); none was made. Ask a team admin for more.",
                status=402,
            )
    cost = f" ({total} credits in all)" if refused.status == 402 else ""
    return Refused(
        f"None of the {count} jobs was made{cost}: {refused.message}",
        issues=refused.issues,
        status=refused.status,
        budget=refused.budget,
        short=refused.short,
    )


# --- approvals -------------------------------------------------------------------------


def approval_reason(approval_above: int | None, account: CreditAccount, cost: int) -> str:
    """Why a new job must wait for an admin's approval; "" when it need not."""
    if account.needs_approval:
        return "Its author's jobs need an admin's approval"
    if approval_above is not None and cost > approval_above:
        return f"It costs {cost} credits, more than the {approval_above} the team approves"
    return ""


def approve(job: Job, by) -> bool:
    """An awaiting job is queued to be sent, once; whether this call did it."""
    now = timezone.now()
    with transaction.atomic():
        if not job.approve(now + _recheck("QUEUE_RECHECK"), now + JOB_DEADLINE):
            return False
        job.log("approved", f"Approved by {by}")
        _audit_decision(job, by, audit.AuditAction.JOB_APPROVED, {"status": "queued"})
        enqueue("submit_job", job.pk)
    return True


def decline(job: Job, by) -> bool:
    """An awaiting job is cancelled and refunded, once; whether this call did it."""
    account = _account_of(job)
    with transaction.atomic():
        ledger.lock_account(account)  # before the move announces it: see live.events
        if not job.decline(f"Declined by {by}"):
            return False
        ledger.refund(job=job, account=account, reason=f"{job.operation} · declined")
        after = {"status": "cancelled", "refunded": job.credits_reserved}
        _audit_decision(job, by, audit.AuditAction.JOB_DECLINED, after)
        _announce_end(job)
    job.log("declined", f"Declined by {by}; refunded {job.credits_reserved} credits")
    return True


def _audit_decision(job: Job, by, action: str, after: dict) -> None:
    audit.record(
        job.team_id,
        by,
        action,
        f"job {job.pk} ({job.operation}, {job.credits_reserved} credits) of {job.user.username}",
        {"status": "awaiting", "reason": job.approval_reason},
        after,
        subject=job.user,
    )


# The job log is read by the whole team: it speaks of the author, not "you".
WAITING_FOR_MEMBER = (
    "Waiting in line: its author has as many jobs running as their limit allows, "
    "or older ones waiting; it starts when a slot frees"
)


REQUEST_ID_USED_ELSEWHERE = (
    "This request id was already used in another team; send the request again "
    "with a new one (reload the page, or use a new Idempotency-Key)"
)


def _existing_for_client_request(membership: Membership, key: str) -> Job | None:
    """The job this person already made with `key`, looked up in the scope of
    the unique constraint that guards it (one_job_per_client_request: per
    person, across teams). Made in another team, it is neither returned (that
    would show the other team's job here) nor inserted again (the constraint
    would refuse it): the request is refused with 409, naming the problem."""
    if not key:
        return None
    job = Job.objects.filter(user=membership.user, client_request_id=key).first()
    if job is not None and job.team_id != membership.team_id:
        issue = Issue(Code.INVALID_VALUE, "client_request_id", REQUEST_ID_USED_ELSEWHERE)
        raise Refused(REQUEST_ID_USED_ELSEWHERE, issues=(issue,), status=409)
    return job


def _root_prompt(membership: Membership, draft: Draft) -> str:
    """The prompt the lineage began with, kept on the job so that cards and
    search need no walk up the parents: the parent's, or for a retexture or
    background removal of a gallery image that image's; "" for a job that
    starts a lineage (its own prompt is its root). A parent from before titles
    has none stored: its own prompt stands in."""
    source = draft.parent or _source_image(membership, draft.request)
    if source is None:
        return ""
    return source.job.root_prompt or source.job.prompt_text


def _source_image(membership: Membership, request: operations.Request) -> Image | None:
    """The team's image behind a signed source URL, if the URL is one of ours."""
    for url in request.image_urls:
        name = public_urls.name_from_url(str(url))
        if name:
            found = Image.objects.filter(job__team=membership.team_id, original=name)
            return found.select_related("job").order_by("pk").first()
    return None


def _parent_params(request: operations.Request) -> dict:
    if request.image_number is None:
        return {}
    return {"image_number": request.image_number}


def request_for(job: Job, *, callback_url: str | None = None) -> operations.Request:
    params = dict(job.params)
    image_number = params.pop("image_number", None)
    parent_task_id = job.parent.job.upstream_id if job.parent_id else None
    if job.parent_id and image_number is None:
        image_number = job.parent.index
    return operations.Request(
        operation=job.operation,
        provider=job.provider,
        prompt=job.prompt,
        image_urls=tuple(job.source_urls),
        parent_task_id=parent_task_id,
        image_number=image_number,
        speed=job.speed or None,
        params=params,
        callback_url=callback_url,
    )


# --- submitting -------------------------------------------------------------------------


def run_submit(job_id: int) -> None:
    job = Job.objects.select_related("parent__job").filter(pk=job_id).first()
    if job is None or job.status != Job.Status.QUEUED:
        return  # already handled: a redelivery or a duplicate enqueue
    if job.cancel_requested:
        cancel(job)
        return
    if not health.allows_create(job.provider):
        _route_around(job, f"{health.label(job.provider)} is down")
        return
    if not _claim_slot(job):
        return
    if job.submit_attempts > MAX_SUBMIT_ATTEMPTS:
        fail(job, Kind.UNAVAILABLE, "", "Could not reach the provider after several attempts.")
        return
    token = job.new_callback_token()
    request = request_for(job, callback_url=callback_url(job, token))
    started = time.monotonic()
    try:
        with get_adapter(job.provider) as adapter:
            accepted = adapter.submit(request)
    except ProviderError as exc:
        _note_call(job.provider, ProviderCall.Call.CREATE, started, exc)
        _submit_failed(job, exc)
        return
    _note_call(job.provider, ProviderCall.Call.CREATE, started)
    now = timezone.now()
    first_read = now + timedelta(seconds=_first_poll_delay(accepted.estimated_seconds))
    snapshot = {"status": accepted.status.value, "estimated_seconds": accepted.estimated_seconds}
    if job.mark_running(accepted.upstream_id, snapshot, first_read, accepted.cost):
        job.log(
            "submitted", f"Upstream task {accepted.upstream_id}", eta=accepted.estimated_seconds
        )


def _submit_failed(job: Job, exc: ProviderError) -> None:
    if exc.ambiguous:
        # The provider may have made (and charged for) a task we cannot find:
        # no provider offers a lookup by our reference, so fail and refund
        # rather than risk a second paid task (nor is it sent elsewhere).
        message = "The provider did not answer whether it accepted the job; it was not retried."
        fail(job, exc.kind, exc.code or "", message)
        return
    if exc.retryable:
        if _gives_up_on_provider(job, exc) and _fail_over(job, _why(job.provider, exc)):
            enqueue("submit_job", job.pk)
            return
        if health.is_down(job.provider):
            _wait_for_provider(job)
            return
        delay = exc.retry_after or RESUBMIT_DELAY.total_seconds() * job.submit_attempts
        with transaction.atomic():  # the move and its log line reach pages together
            if job.requeue(timezone.now() + timedelta(seconds=delay)):
                job.log("retry", f"{exc.kind}: will try again in {delay:.0f}s", code=exc.code)
        return
    fail(job, exc.kind, exc.code or "", exc.message)


def _note_call(provider: str, call: str, started: float, exc: ProviderError | None = None) -> None:
    """Keep the call's outcome for the provider's health; a create that went
    through to a provider marked down brings it back, and what waited for it goes."""
    latency = time.monotonic() - started
    if exc is not None:
        outcome = health.outcome_of(exc)
        health.record(provider, call, outcome, latency=latency, http_status=exc.http_status)
        return
    health.record(provider, call, Outcome.OK, latency=latency)
    if call == ProviderCall.Call.CREATE and health.close(provider):
        log.info("%s is back: its circuit closed", provider)
        try:
            dispatch([provider])
        except Exception:
            log.exception("dispatch after %s came back failed; the poller tries again", provider)


# --- failover ----------------------------------------------------------------------------
#
# A job no provider has taken yet may go to another one: a generation from a
# prompt, or an operation on an image given by URL. Edits name their parent's
# upstream task, which only the provider that made it knows: they wait for it.
# A create whose fate is unknown (Kind.AMBIGUOUS) is never sent anywhere else:
# the first provider may have made, and charged for, the task.

MOVABLE_OPERATIONS = frozenset(
    {"mj-v7", "mj-v7-remove-bg", "mj-v7-retexture", "mj-v7-upload-paint"}
)


def _gives_up_on_provider(job: Job, exc: ProviderError) -> bool:
    """After a retryable create failure: leave the provider when it is marked
    down, when nothing answered at all (the connection was refused), or when
    this is its second failure for the job; a lone 5xx or 429 is tried again."""
    return health.is_down(job.provider) or exc.http_status is None or job.submit_attempts >= 2


def _why(provider: str, exc: ProviderError) -> str:
    name = health.label(provider)
    if exc.http_status == 429 or exc.kind is Kind.RATE_LIMITED:
        return f"{name} was rate limiting (429)"
    if exc.http_status:
        return f"{name} was failing (HTTP {exc.http_status})"
    return f"{name} did not answer"


def _route_around(job: Job, why: str) -> None:
    """The job's provider is down and another caller has its one probe: move
    the job to the next provider, or let it wait for this one."""
    if _fail_over(job, why):
        enqueue("submit_job", job.pk)
    else:
        _wait_for_provider(job)


def _wait_for_provider(job: Job) -> None:
    name = health.label(job.provider)
    if job.operation in MOVABLE_OPERATIONS and not job.parent_id:
        reason = "no other provider of the team's could take it"
    else:
        reason = "edits stay with the provider that made their image"
    note = f"{WAITING_NOTE_START}{name} to come back: {reason}"
    before = job.provider_note
    with transaction.atomic():
        if job.wait_for_provider(note) and before != note:
            job.log("waiting", note)


def _fail_over(job: Job, why: str) -> bool:
    """Move a job no provider took to the next healthy provider in its team's
    order that offers its operation, re-priced there. Whether it moved."""
    if job.operation not in MOVABLE_OPERATIONS or job.parent_id:
        return False
    team = Team.objects.only("provider_order", "failover").get(pk=job.team_id)
    if not team.failover:
        return False
    moved_from = job.events.filter(kind="moved").values_list("data__from", flat=True)
    tried, down = {job.provider, *moved_from}, health.down_providers()
    order = team.providers_in_order()
    at = order.index(job.provider) + 1 if job.provider in order else 0
    for provider in order[at:] + order[:at]:
        if provider in tried or provider in down:
            continue
        check = preview(dataclasses.replace(request_for(job), provider=provider))
        if check.ok and check.quote is not None and _move(job, provider, check.quote, why):
            return True
    return False


def _move(job: Job, provider: str, quote: Quote, why: str) -> bool:
    """Re-reserve the job at `provider`'s price and move it there, in one transaction."""
    account, before, old = _account_of(job), job.credits_reserved, job.provider
    note = f"Sent to {health.label(provider)}: {why}"
    if quote.credits != before:
        note += f"; re-priced {before} → {quote.credits} credits"
    retry_at = timezone.now() + _recheck("QUEUE_RECHECK")
    try:
        with transaction.atomic():
            ledger.lock_team(job.team_id)
            ledger.lock_account(account)
            ledger.reprice(job=job, account=account, credits=quote.credits, provider=provider)
            if not job.move_to_provider(provider, quote.credits, note, retry_at):
                transaction.set_rollback(True)
                return False
            job.log("moved", note, **{"from": old, "to": provider, "credits": quote.credits})
    except ledger.LedgerError as exc:
        job.refresh_from_db()
        job.log("not moved", f"{health.label(provider)} costs {quote.credits} credits: {exc}")
        return False
    return True


# --- fairness ----------------------------------------------------------------------------
#
# Two caps bound what runs upstream at once. A member runs at most their
# account's max_in_flight jobs at once (submitting or running upstream); a
# provider account runs MJWEB_PROVIDER_CONCURRENCY. Jobs beyond either wait
# "parked" (queued, no recheck time) and are sent as slots free, each member's
# oldest waiting job first, members taking turns, so one member's batch of
# twenty cannot hold up a teammate's one. A job's end (and the poller, every
# tick) runs dispatch.
#
# The member cap is exact: a job takes its slot in `_claim_slot`, counting the
# member's sent jobs under the team's lock in the transaction that moves it
# to submitting, so no two workers (nor two machines on PostgreSQL) can both
# take the last slot. Dispatch only picks whom to try; it may pick one too
# many, and that one is parked again. The provider cap is soft: its count
# spans teams, and no lock is shared by them, so two workers racing for its
# last slot may overshoot it by one, which providers tolerate (they answer
# 429 past theirs).

UPSTREAM_BUSY = (Job.Status.SUBMITTING, Job.Status.RUNNING)
# What dispatch counts against a member's slots: sent jobs, and queued jobs
# that were handed to a worker (a recheck time set), which are about to be.
_HOLDS_SLOT = Q(status__in=UPSTREAM_BUSY) | Q(status=Job.Status.QUEUED, next_poll_at__isnull=False)
DISPATCH_LOOKAHEAD = 500  # waiting jobs looked at per provider and pass


def has_capacity(provider: str) -> bool:
    busy = Job.objects.filter(provider=provider, status__in=UPSTREAM_BUSY).count()
    return busy < settings.MJWEB_PROVIDER_CONCURRENCY


PAUSED = (
    "A team admin has paused your jobs (your limit of jobs at once is 0); "
    "ask them to raise it on the credits page"
)


def member_cap(team_id: int, user_id: int) -> int:
    """The member's max_in_flight, read fresh; 0 pauses them (nothing new is
    accepted, nothing waiting is sent)."""
    cap = CreditAccount.objects.filter(
        membership__team_id=team_id, membership__user_id=user_id
    ).values_list("max_in_flight", flat=True)
    found = cap.first()
    return DEFAULT_MAX_IN_FLIGHT if found is None else found


def _must_wait(team_id: int, user_id: int) -> bool:
    """Whether a new job of this member waits in line: their slots are taken,
    or older jobs of theirs already wait (they go first). Call it holding the
    team's lock."""
    mine = Job.objects.of_member(team_id, user_id)
    if mine.waiting().exists():
        return True
    return mine.filter(_HOLDS_SLOT).count() >= member_cap(team_id, user_id)


def _claim_slot(job: Job) -> bool:
    """queued → submitting if both caps leave room, else park the job; whether
    this caller may send it. The member's count and the claim are made under
    the team's lock, in one transaction: the member cap cannot be overshot."""
    with transaction.atomic():
        ledger.lock_team(job.team_id)
        sent = Job.objects.of_member(job.team_id, job.user_id).filter(status__in=UPSTREAM_BUSY)
        if sent.count() >= member_cap(job.team_id, job.user_id):
            park(job, WAITING_FOR_MEMBER)
            return False
        if not has_capacity(job.provider):
            park(job)
            return False
        return job.claim_for_submit(timezone.now() + _recheck("SUBMIT_TIMEOUT"))


def park(job: Job, why: str = "") -> bool:
    parked = job.park()
    if parked and not job.events.filter(kind="waiting").exists():
        why = why or f"{job.provider} is busy; sent when a slot frees, members taking turns"
        job.log("waiting", why)
    return bool(parked)


def dispatch(providers: Iterable[str] | None = None) -> int:
    """Send waiting jobs into free slots, members taking turns; how many.
    `providers` limits it to those (a job's end frees a slot of its own)."""
    sent = 0
    parked = Job.objects.waiting()
    if providers is not None:
        parked = parked.filter(provider__in=list(providers))
    down = health.down_providers()
    for provider in parked.order_by().values_list("provider", flat=True).distinct():
        busy = Job.objects.filter(provider=provider, status__in=UPSTREAM_BUSY).count()
        free = settings.MJWEB_PROVIDER_CONCURRENCY - busy
        if provider in down:  # one job, as the probe, once its back-off is over
            free = min(free, 1) if health.probe_due(provider) else 0
        if free > 0:
            sent += _dispatch_provider(parked.filter(provider=provider), provider, free)
    return sent


def _dispatch_provider(parked, provider: str, free: int) -> int:
    # Each member's n-th waiting job has turn n; within a turn, whoever was
    # served longest ago (or never) goes first. A member with no slot left
    # is passed over.
    last_served = (
        Job.objects.filter(user=OuterRef("user"), provider=provider, submitted_at__isnull=False)
        .order_by("-submitted_at")
        .values("submitted_at")[:1]
    )
    turn = Window(RowNumber(), partition_by=[F("user_id")], order_by=[F("created"), F("pk")])
    turns = list(
        parked.annotate(turn=turn, last_served=Subquery(last_served))
        .order_by("turn", F("last_served").asc(nulls_first=True), "created", "pk")
        .values_list("pk", "team_id", "user_id")[:DISPATCH_LOOKAHEAD]
    )
    room = _member_room({(team, user) for _, team, user in turns})
    now, sent = timezone.now(), 0
    for pk, team, user in turns:
        if sent == free:
            break
        if room[team, user] <= 0:
            continue
        # Its time upstream starts now, however long it waited. Its card leaves
        # the line, and the member's others move up: a `queue` event.
        with transaction.atomic():
            if not Job.objects.send_waiting(
                pk, now + _recheck("QUEUE_RECHECK"), now + JOB_DEADLINE
            ):
                continue
            emit(team, LiveEvent.Kind.QUEUE, job_id=pk, payload={"waiting": False})
            enqueue("submit_job", pk)
        room[team, user] -= 1
        sent += 1
    return sent


def _member_room(members: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(team, user) → slots left, in two queries however many members wait."""
    if not members:
        return {}
    teams, users = {t for t, _ in members}, {u for _, u in members}
    caps = dict.fromkeys(members, DEFAULT_MAX_IN_FLIGHT)
    accounts = CreditAccount.objects.filter(
        membership__team_id__in=teams, membership__user_id__in=users
    ).values_list("membership__team_id", "membership__user_id", "max_in_flight")
    caps.update({(t, u): cap for t, u, cap in accounts if (t, u) in caps})
    taken = (
        Job.objects.filter(_HOLDS_SLOT)
        .alias(team_n=F("team_id") + 0, user_n=F("user_id") + 0)  # as Job.objects.of_member
        .filter(team_n__in=teams, user_n__in=users)
        .order_by()
        .values_list("team_id", "user_id")
        .annotate(n=Count("pk"))
    )
    room = dict(caps)
    for t, u, n in taken:
        if (t, u) in room:
            room[t, u] -= n
    return room


def _slot_freed(job: Job) -> None:
    """A job of this member on this provider stopped holding a slot: once that
    commits, send whoever waits for it (the member's next, or on the same
    provider a teammate's), without waiting for the poller's next tick."""
    providers = {job.provider}
    mine = Job.objects.waiting().of_member(job.team_id, job.user_id)
    providers.update(mine.order_by().values_list("provider", flat=True).distinct())

    def send() -> None:
        try:
            dispatch(providers)
        except Exception:
            log.exception("dispatch after job %s ended failed; the poller tries again", job.pk)

    transaction.on_commit(send)


def callback_url(job: Job, token: str) -> str | None:
    """Only when the provider can reach us: an https public URL, or the simulator."""
    base = settings.MJWEB_PUBLIC_URL
    provider_base = settings.PROVIDERS[job.provider]["base_url"]
    is_local_upstream = httpx.URL(provider_base).host in ("127.0.0.1", "localhost", "::1")
    if not (base.startswith("https://") or is_local_upstream):
        return None
    path = reverse("provider-callback", args=[job.provider, job.pk, token])
    return base + path


# --- polling ------------------------------------------------------------------------------


# While a job runs, its progress is read about READINGS_PER_ESTIMATE times over
# the provider's estimate (at least MIN_POLL, at most READING_GAP apart), so a
# card's bar moves in steps from the start; the first read used to come at 80 %
# of the estimate, and the bar sat at 0 % and then jumped to 95 %.
READINGS_PER_ESTIMATE = 10
READING_GAP = 5.0


def _reading_gap(estimate: float) -> float:
    return min(READING_GAP, max(MIN_POLL, float(estimate) / READINGS_PER_ESTIMATE))


def _first_poll_delay(estimate: float | None) -> float:
    if not estimate:
        return 2.0
    return _reading_gap(estimate)


def next_poll_delay(job: Job, now=None) -> float:
    """Seconds until the next read: a tenth of the estimate apart (1–5 s)
    before it, 1–2 s around it, backing off to 15 s after it."""
    now = now or timezone.now()
    estimate = float((job.snapshot or {}).get("estimated_seconds") or 0)
    elapsed = (now - (job.submitted_at or now)).total_seconds()
    if elapsed < estimate:
        delay = min(_reading_gap(estimate), max(MIN_POLL, estimate - elapsed))
    else:
        delay = min(MAX_POLL, MIN_POLL + (elapsed - estimate) / 6)
    return delay * random.uniform(0.9, 1.1)  # jitter, so jobs started together spread out


def claim_due(limit: int = 50, now=None) -> list[int]:
    """Claim running jobs whose next read is due, so no other poller reads them now.

    The claim is a conditional UPDATE on next_poll_at: two pollers (also on
    PostgreSQL, several machines) cannot both win the same job.
    """
    now = now or timezone.now()
    lease = now + timedelta(seconds=30)
    claimed = []
    for pk, due in (
        Job.objects.due_for_poll(now)
        .order_by("next_poll_at")
        .values_list("pk", "next_poll_at")[:limit]
    ):
        if Job.objects.claim(pk, Job.Status.RUNNING, due, lease):
            claimed.append(pk)
    return claimed


def refresh(job_id: int) -> None:
    """Read the job's upstream task once and act on what it says."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status != Job.Status.RUNNING:
        return
    job.count_poll()
    started = time.monotonic()
    try:
        with get_adapter(job.provider) as adapter:
            snapshot = adapter.fetch(job.upstream_id)
    except ProviderError as exc:
        _note_call(job.provider, ProviderCall.Call.READ, started, exc)
        _read_failed(job, exc)
        return
    _note_call(job.provider, ProviderCall.Call.READ, started)
    apply_snapshot(job, snapshot)


def apply_snapshot(job: Job, snapshot: Snapshot) -> None:
    raw = {
        "status": snapshot.status.value,
        "upstream_status": snapshot.upstream_status,
        "progress": snapshot.progress,
        "image_urls": list(snapshot.image_urls),
        "estimated_seconds": (job.snapshot or {}).get("estimated_seconds"),
    }
    if snapshot.status == Status.COMPLETED:
        if not snapshot.image_urls:
            fail(job, Kind.CONTENT_POLICY, "no_images", "The provider returned no images.", raw)
            return
        with transaction.atomic():
            recheck = timezone.now() + _recheck("INGEST_RECHECK")
            if not job.mark_ingesting(raw, recheck, snapshot.cost):
                return
            _slot_freed(job)
            for index, url in enumerate(snapshot.image_urls):
                Image.objects.get_or_create(job=job, index=index, defaults={"upstream_url": url})
        # The caller ingests next (the poller does it at once); the sweep
        # re-queues it through django-q2 if that caller dies first.
        job.log("completed upstream", f"{len(snapshot.image_urls)} image(s)")
        return
    if snapshot.status == Status.FAILED:
        error = snapshot.error
        kind = error.kind if error else Kind.UNAVAILABLE
        fail(
            job,
            kind,
            (error.code or "") if error else "",
            error.message if error else "failed",
            raw,
        )
        return
    delay = next_poll_delay(job)
    job.record_progress(snapshot.progress, raw, timezone.now() + timedelta(seconds=delay))


def _read_failed(job: Job, exc: ProviderError) -> None:
    if exc.retryable or exc.ambiguous:
        delay = health.read_backoff(job.provider, exc.retry_after or next_poll_delay(job) * 2)
        job.poll_again_at(timezone.now() + timedelta(seconds=min(delay, 60)))
        job.log("read failed", f"{exc.kind}; next read in {delay:.0f}s", code=exc.code)
        return
    fail(job, exc.kind, exc.code or "", exc.message)


def nudge(job: Job) -> bool:
    """A callback arrived: read the task at the next poller tick instead of waiting."""
    return job.poll_again_at(timezone.now())


# --- ingesting ------------------------------------------------------------------------------


def ingest(job_id: int) -> None:
    """Store every image of a job that completed upstream, then settle it."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status != Job.Status.INGESTING:
        return
    waiting = list(job.images.filter(status=Image.Status.PENDING))
    Image.count_fetch_attempts(waiting)
    # Downloading, checking and thumbnailing are network and Pillow work that
    # release the GIL: a grid's four images side by side take about the time
    # of one. The database writes stay on this thread, in one transaction.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="ingest") as pool:
        outcomes = list(pool.map(_fetch, [image.upstream_url for image in waiting]))
    with transaction.atomic():
        changed, notes = [], []
        for image, outcome in zip(waiting, outcomes, strict=True):
            moved, note = _record(job, image, outcome)
            changed += [image.index] if moved else []
            notes += [note] if note else []
        # Logged after every image row is written: the feed's row is the last
        # lock a transaction takes (see live.events).
        for kind, message in notes:
            job.log(kind, message)
        if changed:
            # Thumbnails appear on open pages now, before the job is settled.
            emit(job.team_id, LiveEvent.Kind.IMAGES, job_id=job.pk, payload={"images": changed})
    pending = job.images.filter(status=Image.Status.PENDING)
    if pending.exists():
        # The sweep comes back for it, less often each time, until the links expire:
        # 4 s, 8 s, 16 s... up to an hour. Most download failures are a passing 5xx,
        # and the finished job's images should not wait long for a second try.
        attempts = max(pending.values_list("fetch_attempts", flat=True))
        wait = min(3600, 2 ** (attempts + 1))
        job.retry_ingest_at(timezone.now() + timedelta(seconds=wait))
        return
    finish(job)


def _fetch(url: str) -> images.StoredImage | images.ImageFetchError:
    try:
        return images.store(images.download(url))
    except images.ImageFetchError as exc:
        return exc


def _record(
    job: Job, image: Image, outcome: images.StoredImage | images.ImageFetchError
) -> tuple[bool, tuple[str, str] | None]:
    """Keep one fetch's outcome: whether the image changed (stored, or lost),
    and the line for the job's log, if any."""
    if isinstance(outcome, images.ImageFetchError):
        expired = timezone.now() - (job.finished_at or job.created) > IMAGE_RETRY_WINDOW
        if not outcome.retryable or expired:
            return image.mark_lost(), ("image lost", f"Image {image.index + 1}: {outcome}")
        return False, ("image retry", f"Image {image.index + 1}: {outcome}")
    stored = image.mark_stored(
        original=outcome.original,
        thumbnail=outcome.thumbnail,
        width=outcome.width,
        height=outcome.height,
        bytes=outcome.bytes,
        sha256=outcome.sha256,
    )
    return stored, None


def finish(job: Job) -> None:
    """Settle a fully ingested job: the full price, even if moderation or an
    expired URL left fewer images (the provider charged for the request)."""
    account = _account_of(job)
    with transaction.atomic():
        ledger.lock_account(account)  # before the move announces it: see live.events
        if not job.mark_completed(credits_charged=job.credits_reserved):
            return
        ledger.settle(job=job, account=account)
        _announce_end(job)
        _slot_freed(job)
    stored = job.images.filter(status=Image.Status.STORED).count()
    job.log("stored", f"{stored} image(s) stored, {job.credits_charged} credits charged")


# --- ending -----------------------------------------------------------------------------------


def _account_of(job: Job):
    """The credit account the job was reserved from."""
    return ledger.account_for(Membership.objects.get(team=job.team_id, user=job.user_id))


def fail(job: Job, kind: str, code: str, message: str, snapshot: dict | None = None) -> None:
    """Fail and refund, once."""
    account = _account_of(job)
    with transaction.atomic():
        ledger.lock_account(account)  # before the move announces it: see live.events
        if not job.mark_failed(str(kind), code, message, snapshot):
            return
        entry = ledger.refund(job=job, account=account, reason=f"{job.operation} · failed: {kind}")
        _announce_end(job)
        _slot_freed(job)
    job.log("failed", message, kind=str(kind), code=code, refunded=entry.amount)


def cancel(job: Job) -> bool:
    account = _account_of(job)
    with transaction.atomic():
        ledger.lock_account(account)  # before the move announces it: see live.events
        if not job.cancel():
            job.log(
                "cancel requested", "The job already reached the provider; its images will be kept"
            )
            return False
        ledger.refund(job=job, account=account, reason=f"{job.operation} · cancelled")
        _announce_end(job)
        _slot_freed(job)
    job.log("cancelled", f"Refunded {job.credits_reserved} credits")
    return True


def sweep(now=None) -> int:
    """Recover jobs whose queue task was lost; run by the poller every few seconds.

    Queued jobs past their recheck time are queued again, ingests are retried,
    and a submit that never finished (its worker was killed) is failed and
    refunded: the create request may have reached the provider, and no
    provider lets us look it up, so sending it again could pay twice.
    """
    now = now or timezone.now()
    moved = 0
    for status, task, recheck in (
        (Job.Status.QUEUED, "submit_job", _recheck("QUEUE_RECHECK")),
        (Job.Status.INGESTING, "ingest_job", _recheck("INGEST_RECHECK")),
    ):
        due = Job.objects.filter(status=status, next_poll_at__lte=now)
        for pk, at in due.values_list("pk", "next_poll_at")[:100]:
            if Job.objects.claim(pk, status, at, now + recheck):
                enqueue(task, pk)
                moved += 1
    stuck = Job.objects.filter(status=Job.Status.SUBMITTING, next_poll_at__lte=now)
    for job in stuck[:100]:
        fail(job, Kind.AMBIGUOUS, "interrupted", "Sending to the provider was interrupted.")
        moved += 1
    return moved + reap(now)


def _announce_end(job: Job) -> None:
    """A script that asked to be called back hears about the end, once it commits."""
    if (
        Job.objects.filter(pk=job.pk, api_task__isnull=False)
        .exclude(api_task__callback_url="")
        .exists()
    ):
        enqueue("deliver_callback", job.pk)


def reap(now=None) -> int:
    """Give jobs past their deadline one last read, then an end."""
    now = now or timezone.now()
    count = 0
    # A running job of a provider marked down is not ended: its task may be
    # done upstream, and is read when the provider returns (its images wait
    # there for a day).
    outage = Q(
        status=Job.Status.RUNNING,
        provider__in=health.down_providers(),
        submitted_at__gt=now - IMAGE_RETRY_WINDOW,
    )
    for job in Job.objects.past_deadline(now).exclude(outage).order_by("deadline")[:100]:
        count += 1
        if job.status == Job.Status.RUNNING:
            refresh(job.pk)
            ingest(job.pk)  # if that last read found it complete
            job.refresh_from_db()
        if job.status in (Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.RUNNING):
            fail(job, Kind.UNAVAILABLE, "deadline", "The provider did not finish in time.")
    return count


def purge_trash(now=None, *, batch: int = 500) -> int:
    """Purge jobs deleted more than MJWEB_TRASH_DAYS ago; how many. The poller
    runs it hourly beside the reference clean-up; a backlog larger than
    `batch` is worked off over the next runs."""
    purged = 0
    for job in Job.objects.trash_due(now).order_by("deleted_at", "pk")[:batch]:
        purged += job.purge()
    if purged:
        log.info("purged %d jobs from the trash", purged)
    return purged

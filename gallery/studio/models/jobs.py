"""Jobs (one upstream task each), their images and their event log.

A job is a database state machine:

    awaiting ─┐ (approved)
              ↓
    queued → submitting → running → ingesting → completed
       ↘           ↘          ↘          ↘
                        failed | cancelled

A job that needs an admin's approval starts as "awaiting", its credits
reserved; approval queues it, a decline cancels it (and refunds it).

Every transition is a conditional UPDATE on the current status, so two
workers racing on the same job cannot both move it: the loser's update
touches no row and it steps aside.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import (
    Case,
    F,
    FloatField,
    Func,
    Max,
    OuterRef,
    Q,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce, NullIf
from django.utils import timezone

from gallery.net.digests import secret_digest
from gallery.studio.live.events import emit
from gallery.studio.models.live import LiveEvent
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership, Team

if TYPE_CHECKING:
    from gallery.providers.base import Cost

# The upstream gives up on a task after about 20 minutes (providers.md §2.1);
# past this the reaper reads the task one last time and settles it.
JOB_DEADLINE = timedelta(minutes=25)

# The event that marks a job purged from the trash: its files and images are
# gone, its row stays because the ledger's entries name it.
PURGED = "purged"


class JobStatus(models.TextChoices):
    AWAITING = "awaiting", "Awaiting approval"
    QUEUED = "queued"
    SUBMITTING = "submitting"
    RUNNING = "running"
    INGESTING = "ingesting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def time_left(status: str, estimate: float | None, submitted_at, now=None) -> int | None:
    """The provider's estimate less the time since it accepted the job, in
    whole seconds (0 once past it); None when the job is not running or no
    estimate is known (reAPI gives none)."""
    if status != JobStatus.RUNNING or not estimate or submitted_at is None:
        return None
    elapsed = ((now or timezone.now()) - submitted_at).total_seconds()
    return max(0, round(estimate - elapsed))


# How a note that a job waits for its provider begins (pipeline.wait_note).
WAITING_NOTE_START = "Waiting for "


class JobQuerySet(models.QuerySet["Job"]):
    def visible_to(self, user) -> JobQuerySet:
        """Jobs of the user's teams, less other people's private and deleted ones."""
        teams = Membership.objects.for_user(user).values("team_id")
        return self.filter(team_id__in=teams, deleted_at__isnull=True).filter(
            Q(private=False) | Q(user=user)
        )

    def visible_in(self, membership: Membership, *, deleted: bool | None = False) -> JobQuerySet:
        """The jobs of a membership's team that its member may see: as
        `visible_to(membership.user).filter(team=membership.team)`, without
        asking the database again which teams the user is in. The one rule of
        who sees a job: the team's, less other members' private ones.

        `deleted`: False the live jobs (the gallery), True those in the trash
        instead, None both (a job's page, which stays open to whoever may
        restore it)."""
        jobs = self.filter(team_id=membership.team_id)
        if deleted is not None:
            jobs = jobs.filter(deleted_at__isnull=not deleted)
        return jobs.filter(Q(private=False) | Q(user_id=membership.user_id))

    def in_trash(self, membership: Membership) -> JobQuerySet:
        """The deleted, not yet purged jobs this member may restore or purge:
        their own, or as an admin the team's, less others' private ones (a
        private job stays its author's, in the trash as in the gallery)."""
        jobs = self.filter(team_id=membership.team_id, deleted_at__isnull=False).exclude(
            events__kind=PURGED
        )
        if membership.is_admin:
            return jobs.filter(Q(private=False) | Q(user_id=membership.user_id))
        return jobs.filter(user_id=membership.user_id)

    def soft_delete(self) -> int:
        """Into the trash, those not there yet; how many went (each told to open pages)."""
        return self._flip(
            self.filter(deleted_at__isnull=True), LiveEvent.Kind.DELETED, deleted_at=timezone.now()
        )

    def restore(self) -> int:
        """Out of the trash; a purged job has nothing left to bring back. How many came."""
        due = self.filter(deleted_at__isnull=False).exclude(events__kind=PURGED)
        return self._flip(due, LiveEvent.Kind.RESTORED, deleted_at=None)

    @staticmethod
    def _flip(jobs: JobQuerySet, kind: str, **changes: Any) -> int:
        """Update `jobs` and write one `kind` event for each, in one transaction.
        The ids are read first, their rows locked (a racing second delete waits,
        then finds them gone from its filter), so an event is written for exactly
        the rows this call changed."""
        with transaction.atomic(savepoint=False):
            rows = sorted(
                jobs.select_for_update(no_key=True).order_by("pk").values_list("team_id", "pk")
            )
            if not rows:
                return 0
            Job.objects.filter(pk__in=[pk for _, pk in rows]).update(**changes)
            for team_id, pk in rows:
                emit(team_id, kind, job_id=pk)
        return len(rows)

    def trash_due(self, now=None) -> JobQuerySet:
        """Deleted jobs that have lain in the trash MJWEB_TRASH_DAYS and not been purged."""
        cutoff = (now or timezone.now()) - timedelta(days=settings.MJWEB_TRASH_DAYS)
        return self.filter(deleted_at__lt=cutoff).exclude(events__kind=PURGED)

    def with_ids(self, ids) -> JobQuerySet:
        """These jobs, unordered: sorted by date, the database would walk all of
        a team's jobs through the gallery index instead of looking the ids up."""
        return self.filter(pk__in=ids).order_by()

    def older_than(self, created, pk: int) -> JobQuerySet:
        """Jobs after (created, pk) in the gallery's order, newest first. The
        plain `created <=` bound lets the (team, -created, -id) index start the
        walk there, however deep; only jobs of that very instant are looked
        at twice. Never OFFSET: that reads every job it skips."""
        return self.filter(created__lte=created).exclude(created=created, pk__gte=pk)

    def newer_than(self, created, pk: int) -> JobQuerySet:
        """Jobs before (created, pk) in the gallery's order, as `older_than`
        the other way: order them oldest first to walk back from there."""
        return self.filter(created__gte=created).exclude(created=created, pk__lte=pk)

    def awaiting_approval(self) -> JobQuerySet:
        return self.filter(status=JobStatus.AWAITING)

    def in_flight(self) -> JobQuerySet:
        return self.filter(status__in=Job.IN_FLIGHT)

    def search(self, text: str) -> JobQuerySet:
        """Jobs that have every word of `text` in their own prompt or in the
        prompt their lineage began with: a search for a picture's prompt finds
        its upscales, pans and zooms, which have none of their own."""
        qs = self
        for word in text.split()[:8]:
            qs = qs.filter(Q(prompt__icontains=word) | Q(root_prompt__icontains=word))
        return qs

    def recent_prompts(self, search: str = "", limit: int = 50) -> list[str]:
        """The prompts of these generations, each once, the most recently used
        first: what the person typed (the API's and older jobs' sent prompt
        when none was kept). One grouped query, however many jobs share one."""
        typed = Coalesce(NullIf("prompt_raw", Value("")), "prompt", output_field=TextField())
        jobs = self.filter(operation="mj-v7").annotate(typed=typed).exclude(typed="")
        if search:
            jobs = jobs.filter(typed__icontains=search)
        rows = jobs.order_by().values("typed").annotate(last=Max("created"), pk=Max("pk"))
        return [row["typed"] for row in rows.order_by("-last", "-pk")[:limit]]

    def starred_by(self, user) -> JobQuerySet:
        return self.filter(stars__user=user)

    def of_member(self, team_id, user_id) -> JobQuerySet:
        """A member's jobs, for a filter on their status: `+ 0` keeps the team
        and user indexes out of the plan. Without statistics SQLite would walk
        all the team's jobs through one of them (thousands of rows, and under
        the team's lock when a job is made or sent), where the (status,
        next_poll_at) index finds the few in flight or waiting at once."""
        return self.alias(team_n=F("team_id") + 0, user_n=F("user_id") + 0).filter(
            team_n=team_id, user_n=user_id
        )

    def waiting(self) -> JobQuerySet:
        """Jobs parked in line: accepted and reserved, not yet sent, waiting
        for a slot of their member's (max_in_flight) or of their provider's.
        A queued job with a recheck time is not waiting: it is being sent."""
        return self.filter(status=JobStatus.QUEUED, next_poll_at__isnull=True)

    def in_line_for(self, membership: Membership) -> JobQuerySet:
        """The waiting jobs a member sees on the team's queue page: an admin,
        the team's (less others' private ones, as everywhere); anyone else,
        only their own."""
        jobs = self.visible_in(membership).waiting()
        return jobs if membership.is_admin else jobs.filter(user_id=membership.user_id)

    def with_flight_facts(self) -> JobQuerySet:
        """What an in-flight card shows beyond its status, read in the cards'
        own query: `queue_position` (waiting jobs only, else None) and
        `upstream_estimate`, the provider's estimate in seconds (a number out
        of the snapshot, which stays undecoded).

        A waiting job's position is 1 + the number of its member's jobs in the
        same team waiting before it (made earlier, or at the same instant with
        a lower id): a member's jobs start in that order, one each time a slot
        of theirs frees (dispatch takes each member's oldest first)."""
        ahead = (
            Job.objects.waiting()
            .of_member(OuterRef("team_id"), OuterRef("user_id"))
            .filter(
                Q(created__lt=OuterRef("created"))
                | Q(created=OuterRef("created"), pk__lt=OuterRef("pk"))
            )
            .order_by()
            # COUNT as a plain function: one row, no GROUP BY (and no sort) to make it.
            .annotate(n=Func(F("pk"), function="COUNT"))
            .values("n")
        )
        is_waiting = Q(status=JobStatus.QUEUED, next_poll_at__isnull=True)
        return self.annotate(
            queue_position=Case(When(is_waiting, then=Subquery(ahead) + 1), default=None),
            # Only running rows' JSON is parsed: a page of finished cards reads none.
            upstream_estimate=Case(
                When(
                    status=JobStatus.RUNNING,
                    then=Cast(KT("snapshot__estimated_seconds"), FloatField()),
                ),
                default=None,
            ),
        )

    # --- claims by id: compare-and-set on what the caller saw ---------------------------

    def claim(self, pk: int, status: str, seen_at, until) -> bool:
        """Take job `pk` for a while: its next_poll_at moves from `seen_at`
        (what the caller read) to `until`, only if it is still `status` and
        no other poller or sweep moved it first. Whether this caller won."""
        return bool(
            self.filter(pk=pk, status=status, next_poll_at=seen_at).update(next_poll_at=until)
        )

    def send_waiting(self, pk: int, recheck_at, deadline) -> bool:
        """A job waiting in line is sent: only one dispatcher wins it. Its
        time upstream starts now, however long it waited (`deadline`)."""
        return bool(self.waiting().filter(pk=pk).update(next_poll_at=recheck_at, deadline=deadline))

    def due_for_poll(self, now=None) -> JobQuerySet:
        return self.filter(status=Job.Status.RUNNING, next_poll_at__lte=now or timezone.now())

    def past_deadline(self, now=None) -> JobQuerySet:
        """Jobs the upstream should have finished by now. Ingesting jobs are not
        among them: the upstream did finish, and their images are retried until
        the links expire.
        Jobs waiting in line are not either: their time starts when they are
        sent (dispatch sets a new deadline then)."""
        waiting = (JobStatus.QUEUED, JobStatus.SUBMITTING, JobStatus.RUNNING)
        return self.filter(status__in=waiting, deadline__lt=now or timezone.now()).exclude(
            status=JobStatus.QUEUED, next_poll_at__isnull=True
        )


class Job(models.Model):
    Status = JobStatus

    IN_FLIGHT = (
        Status.AWAITING,
        Status.QUEUED,
        Status.SUBMITTING,
        Status.RUNNING,
        Status.INGESTING,
    )
    FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
    # A job has no Image rows until the provider says it completed.
    BEFORE_IMAGES = (Status.AWAITING, Status.QUEUED, Status.SUBMITTING, Status.RUNNING)

    team = models.ForeignKey(Team, models.PROTECT, related_name="jobs")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="jobs")
    provider = models.CharField(max_length=20)
    operation = models.CharField(max_length=40)
    # None: made before projects, or for no project in particular.
    project = models.ForeignKey(Project, models.PROTECT, null=True, blank=True, related_name="jobs")
    parent = models.ForeignKey(
        "Image", models.PROTECT, null=True, blank=True, related_name="children"
    )
    source_urls = models.JSONField(default=list, blank=True)  # remove-bg, retexture, …
    prompt_raw = models.TextField(blank=True)
    prompt = models.TextField(blank=True)  # normalised, as sent upstream
    # What the job is, in people's words, from the catalog ("Pan left ×1.5"),
    # and the prompt its lineage began with: kept on the row so cards and
    # search need no walk up the parents.
    title = models.CharField(max_length=120, blank=True)
    root_prompt = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    speed = models.CharField(max_length=10, blank=True)
    client_request_id = models.CharField(max_length=64, blank=True)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # Why an awaiting job waits for an admin ("costs more than 500 credits").
    approval_reason = models.CharField(max_length=200, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    upstream_id = models.CharField(max_length=100, blank=True, db_index=True)
    snapshot = models.JSONField(default=dict, blank=True)  # the provider's last answer
    error_kind = models.CharField(max_length=30, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_message = models.TextField(blank=True)

    credits_reserved = models.BigIntegerField(default=0)
    credits_charged = models.BigIntegerField(null=True, blank=True)
    # What the provider said the task cost, in its own unit (evolink credits,
    # Vtrix USD); empty when it says nothing (reAPI). Never billed: kept to
    # reconcile the provider's statement with what members were charged.
    provider_cost = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    provider_cost_unit = models.CharField(max_length=10, blank=True)

    created = models.DateTimeField(default=timezone.now, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField()
    # When the poller next looks at the job: its next status read while
    # running, or the recovery sweep's recheck in the other in-flight states.
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_count = models.PositiveIntegerField(default=0)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    # What the card says about the job's provider: that it moved to another
    # one (and at what price), or that it waits for its own to come back.
    provider_note = models.CharField(max_length=200, blank=True)
    callback_token_hash = models.CharField(max_length=64, blank=True)

    private = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [
            # The gallery's order, ties included, so a page is read off the index.
            models.Index(fields=["team", "-created", "-id"], name="job_team_newest_first"),
            models.Index(fields=["status", "next_poll_at"], name="job_poll_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in JobStatus]), name="job_status_is_known"
            ),
            models.CheckConstraint(condition=Q(progress__lte=100), name="job_progress_0_100"),
            models.CheckConstraint(
                condition=Q(credits_reserved__gte=0), name="job_reserved_not_negative"
            ),
            models.UniqueConstraint(
                fields=["user", "client_request_id"],
                condition=~Q(client_request_id=""),
                name="one_job_per_client_request",
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} {self.operation} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.deadline is None:
            self.deadline = (self.created or timezone.now()) + JOB_DEADLINE
        super().save(*args, **kwargs)

    def visible_to_member(self, team_id: int, user_id: int) -> bool:
        """JobQuerySet.visible_in for one loaded row, in Python: whether the
        member (team_id, user_id) sees this job in their gallery now. The live
        feed asks it of every job event it sends; keep the two in step."""
        return (
            self.team_id == team_id
            and self.deleted_at is None
            and (not self.private or self.user_id == user_id)
        )

    # Read by cards when the query has `with_flight_facts()`; None otherwise.
    queue_position: int | None = None
    upstream_estimate: float | None = None

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    @property
    def is_waiting(self) -> bool:
        return self.queue_position is not None

    @property
    def time_left(self) -> int | None:
        """Seconds to the provider's estimate; see `time_left`. Needs
        `with_flight_facts()` in the query (else None)."""
        return time_left(self.status, self.upstream_estimate, self.submitted_at)

    @property
    def prompt_text(self) -> str:
        """The prompt without its --parameters, for the card's headline."""
        return self.prompt.split(" --", 1)[0].strip()

    @property
    def card_images(self) -> list[Image]:
        """Its images in order, for its gallery card: fetched with the job when
        the gallery's query prefetched them into `fetched_images`, else now."""
        try:
            return self.fetched_images
        except AttributeError:
            pass
        if self.status in self.BEFORE_IMAGES:
            return []
        return list(self.images.order_by("index"))

    @property
    def chips(self) -> list[str]:
        """The --parameters as the card shows them ("--ar 16:9", "--s 250")."""
        if " --" not in f" {self.prompt}":
            return []
        tail = f" {self.prompt}".split(" --", 1)[1]
        return [f"--{part.strip()}" for part in tail.split(" --") if part.strip()]

    # --- transitions -------------------------------------------------------------

    def _move(
        self,
        sources: tuple[str, ...],
        *,
        live: tuple[str, dict[str, Any]] | None = None,
        **changes: Any,
    ) -> bool:
        """Apply `changes` only if the job is still in one of `sources`.

        Returns whether this caller won; on success the instance is updated.
        A status move is told to open pages (a `status` event); `live` names
        another event (kind, payload) for a move that pages show.
        """
        if live is None and "status" in changes:
            live = (LiveEvent.Kind.STATUS, {"status": str(changes["status"])})
        if live is None:
            won = Job.objects.filter(pk=self.pk, status__in=sources).update(**changes)
        else:
            with transaction.atomic(savepoint=False):
                won = Job.objects.filter(pk=self.pk, status__in=sources).update(**changes)
                if won:
                    emit(self.team_id, live[0], job_id=self.pk, payload=live[1])
        if won:
            # Plain values are what was written; only expressions (F() + 1)
            # need the row read back.
            computed = [k for k, v in changes.items() if hasattr(v, "resolve_expression")]
            for name, value in changes.items():
                if name not in computed:
                    setattr(self, name, value)
            if computed:
                self.refresh_from_db(fields=computed)
        return bool(won)

    def can_manage(self, user, *, is_admin: bool) -> bool:
        """Deleting and restoring: the author, or a team admin."""
        return self.user_id == user.pk or is_admin

    def soft_delete(self) -> bool:
        return bool(Job.objects.filter(pk=self.pk).soft_delete())

    def restore(self) -> bool:
        """Out of the trash; a purged job has nothing left to bring back."""
        return bool(Job.objects.filter(pk=self.pk).restore())

    @property
    def is_purged(self) -> bool:
        return self.events.filter(kind=PURGED).exists()

    def purge(self) -> bool:
        """Delete a trashed job's pictures for good; True if this call purged it.

        The job row stays, still deleted, because ledger entries refer to it and
        the ledger is append-only; a "purged" event marks it so it leaves the
        trash and cannot be restored. Its Image rows go, except those another
        job was made from (Job.parent protects them, and the lineage should
        still read): those keep their row with the files cleared. Files are
        deleted after the commit, and only those no remaining image names
        (storage is content-addressed, so two images can share one file): a
        crash in between leaves an orphan file, never a row without its file.
        Running it twice, or beside a restore, is safe: the first statement is
        a conditional write on the job row, which serialises the two.
        """
        with transaction.atomic():
            still_deleted = Job.objects.filter(pk=self.pk, deleted_at__isnull=False).update(
                deleted_at=F("deleted_at")
            )
            if not still_deleted or self.events.filter(kind=PURGED).exists():
                return False
            _share_links().filter(image__job=self).revoke()
            images = Image.objects.filter(job=self)
            names = {n for pair in images.values_list("original", "thumbnail") for n in pair if n}
            parents = images.filter(children__isnull=False)
            parents.update(original="", thumbnail="", status=Image.Status.LOST)
            images.exclude(pk__in=parents.values("pk")).delete()
            self.log(PURGED, "Deleted forever from the trash", files=len(names))
            transaction.on_commit(lambda: _delete_unnamed_files(names))
        return True

    def make_private(self) -> int:
        """Only its author sees it from now on: the public share links of its
        images are revoked in the same transaction, since private must mean
        that nobody outside holds a way in. Returns how many were revoked."""
        with transaction.atomic():
            Job.objects.filter(pk=self.pk).update(private=True)
            self.private = True
            revoked = _share_links().filter(image__job=self).revoke()
            emit(self.team_id, LiveEvent.Kind.HIDDEN, job_id=self.pk)
        return revoked

    def share_with_team(self) -> None:
        """The team sees it again; links revoked when it went private stay revoked."""
        with transaction.atomic():
            Job.objects.filter(pk=self.pk).update(private=False)
            emit(self.team_id, LiveEvent.Kind.SHOWN, job_id=self.pk)
        self.private = False

    def new_callback_token(self) -> str:
        """A fresh secret for this job's callback URL, saved as its digest
        only (the secret goes upstream in the URL and nowhere else)."""
        token = secrets.token_urlsafe(24)
        self.callback_token_hash = secret_digest(token)
        Job.objects.filter(pk=self.pk).update(callback_token_hash=self.callback_token_hash)
        return token

    def claim_for_submit(self, give_up_at) -> bool:
        """queued → submitting, counting the attempt; past `give_up_at` the
        poller's sweep treats the submit as interrupted."""
        return self._move(
            (self.Status.QUEUED,),
            status=self.Status.SUBMITTING,
            submit_attempts=F("submit_attempts") + 1,
            next_poll_at=give_up_at,
        )

    def requeue(self, retry_at) -> bool:
        """submitting → queued: the provider asked us to try again later."""
        return self._move(
            (self.Status.SUBMITTING,), status=self.Status.QUEUED, next_poll_at=retry_at
        )

    def move_to_provider(self, provider: str, credits: int, note: str, retry_at) -> bool:
        """queued or submitting → queued on another provider at its price, its
        attempts counted afresh; only before any provider took it."""
        return self._move(
            (self.Status.QUEUED, self.Status.SUBMITTING),
            status=self.Status.QUEUED,
            provider=provider,
            credits_reserved=credits,
            provider_note=note[:200],
            submit_attempts=0,
            next_poll_at=retry_at,
        )

    def wait_for_provider(self, note: str) -> bool:
        """submitting or queued → waiting in line (no recheck time) until its
        provider is back: dispatch sends it then."""
        live = (LiveEvent.Kind.QUEUE, {"waiting": True})
        return self._move(
            (self.Status.QUEUED, self.Status.SUBMITTING),
            live=live,
            status=self.Status.QUEUED,
            provider_note=note[:200],
            next_poll_at=None,
        )

    def park(self) -> bool:
        """A queued job waits in line for a free slot (no recheck time): its card
        shows its place in line (a `queue` event)."""
        live = (LiveEvent.Kind.QUEUE, {"waiting": True})
        return self._move((self.Status.QUEUED,), live=live, next_poll_at=None)

    def approve(self, recheck_at, deadline) -> bool:
        """awaiting → queued: an admin approved it; its time upstream starts now."""
        return self._move(
            (self.Status.AWAITING,),
            status=self.Status.QUEUED,
            next_poll_at=recheck_at,
            deadline=deadline,
        )

    def decline(self, message: str) -> bool:
        """awaiting → cancelled: an admin declined it (the caller refunds it)."""
        return self._move(
            (self.Status.AWAITING,),
            status=self.Status.CANCELLED,
            error_message=message,
            credits_charged=0,
            finished_at=timezone.now(),
        )

    def count_poll(self) -> None:
        """One more read of the upstream task (the poll cadence counts them)."""
        Job.objects.filter(pk=self.pk).update(poll_count=F("poll_count") + 1)

    def record_progress(self, progress: int, snapshot: dict, next_poll_at) -> bool:
        """A running job's latest read: its progress (0-99, 100 is for the
        images being in), what the upstream said, and when to read again."""
        progress = max(0, min(99, progress))
        left = time_left(self.Status.RUNNING, snapshot.get("estimated_seconds"), self.submitted_at)
        return self._move(
            (self.Status.RUNNING,),
            live=(LiveEvent.Kind.PROGRESS, {"p": progress, "left": left}),
            progress=progress,
            snapshot=snapshot,
            next_poll_at=next_poll_at,
        )

    def poll_again_at(self, when) -> bool:
        """A running job's next read (sooner for a callback, later after a failed read)."""
        return self._move((self.Status.RUNNING,), next_poll_at=when)

    def retry_ingest_at(self, when) -> bool:
        """An ingesting job whose images did not all arrive tries again `when`."""
        return self._move((self.Status.INGESTING,), next_poll_at=when)

    def mark_running(
        self, upstream_id: str, snapshot: dict, next_poll_at, cost: Cost | None = None
    ) -> bool:
        """`cost`: the provider's reported cost (`providers.Cost`), if any."""
        # A note that it waited for its provider is over; one that it moved stays.
        note = "" if self.provider_note.startswith(WAITING_NOTE_START) else self.provider_note
        return self._move(
            (self.Status.SUBMITTING,),
            status=self.Status.RUNNING,
            provider_note=note,
            upstream_id=upstream_id,
            snapshot=snapshot,
            submitted_at=timezone.now(),
            next_poll_at=next_poll_at,
            **_cost_fields(cost),
        )

    def mark_ingesting(self, snapshot: dict, recheck_at, cost: Cost | None = None) -> bool:
        """The upstream finished; `recheck_at` is when the poller's sweep looks
        again in case the ingest task is lost with a killed worker. A `cost`
        read now (Vtrix's usage.cost) replaces the create answer's estimate."""
        return self._move(
            (self.Status.SUBMITTING, self.Status.RUNNING),
            status=self.Status.INGESTING,
            snapshot=snapshot,
            progress=100,
            next_poll_at=recheck_at,
            **_cost_fields(cost),
        )

    def mark_completed(self, credits_charged: int) -> bool:
        return self._move(
            (self.Status.INGESTING,),
            status=self.Status.COMPLETED,
            credits_charged=credits_charged,
            finished_at=timezone.now(),
        )

    def mark_failed(self, kind: str, code: str, message: str, snapshot: dict | None = None) -> bool:
        changes: dict[str, Any] = {
            "status": self.Status.FAILED,
            "error_kind": kind,
            "error_code": code[:60],
            "error_message": message,
            "credits_charged": 0,
            "finished_at": timezone.now(),
            "next_poll_at": None,
        }
        if snapshot is not None:
            changes["snapshot"] = snapshot
        return self._move(self.IN_FLIGHT, **changes)

    def cancel(self) -> bool:
        """A queued job is cancelled outright; anything later only asks, because
        the upstream task is already paid for and its images will be kept."""
        if self._move(
            (self.Status.AWAITING, self.Status.QUEUED),
            status=self.Status.CANCELLED,
            credits_charged=0,
            finished_at=timezone.now(),
        ):
            return True
        Job.objects.filter(pk=self.pk, status__in=self.IN_FLIGHT).update(cancel_requested=True)
        return False

    def log(self, event: str, message: str = "", /, **data: Any) -> JobEvent:
        """Add to the job's log; its open job pages hear of it (a `log` event)."""
        with transaction.atomic(savepoint=False):
            entry = JobEvent.objects.create(job=self, kind=event, message=message, data=data)
            emit(self.team_id, LiveEvent.Kind.LOG, job_id=self.pk, payload={"kind": event})
        return entry


class Image(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"  # known upstream, not yet stored
        STORED = "stored"
        LOST = "lost"  # the upstream URL died before we could fetch it

    job = models.ForeignKey(Job, models.CASCADE, related_name="images")
    index = models.PositiveSmallIntegerField()  # the provider's image_number, 0-3
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    upstream_url = models.URLField(max_length=2048)
    original = models.FileField(upload_to="originals/", max_length=200, blank=True, db_index=True)
    thumbnail = models.FileField(upload_to="thumbs/", max_length=200, blank=True, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    fetch_attempts = models.PositiveSmallIntegerField(default=0)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["job", "index"]
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="one_image_per_slot"),
        ]

    def __str__(self) -> str:
        return f"Image {self.index} of job {self.job_id}"

    # --- transitions: each from pending only, so a late answer changes nothing ---------

    def mark_stored(self, **stored: Any) -> bool:
        """pending → stored, with the file names and facts of what was kept."""
        return self._from_pending(status=self.Status.STORED, **stored)

    def mark_lost(self) -> bool:
        """pending → lost: its upstream URL died before it could be fetched."""
        return self._from_pending(status=self.Status.LOST)

    def _from_pending(self, **changes: Any) -> bool:
        won = Image.objects.filter(pk=self.pk, status=self.Status.PENDING).update(**changes)
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return bool(won)

    @classmethod
    def count_fetch_attempts(cls, images: list[Image]) -> None:
        """One more try at fetching each of these (the retry back-off reads it)."""
        cls.objects.filter(pk__in=[i.pk for i in images]).update(
            fetch_attempts=F("fetch_attempts") + 1
        )

    @property
    def active_share_link(self) -> models.Model | None:
        """Its public link (a ShareLink) that still works, if any; reads the prefetched
        `share_links`, so a page listing images asks the database nothing more."""
        return next((link for link in self.share_links.all() if link.revoked_at is None), None)

    @property
    def thumb_size(self) -> tuple[int, int]:
        """The thumbnail's pixel size, so the page reserves its box before it loads."""
        if not (self.width and self.height):
            return (512, 512)
        scale = min(1.0, 512 / max(self.width, self.height))
        return (max(1, round(self.width * scale)), max(1, round(self.height * scale)))


def _delete_unnamed_files(names: set[str]) -> None:
    for name in names:
        if not Image.objects.filter(Q(original=name) | Q(thumbnail=name)).exists():
            default_storage.delete(name)


class JobEvent(models.Model):
    """What happened to a job and when, for the person asking why it was slow."""

    job = models.ForeignKey(Job, models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=30)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%H:%M:%S}"


def _cost_fields(cost: Cost | None) -> dict[str, Any]:
    return {} if cost is None else {"provider_cost": cost.amount, "provider_cost_unit": cost.unit}


def _share_links() -> models.QuerySet:
    """Every ShareLink, reached through Image's relation: `organise` imports this
    module, so importing it back would make a cycle."""
    return Image._meta.get_field("share_links").related_model.objects.all()

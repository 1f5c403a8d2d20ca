"""Batches from a table: preview every row with its price, then run them as
jobs under a spending cap, a few at a time, through pipeline.create.

    preview()  parse (catalog.tables), lint and price each row (credits.quotes)
    start()    the batch, its rows and its collection; its first jobs
    feed()     the next jobs while it runs, its member has slots and the cap allows
    pause(), resume(), cancel()  cancel refunds the jobs still waiting in line

The cap is kept where credits are reserved: a job is made only if
`Batch.commit` fits its reservation under the cap, in create()'s transaction
after the team's lock (see models/batches.py). Rows past the cap are never
reserved at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F

from gallery.catalog import permutations, tables
from gallery.catalog.operations import Request
from gallery.credits.models.prices import Price
from gallery.credits.quotes import preview as preview_request
from gallery.studio import pipeline
from gallery.studio.models.batches import Batch, BatchJob, BatchRow
from gallery.studio.models.jobs import Job
from gallery.studio.models.organise import Collection, CollectionItem
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Membership, Team

ONE_JOB_PER_ROW = (
    "One job per row: permutations {…} and --repeat belong to the create bar; use the repeat column"
)


@dataclass(frozen=True)
class Priced:
    row: tables.Row
    request: Request
    credits: int  # each job's
    project: Project | None = None  # the row's, or the default `preview` was given

    @property
    def subtotal(self) -> int:
        return self.credits * self.row.repeat


@dataclass(frozen=True)
class Preview:
    rows: list[Priced]
    problems: list[tables.Problem]

    @property
    def total(self) -> int:
        return sum(p.subtotal for p in self.rows)

    @property
    def jobs(self) -> int:
        return sum(p.row.repeat for p in self.rows)

    @property
    def bad_rows(self) -> int:
        return len({p.number for p in self.problems if p.number})


def preview(text: str, team: Team, project: Project | None = None) -> Preview:
    """Every row of the table checked and priced; bad rows apart, naming column
    and rule. A row without a provider starts on the team's first; one without
    a project goes to `project` (a token's), else to none."""
    return _priced(*tables.parse(text), team=team, default=project)


def preview_records(records: list[dict], team: Team, project: Project | None = None) -> Preview:
    """The team API's rows, as `preview` (row n is the n-th of the list)."""
    return _priced(*tables.from_records(records), team=team, default=project)


def _priced(
    rows: list[tables.Row], problems: list[tables.Problem], *, team: Team, default: Project | None
) -> Preview:
    prices, providers = Price.objects.as_mapping(), team.providers_in_order()
    projects = {p.name.casefold(): p for p in Project.objects.of_team(team.pk).open()}
    priced = []
    for row in rows:
        found = _row_problems(row, providers, projects)
        request = _request(row, providers)
        check = preview_request(request, prices=prices) if not found else None
        if check is not None:
            found += [tables.Problem(row.number, "prompt", e.message) for e in check.errors]
            if not check.errors and check.quote is None:
                found.append(tables.Problem(row.number, "prompt", check.price_problem))
        if found:
            problems.extend(found)
        else:
            project = projects[row.project.casefold()] if row.project else default
            priced.append(Priced(row, request, check.quote.credits, project))
    return Preview(priced, sorted(problems, key=lambda p: p.number))


def _request(row: tables.Row, providers: list[str]) -> Request:
    return Request(
        operation="mj-v7",
        provider=row.provider or (providers[0] if providers else settings.MJWEB_PROVIDER),
        prompt=row.composed,
        speed=row.speed or "fast",
    )


def _row_problems(
    row: tables.Row, providers: list[str], projects: dict[str, Project]
) -> list[tables.Problem]:
    found = []
    if row.provider and row.provider not in providers:
        offered = ", ".join(providers)
        message = f"{row.provider} is not set up on this site; use one of {offered}"
        found.append(tables.Problem(row.number, "provider", message))
    if row.project and row.project.casefold() not in projects:
        names = ", ".join(sorted(p.name for p in projects.values())) or "none yet"
        message = f"{row.project} is not an open project of this team (open projects: {names})"
        found.append(tables.Problem(row.number, "project", message))
    try:
        if permutations.expand(row.composed, cap=settings.MJWEB_BATCH_CAP).uses_syntax:
            found.append(tables.Problem(row.number, "prompt", ONE_JOB_PER_ROW))
    except permutations.BatchError:
        found.append(tables.Problem(row.number, "prompt", ONE_JOB_PER_ROW))
    return found


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def start(membership: Membership, name: str, cap: int, checked: Preview) -> Batch:
    """The batch of the preview's good rows, with a collection named after it;
    its first jobs are made at once. Refused when nothing could run."""
    if not membership.can_create:
        raise Refused(403, "Viewers cannot run batches")
    if not checked.rows:
        raise Refused(400, "No row can run: fix the rows named above first.")
    with transaction.atomic():
        board = Collection.objects.create(team=membership.team, owner=membership.user, name=name)
        batch = Batch.objects.create(membership=membership, name=name, cap=cap, collection=board)
        BatchRow.objects.bulk_create(
            BatchRow(
                batch=batch,
                number=p.row.number,
                name=p.row.name,
                prompt=p.request.prompt,
                provider=p.request.provider,
                speed=p.request.speed or "",
                project=p.project.name if p.project else "",
                repeat=p.row.repeat,
                credits_each=p.credits,
            )
            for p in checked.rows
        )
    feed(batch.pk)
    return batch


def jobs_of(batch: Batch):
    return Job.objects.filter(batch_link__row__batch=batch)


class _CapReached(Exception):
    """The job would take the batch past its cap: its transaction rolls back."""


def feed(batch_id: int) -> int:
    """Make the batch's next jobs: while it runs, as many as its member's free
    slots (max_in_flight), each only if it fits under the cap. How many."""
    batch = Batch.objects.select_related("membership__team", "membership__user").get(pk=batch_id)
    if batch.status != Batch.Status.RUNNING:
        return 0
    member = batch.membership
    room = pipeline.member_cap(member.team_id, member.user_id)
    room -= jobs_of(batch).in_flight().count()
    made = 0
    for row in batch.rows.filter(made__lt=F("repeat"), problem="").order_by("number"):
        while room > 0 and row.made < row.repeat:
            try:
                _make(batch, row)
            except _CapReached:
                note = f"Stopped at its cap of {batch.cap} credits: the next job would pass it."
                batch.stop(Batch.Status.CAPPED, note)
                return made
            except pipeline.Refused as refused:
                if refused.status in (402, 403):  # out of credits, or paused by an admin
                    batch.pause(refused.message[:300])
                    return made
                BatchRow.objects.filter(pk=row.pk).update(problem=refused.message[:300])
                break
            row.made, room, made = row.made + 1, room - 1, made + 1
        if room <= 0:
            return made
    _finish_if_done(batch)
    return made


def _make(batch: Batch, row: BatchRow) -> Job:
    request = Request(operation="mj-v7", provider=row.provider, prompt=row.prompt, speed=row.speed)
    # By name: a project archived since the preview is refused by create(), in words on the row.
    team = batch.membership.team
    project = (
        Project.objects.of_team(team.pk).filter(name=row.project).first() if row.project else None
    )
    # Derived from the row and the job's number in it: a second feeder that
    # read the same count finds this job instead of making another.
    draft = pipeline.Draft(
        request=request,
        prompt_raw=row.prompt,
        client_request_id=f"batch-{batch.pk}-{row.pk}-{row.made + 1}",
        project=project,
    )

    def record(job: Job) -> None:
        if not batch.commit(job.credits_reserved):
            raise _CapReached
        BatchRow.objects.filter(pk=row.pk).update(made=F("made") + 1)
        BatchJob.objects.create(row=row, job=job)
        if batch.collection_id:
            CollectionItem.objects.create(
                collection_id=batch.collection_id, job=job, added_by_id=batch.membership.user_id
            )

    return pipeline.create(batch.membership, draft, record=record)


def _finish_if_done(batch: Batch) -> None:
    left = batch.rows.filter(made__lt=F("repeat"), problem="").exists()
    if not left and not jobs_of(batch).in_flight().exists():
        batch.stop(Batch.Status.FINISHED)


def feed_running() -> int:
    """The poller's: feed every running batch (a job's end frees a slot)."""
    return sum(
        feed(pk)
        for pk in Batch.objects.filter(status=Batch.Status.RUNNING).values_list("pk", flat=True)[
            :100
        ]
    )


def pause(batch: Batch) -> bool:
    """No new jobs; those made run on (they are paid for)."""
    return batch.pause("Paused: no new jobs start until it is resumed.")


def resume(batch: Batch) -> bool:
    if not batch.resume():
        return False
    feed(batch.pk)
    return True


def cancel(batch: Batch) -> int:
    """No new jobs, and those still waiting in line are cancelled and refunded
    through the ledger (those already sent finish: the provider has them).
    How many were refunded."""
    if not batch.stop(Batch.Status.CANCELLED, "Cancelled: the rest was not run."):
        return 0
    return sum(pipeline.cancel(job) for job in jobs_of(batch).in_flight().order_by("pk"))

"""The providers' bill set beside our ledger, task by task, for one month.

For each provider the statement (gallery.providers.statements) lists what it
billed and refunded; our jobs say what each member was charged. Every task on
which the two disagree is a `Difference`, explained by a known cause or not:

- billed by the provider, refunded by us, and the job failed because the
  create answer was lost (`ambiguous`: no task id came back; the statement's
  task is matched to the job by provider, operation and time) or because it
  ended after our deadline (`deadline`): we refunded a task the provider
  finished or kept. Both are the price of never paying twice.
- anything else (a task we charged that the provider refunded, a billed task
  no job accounts for, a charged job missing from the statement, a refund
  for a reason that should have cost the provider nothing, a task billed at
  another price than the provider reported for it) is unexplained.

Months are UTC calendar months, as the statement's. Jobs still in flight are
not compared (nor counted): their money has not moved yet on our side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Q

from gallery.catalog.pricing import CREDITS_PER_USD, usd_of
from gallery.providers import Kind, statements
from gallery.providers.statements import Line, Statement
from gallery.studio.models.jobs import Job

# How long after a job's end its lost create may still have been made upstream:
# the create request's own timeout is far shorter.
CREATE_SLACK = timedelta(minutes=5)

LOST_ANSWER = "the create answer was lost: we refunded the job, the provider billed the task"
LATE = "the task finished after our deadline: we refunded the job, the provider billed it"


@dataclass(frozen=True)
class Difference:
    task_id: str  # the provider's, or "" when it never reached us
    job_id: int | None
    what: str  # which side billed what
    provider_net: Decimal  # in the provider's unit
    charged: int  # our credits
    cause: str = ""  # a known cause, or "" = unexplained

    @property
    def explained(self) -> bool:
        return bool(self.cause)


@dataclass
class Report:
    provider: str
    month: str
    statement: bool  # False: no statement to compare with
    unit: str = ""
    tasks: int = 0  # on the statement
    jobs: int = 0  # ours that reached (or may have reached) the provider
    charged: int = 0  # our credits charged to members
    provider_billed: Decimal = Decimal(0)
    provider_refunded: Decimal = Decimal(0)
    reported: Decimal | None = None  # sum of per-task costs reported, no statement
    differences: list[Difference] = field(default_factory=list)

    @property
    def provider_net(self) -> Decimal:
        return self.provider_billed - self.provider_refunded

    @property
    def unexplained(self) -> list[Difference]:
        return [d for d in self.differences if not d.explained]

    @property
    def charged_usd(self) -> Decimal:
        return Decimal(self.charged) / CREDITS_PER_USD

    @property
    def provider_usd(self) -> Decimal | None:
        amount = self.provider_net if self.statement else self.reported
        return None if amount is None else usd_of(self.provider, amount, self.unit)

    @property
    def margin_usd(self) -> Decimal | None:
        cost = self.provider_usd
        return None if cost is None else self.charged_usd - cost


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a UTC month "YYYY-MM"; ValueError when it is not one."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def _sent_jobs(provider: str, month: str, task_ids: Iterable[str]) -> list[Job]:
    """Jobs of the month that reached, or may have reached, the provider: those
    with a task id, and those whose create answer was lost (no id, ambiguous)."""
    start, end = month_bounds(month)
    sent = ~Q(upstream_id="") | Q(error_kind=str(Kind.AMBIGUOUS))
    in_month = Q(created__gte=start, created__lt=end) & sent
    return list(
        Job.objects.filter(
            Q(provider=provider) & (in_month | Q(upstream_id__in=list(task_ids)))
        ).order_by("created", "pk")
    )


def reconcile(provider: str, month: str, statement: Statement | None) -> Report:
    if statement is None:
        return _without_statement(provider, month)
    jobs = _sent_jobs(provider, month, [line.task_id for line in statement.lines])
    report = Report(provider, month, True, unit=statement.unit, tasks=len(statement.lines))
    settled = [job for job in jobs if job.status not in Job.IN_FLIGHT]
    report.jobs = len(settled)
    report.charged = sum(job.credits_charged or 0 for job in settled)
    report.provider_billed = sum((line.charged for line in statement.lines), Decimal(0))
    report.provider_refunded = sum((line.refunded for line in statement.lines), Decimal(0))
    by_task = {job.upstream_id: job for job in jobs if job.upstream_id}
    lost = [job for job in settled if not job.upstream_id]
    for line in statement.lines:
        job = by_task.pop(line.task_id, None)
        found = _compare(line, job, statement.unit) if job else _unknown_task(line, lost)
        report.differences += [found] if found else []
    for job in by_task.values():  # ours, not on the statement
        if job.credits_charged:
            report.differences.append(
                Difference(
                    job.upstream_id,
                    job.pk,
                    "we charged a task the provider's statement does not list",
                    Decimal(0),
                    job.credits_charged,
                )
            )
    return report


def _compare(line: Line, job: Job, unit: str) -> Difference | None:
    if job.status in Job.IN_FLIGHT:
        return None  # our side has not settled yet: compared once it has
    charged = job.credits_charged or 0
    reported = job.provider_cost if job.provider_cost_unit == unit else None
    if charged and line.net > 0 and reported is not None and line.net != reported:
        what = f"billed {line.net.normalize()}, though it reported {reported.normalize()}"
        return Difference(line.task_id, job.pk, what, line.net, charged)
    if line.net > 0 and not charged:
        # A task still running upstream past our deadline is billed already.
        cause = LATE if job.error_code == "deadline" else ""
        why = f"billed, we refunded (job failed: {job.error_kind} {job.error_code})".strip()
        return Difference(line.task_id, job.pk, why, line.net, 0, cause)
    if line.net <= 0 and charged:
        what = "we charged, the provider refunded"
        return Difference(line.task_id, job.pk, what, line.net, charged)
    return None


def _unknown_task(line: Line, lost: list[Job]) -> Difference | None:
    """A statement task no job names: the one whose create answer was lost, if
    a job of that operation failed so around the time the task was made."""
    for job in lost:
        ended = job.finished_at or job.created
        same_op = not line.operation or line.operation == job.operation
        if same_op and job.created <= line.created_at <= ended + CREATE_SLACK:
            lost.remove(job)
            if line.net <= 0:
                return None  # made and refunded upstream too: no money moved
            return Difference(line.task_id, job.pk, "billed, we refunded", line.net, 0, LOST_ANSWER)
    if line.net <= 0:
        return None
    return Difference(line.task_id, None, "billed a task no job of ours names", line.net, 0)


def _without_statement(provider: str, month: str) -> Report:
    """No statement: what members were charged beside the costs the provider
    reported per task. Its refunds and lost creates cannot be seen this way."""
    jobs = [job for job in _sent_jobs(provider, month, ()) if job.credits_charged]  # settled
    report = Report(provider, month, False, jobs=len(jobs))
    report.charged = sum(job.credits_charged or 0 for job in jobs)
    costs = [job for job in jobs if job.provider_cost is not None]
    if costs and len(costs) == len(jobs) and len({job.provider_cost_unit for job in costs}) == 1:
        report.unit = costs[0].provider_cost_unit
        report.reported = sum((job.provider_cost or Decimal(0) for job in costs), Decimal(0))
    return report


def report_for(provider: str, month: str) -> Report:
    """Fetch the provider's statement (if one is configured) and reconcile.
    Raises ProviderError when a configured statement cannot be read."""
    return reconcile(provider, month, statements.fetch(provider, month))


def shift_month(month: str, by: int) -> str:
    """The month `by` months from "YYYY-MM"."""
    start, _ = month_bounds(month)
    index = start.year * 12 + start.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"

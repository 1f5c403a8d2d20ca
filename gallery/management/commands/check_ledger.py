"""python manage.py check_ledger — exits non-zero naming every broken row."""

from __future__ import annotations

from collections import defaultdict

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, Sum

from gallery.credits.models.credits import SPENDING_KINDS
from gallery.models import CreditAccount, Job, LedgerEntry

Kind = LedgerEntry.Kind


def ledger_problems() -> list[str]:
    problems: list[str] = []
    sums = dict(
        LedgerEntry.objects.values("account").annotate(s=Sum("amount")).values_list("account", "s")
    )
    for account in CreditAccount.objects.select_related("membership__user", "membership__team"):
        total = sums.get(account.pk, 0)
        if account.balance != total:
            problems.append(
                f"account {account.pk} ({account}): "
                f"balance {account.balance} != sum of entries {total}"
            )
        if account.balance < 0:
            problems.append(f"account {account.pk}: negative balance {account.balance}")

    running: dict[int, int] = defaultdict(int)
    for pk, account_id, amount, after in LedgerEntry.objects.order_by("pk").values_list(
        "pk", "account", "amount", "balance_after"
    ):
        running[account_id] += amount
        if running[account_id] != after:
            problems.append(
                f"entry {pk}: balance_after {after} != running balance {running[account_id]}"
            )
        if running[account_id] < 0:
            problems.append(f"entry {pk}: running balance went negative ({running[account_id]})")

    jobs = Job.objects.annotate(
        reserves=Count("entries", filter=Q(entries__kind=Kind.RESERVE)),
        settlements=Count("entries", filter=Q(entries__kind__in=[Kind.SETTLE, Kind.REFUND])),
        refunds=Count("entries", filter=Q(entries__kind=Kind.REFUND)),
        moved=Sum("entries__amount", filter=Q(entries__kind__in=SPENDING_KINDS)),
    )
    for job in jobs.iterator():
        if job.reserves != 1:
            problems.append(f"job {job.pk}: {job.reserves} reserve entries (expected 1)")
        if job.settlements > 1:
            problems.append(f"job {job.pk}: {job.settlements} settle/refund entries")
        if job.is_final and job.settlements == 0:
            problems.append(f"job {job.pk} is {job.status} but has no settle or refund")
        if not job.is_final and job.settlements:
            problems.append(f"job {job.pk} is {job.status} but was already settled or refunded")
        if job.refunds and (job.moved or 0) != 0:
            problems.append(f"job {job.pk}: refunded but nets {job.moved} credits")
        if job.is_final and job.settlements and job.credits_charged != -(job.moved or 0):
            nets = -(job.moved or 0)
            problems.append(
                f"job {job.pk}: charged {job.credits_charged} but the ledger nets {nets}"
            )
    return problems


class Command(BaseCommand):
    help = "Check every credit ledger invariant; exit non-zero naming the broken rows."

    def handle(self, *args, **opts) -> None:
        problems = ledger_problems()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} ledger problem(s)")
        accounts = CreditAccount.objects.count()
        entries = LedgerEntry.objects.count()
        self.stdout.write(f"ledger ok: {accounts} accounts, {entries} entries")

"""python manage.py reconcile [--provider P] [--month YYYY-MM]

Sets each provider's statement beside what members were charged and lists
every difference with its cause; exits non-zero on any it cannot explain (or
a statement it cannot read). See gallery/studio/reconcile.py.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from gallery.providers import ProviderError
from gallery.studio import reconcile
from gallery.studio.reconcile import Report
from gallery.templatetags.usd import usd


class Command(BaseCommand):
    help = "Reconcile the providers' statements with the ledger; non-zero on unexplained ones."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--provider", choices=settings.PROVIDER_NAMES, help="one provider")
        parser.add_argument("--month", help="YYYY-MM, UTC (default: this month)")

    def handle(self, *args, **opts) -> None:
        month = opts["month"] or timezone.now().astimezone(reconcile.UTC).strftime("%Y-%m")
        try:
            reconcile.month_bounds(month)
        except ValueError:
            raise CommandError(f"--month must be YYYY-MM, not {month!r}") from None
        providers = [opts["provider"]] if opts["provider"] else list(settings.PROVIDER_NAMES)
        unexplained = unreadable = 0
        for provider in providers:
            try:
                report = reconcile.report_for(provider, month)
            except ProviderError as exc:
                self.stderr.write(f"{provider} {month}: statement unreadable: {exc}")
                unreadable += 1
                continue
            self._write(report)
            unexplained += len(report.unexplained)
        if unexplained or unreadable:
            raise CommandError(
                f"{unexplained} unexplained difference(s), {unreadable} unreadable statement(s)"
            )

    def _write(self, report: Report) -> None:
        out = self.stdout.write
        out(f"{report.provider} {report.month}")
        margin = report.margin_usd
        money = f"members charged {report.charged} credits ({usd(report.charged_usd)})"
        if not report.statement:
            reported = "unknown" if report.reported is None else f"{report.reported} {report.unit}"
            out(f"  no statement available: {report.jobs} charged jobs; {money}")
            out(f"  provider-reported cost of those tasks: {reported}")
            out("  not visible without one: provider refunds, creates whose answer was lost")
        else:
            out(
                f"  statement: {report.tasks} tasks, billed {report.provider_billed}, refunded "
                f"{report.provider_refunded}, net {report.provider_net} {report.unit}"
            )
            out(f"  ours: {report.jobs} jobs; {money}")
        if margin is not None:
            out(f"  margin: {usd(margin)}")
        for diff in report.differences:
            label = "explained" if diff.explained else "UNEXPLAINED"
            job = f"job {diff.job_id}" if diff.job_id else "no job"
            cause = f": {diff.cause}" if diff.cause else ""
            out(
                f"  {label} task {diff.task_id or '-'} ({job}) {diff.what}; provider net "
                f"{diff.provider_net} {report.unit}, we charged {diff.charged}{cause}"
            )
        if report.statement and not report.differences:
            out("  no differences")

"""Budget alerts: when a reservation takes a budget past one of its
thresholds (80 % and 100 % unless set otherwise), the team's admins and the
member are told, in the app (a Notice), by email (Django's email settings;
the console backend in development) and, if the budget has one, by a POST to
its webhook URL through the SSRF guard.

Each threshold alerts once per period: `BudgetAlert` has one row per
(budget, period start, threshold), and only the task whose insert succeeds
sends anything. Run after the job's reservation commits (`pipeline.create`
enqueues `gallery.tasks.budget_alerts`), so a rolled-back job alerts nobody.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction

from gallery.credits.models.budgets import Budget, BudgetAlert, Notice
from gallery.credits.models.credits import LedgerEntry
from gallery.net import netguard
from gallery.teams.models.teams import Membership, Role

log = logging.getLogger(__name__)
WEBHOOK_TIMEOUT = 10.0


def check_job(job_id: int) -> list[BudgetAlert]:
    """Alert on every threshold the job's budgets have now crossed, once each."""
    reserve = (
        LedgerEntry.objects.filter(job_id=job_id, kind=LedgerEntry.Kind.RESERVE)
        .values_list("job__team_id", "job__project_id", "account__membership_id", "job__created")
        .first()
    )
    if reserve is None:
        return []
    team_id, project_id, membership_id, when = reserve
    member = Membership.objects.select_related("user", "team").get(pk=membership_id)
    sent = []
    covering = Budget.objects.covering(team_id, project_id, membership_id)
    for budget in covering.select_related("team", "project", "membership__user"):
        sent += _check_budget(budget, member, when)
    return sent


def _check_budget(budget: Budget, member: Membership, when: datetime) -> list[BudgetAlert]:
    limit, used = budget.limit_at(when), budget.used(when)
    if used <= 0:
        return []  # nothing spent is no alert, even against a budget of 0
    start, _ = budget.bounds(when)
    crossed = [t for t in budget.thresholds if used * 100 >= t * limit]
    sent = []
    for threshold in sorted(crossed):
        try:
            with transaction.atomic():
                alert = BudgetAlert.objects.create(
                    budget=budget, period_start=start, threshold=threshold, used=used, limit=limit
                )
        except IntegrityError:
            continue  # this threshold already alerted in this period
        _send(alert, member)
        sent.append(alert)
    return sent


def message(alert: BudgetAlert) -> str:
    budget = alert.budget
    return (
        f"{budget.name.capitalize()} has reached {alert.threshold} %: {alert.used} of "
        f"{alert.limit} credits used {budget.period_word}."
    )


def _send(alert: BudgetAlert, member: Membership) -> None:
    text = message(alert)
    admins = Membership.objects.current().filter(team_id=member.team_id, role=Role.ADMIN)
    recipients = {m.pk: m for m in admins.select_related("user")}
    recipients[member.pk] = member
    Notice.objects.bulk_create(Notice(membership=m, text=text) for m in recipients.values())
    emails = sorted({m.user.email for m in recipients.values() if m.user.email})
    if emails:
        subject = f"[{member.team.name}] Budget alert: {alert.threshold} %"
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, emails, fail_silently=True)
    if alert.budget.webhook_url:
        result = _post_webhook(alert, text)
        BudgetAlert.objects.filter(pk=alert.pk).update(webhook_result=result[:200])


def _post_webhook(alert: BudgetAlert, text: str) -> str:
    """POST the alert to the budget's URL under the SSRF guard; what happened."""
    url = alert.budget.webhook_url
    payload = {
        "type": "budget.alert",
        "team": alert.budget.team.slug,
        "budget": alert.budget.name,
        "period_start": alert.period_start.isoformat(),
        "threshold": alert.threshold,
        "used": alert.used,
        "limit": alert.limit,
        "message": text,
    }
    try:
        status = netguard.safe_post_json(
            url, payload, timeout=WEBHOOK_TIMEOUT, allow=netguard.callback_allowance(url)
        )
    except netguard.UnsafeURL as exc:
        return f"refused: the URL {exc.reason}"
    except netguard.FetchError as exc:
        return f"failed: the URL {exc.reason}"
    return f"HTTP {status}"

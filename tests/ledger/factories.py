from __future__ import annotations

from gallery import ledger
from gallery.models import CreditAccount, Job, Membership


def account_of(user, team) -> CreditAccount:
    return ledger.account_for(Membership.objects.get(user=user, team=team))


def make_job(user, team, cost: int, **fields) -> Job:
    return Job.objects.create(
        team=team, user=user, provider="evolink", operation="mj-v7", credits_reserved=cost, **fields
    )

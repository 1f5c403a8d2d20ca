"""create_batch: a prompt with permutations or --repeat becomes its jobs, reserved
as a whole or refused as a whole (issue 16, permutations and repeats)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import OrmQ

from gallery.catalog import operations
from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from gallery.studio import pipeline

pytestmark = pytest.mark.django_db

FAST = 79  # evolink mj-v7 fast, the default price table


def draft(prompt: str, key: str = "req-1") -> pipeline.Draft:
    request = operations.Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
    return pipeline.Draft(request=request, prompt_raw=prompt, client_request_id=key)


def member(user, team, *, credits: int, cap: int = 40) -> Membership:
    membership = Membership.objects.get(user=user, team=team)
    account = ledger.account_for(membership)
    if credits:
        ledger.grant(account=account, amount=credits, by=user, reason="test")
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=cap)
    return membership


def balance(membership: Membership) -> int:
    return ledger.account_for(membership).balance


def queued_jobs() -> list[int]:
    return sorted(task.task["args"][0] for task in OrmQ.objects.all())


def ledger_is_consistent() -> None:
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


def test_a_two_by_two_permutation_makes_four_jobs_each_reserved_once(alice, team):
    membership = member(alice, team, credits=1000)
    jobs = pipeline.create_batch(membership, draft("a {red, blue} bird --ar {1:1, 16:9}"))
    assert [j.prompt for j in jobs] == [
        "a red bird --ar 1:1",
        "a red bird --ar 16:9",
        "a blue bird --ar 1:1",
        "a blue bird --ar 16:9",
    ]
    assert [j.client_request_id for j in jobs] == ["req-1#1", "req-1#2", "req-1#3", "req-1#4"]
    reserves = LedgerEntry.objects.filter(kind="reserve").order_by("job_id")
    assert [(e.job_id, e.amount) for e in reserves] == [(j.pk, -FAST) for j in jobs]
    assert balance(membership) == 1000 - 4 * FAST
    assert queued_jobs() == sorted(j.pk for j in jobs)
    ledger_is_consistent()


def test_the_batch_costs_the_sum_of_each_jobs_own_price(alice, team):
    membership = member(alice, team, credits=1000)
    jobs = pipeline.create_batch(membership, draft("a cat --q {1, 2}"))
    assert [j.credits_reserved for j in jobs] == [FAST, 2 * FAST]
    assert balance(membership) == 1000 - 3 * FAST


def test_repeat_makes_the_same_prompt_that_many_times(alice, team):
    membership = member(alice, team, credits=1000)
    jobs = pipeline.create_batch(membership, draft("a cat --r 3 --ar 1:1"))
    assert [j.prompt for j in jobs] == ["a cat --ar 1:1"] * 3
    assert [j.prompt_raw for j in jobs] == ["a cat --ar 1:1"] * 3


def test_credits_for_three_of_four_jobs_make_none_and_name_the_shortfall(bob, team):
    membership = member(bob, team, credits=3 * FAST)
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create_batch(membership, draft("a {red, blue} bird --ar {1:1, 16:9}"))
    assert refused.value.status == 402
    assert refused.value.message.startswith(
        f"These 4 jobs cost {4 * FAST} credits and you have {3 * FAST} ({FAST} short); "
        "none was made"
    )
    assert not Job.objects.exists()
    assert not LedgerEntry.objects.filter(kind="reserve").exists()
    assert balance(membership) == 3 * FAST
    assert queued_jobs() == []
    ledger_is_consistent()


def test_a_monthly_limit_reached_midway_makes_none_and_says_which_limit(alice, team):
    membership = member(alice, team, credits=1000)
    account = ledger.account_for(membership)
    CreditAccount.objects.filter(pk=account.pk).update(monthly_limit=3 * FAST)
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create_batch(membership, draft("a {red, blue} bird --ar {1:1, 16:9}"))
    assert refused.value.status == 402
    assert refused.value.message == (
        f"None of the 4 jobs was made ({4 * FAST} credits in all): This costs {FAST} credits, "
        f"but your monthly limit of {3 * FAST} credits has 0 left this month."
    )
    assert not Job.objects.exists() and balance(membership) == 1000
    ledger_is_consistent()


def test_a_replayed_batch_makes_nothing_twice(alice, team):
    membership = member(alice, team, credits=1000)
    first = pipeline.create_batch(membership, draft("a {red, blue} bird"))
    again = pipeline.create_batch(membership, draft("a {red, blue} bird"))
    assert [j.pk for j in again] == [j.pk for j in first]
    assert Job.objects.count() == 2
    assert LedgerEntry.objects.filter(kind="reserve").count() == 2
    assert balance(membership) == 1000 - 2 * FAST


def test_a_replay_still_finds_its_jobs_when_the_balance_has_run_out(bob, team):
    membership = member(bob, team, credits=2 * FAST)
    first = pipeline.create_batch(membership, draft("a {red, blue} bird"))
    assert balance(membership) == 0
    again = pipeline.create_batch(membership, draft("a {red, blue} bird"))
    assert [j.pk for j in again] == [j.pk for j in first]


def test_past_the_in_flight_cap_the_batch_is_made_and_the_rest_waits_in_line(alice, team):
    membership = member(alice, team, credits=1000, cap=3)
    jobs = pipeline.create_batch(membership, draft("a {red, blue} bird --ar {1:1, 16:9}"))
    assert len(jobs) == 4
    assert balance(membership) == 1000 - sum(j.credits_reserved for j in jobs)
    assert len(queued_jobs()) == 3  # sent now; the fourth waits for a slot
    waiting = Job.objects.get(pk=jobs[3].pk)
    assert waiting.status == Job.Status.QUEUED and waiting.next_poll_at is None
    ledger_is_consistent()


def test_a_lint_error_in_one_combination_refuses_the_batch_naming_it(alice, team):
    membership = member(alice, team, credits=1000)
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create_batch(membership, draft("a cat --s {100, 5000}"))
    assert refused.value.status == 400
    assert refused.value.message == (
        'Job 2 of 2 ("a cat --s 5000"): --s must be between 0 and 1000 (got 5000)'
    )
    assert refused.value.issues[0].param == "--s"
    assert not Job.objects.exists()


def test_past_the_cap_nothing_is_made_and_the_cap_is_named(alice, team, settings):
    settings.MJWEB_BATCH_CAP = 3
    membership = member(alice, team, credits=1000)
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create_batch(membership, draft("a {red, blue} bird --ar {1:1, 16:9}"))
    assert refused.value.status == 400
    assert refused.value.message.startswith("4 jobs: at most 3 jobs")
    assert not Job.objects.exists()


def test_malformed_braces_make_nothing(alice, team):
    membership = member(alice, team, credits=1000)
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create_batch(membership, draft("a {red, blue bird"))
    assert "is never closed" in refused.value.message
    assert not Job.objects.exists()


def test_a_prompt_without_batch_syntax_is_one_job_as_before(alice, team):
    membership = member(alice, team, credits=1000)
    [job] = pipeline.create_batch(membership, draft("a lighthouse, at dusk --ar 16:9"))
    assert (job.prompt_raw, job.client_request_id) == ("a lighthouse, at dusk --ar 16:9", "req-1")
    assert balance(membership) == 1000 - FAST


def test_a_viewer_cannot_make_a_batch(dave, team):
    membership = Membership.objects.get(user=dave, team=team)
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create_batch(membership, draft("a {red, blue} bird"))
    assert refused.value.status == 403
    assert not Job.objects.exists()

"""Issue 18: the change feed itself. Each team numbers its events 1, 2, 3, …
with no gap and no repeat, also when many writers race; an event exists only
if its change committed; old events are pruned but a team's newest stays; and
the Python twin of "who may see this job" agrees with the queryset."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from gallery.catalog import operations
from gallery.credits import ledger
from gallery.management.commands import poller
from gallery.models import Job, LiveEvent, LiveSeq, Membership
from gallery.studio import pipeline
from gallery.studio.live import events
from gallery.studio.live.events import emit
from tests.conftest import add, make_user
from tests.factories import fund, make_job, membership
from tests.ledger.test_ledger_concurrency import in_thread


def seqs(team) -> list[int]:
    return list(LiveEvent.objects.filter(team=team).order_by("seq").values_list("seq", flat=True))


@pytest.mark.django_db
def test_each_team_numbers_its_events_from_one_without_gaps(team, other_team):
    with transaction.atomic():
        for _ in range(3):
            emit(team.pk, "log")
        emit(other_team.pk, "log")
    assert seqs(team) == [1, 2, 3]
    assert seqs(other_team) == [1]
    assert LiveSeq.objects.get(team=team).last == 3


@pytest.mark.django_db(transaction=True)  # else the test itself runs in a transaction
def test_emit_outside_a_transaction_is_refused(team):
    with pytest.raises(RuntimeError, match="inside the transaction"):
        emit(team.pk, "log")
    with pytest.raises(ValueError, match="unknown"), transaction.atomic():
        emit(team.pk, "exploded")
    assert seqs(team) == []


@pytest.mark.django_db
def test_a_rolled_back_event_gives_its_number_back(team):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        emit(team.pk, "log")
        1 / 0  # noqa: B018
    assert seqs(team) == []
    with transaction.atomic():
        assert emit(team.pk, "log").seq == 1


# --- concurrency: real threads, each its own connection ----------------------------------

THREADS, EACH = 8, 10


@pytest.mark.db_sensitive
@pytest.mark.django_db(transaction=True)
def test_racing_writers_get_every_number_once(team):
    @in_thread
    def write(n: int) -> None:
        for _ in range(EACH):
            with transaction.atomic():
                emit(team.pk, "log", payload={"writer": n})

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(write, range(THREADS)))
    assert seqs(team) == list(range(1, THREADS * EACH + 1))


@pytest.mark.db_sensitive
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_grants_and_ends_in_one_team_do_not_deadlock(team):
    """Creates lock the team, then the account, then the feed; a job's end locks
    the account before it announces its status; a grant holds the account while
    it announces the balance. Mixed at once on PostgreSQL, any wrong order would
    abort one of them as a deadlock."""
    users = [make_user(f"member{n}") for n in range(4)]
    for user in users:
        add(team, user, "member")
        fund(user, team, 100_000)
    request = operations.Request(
        operation="mj-v7", provider="evolink", prompt="a bird", speed="fast"
    )

    @in_thread
    def act(n: int) -> str:
        user = users[n % len(users)]
        member = Membership.objects.get(user=user, team=team)
        if n % 3 == 0:
            ledger.grant(account=ledger.account_for(member), amount=1, by=user)
            return "grant"
        job = pipeline.create(member, pipeline.Draft(request=request, prompt_raw="a bird"))
        if n % 3 == 1:
            pipeline.cancel(job)
            return "cancel"
        return "create"

    with ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(act, range(48)))
    assert done.count("create") == 16
    assert Job.objects.filter(status="cancelled").count() == 16
    assert seqs(team) == list(range(1, len(seqs(team)) + 1))


@pytest.mark.db_sensitive
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_creates_in_one_team_do_not_deadlock(team):
    alice, bob = make_user("alice"), make_user("bob")
    for user in (alice, bob):
        add(team, user, "member")
        fund(user, team, 10_000)
    request = operations.Request(
        operation="mj-v7", provider="evolink", prompt="a bird", speed="fast"
    )

    @in_thread
    def create(user) -> int:
        member = Membership.objects.get(user=user, team=team)
        return pipeline.create(member, pipeline.Draft(request=request)).pk

    with ThreadPoolExecutor(max_workers=2) as pool:
        made = list(pool.map(create, [alice, bob] * 5))
    assert len(set(made)) == 10
    created = LiveEvent.objects.filter(team=team, kind="created")
    assert sorted(created.values_list("job_id", flat=True)) == sorted(made)
    assert seqs(team) == list(range(1, len(seqs(team)) + 1))


# --- retention ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pruning_deletes_old_events_in_batches_and_keeps_each_teams_newest(
    team, other_team, settings
):
    settings.MJWEB_LIVE_RETENTION_HOURS = 48
    now = timezone.now()
    with transaction.atomic():
        for _ in range(5):
            emit(team.pk, "log")
        emit(other_team.pk, "log")
    # Dated by hand: the first three of acme's and other's only one are old.
    LiveEvent.objects.filter(team=team, seq__lte=3).update(created=now - timedelta(hours=49))
    LiveEvent.objects.filter(team=other_team).update(created=now - timedelta(hours=49))
    LiveEvent.objects.filter(team=team, seq__gt=3).update(created=now - timedelta(hours=47))
    assert events.prune(now, batch=2) == 3
    assert seqs(team) == [4, 5]
    assert seqs(other_team) == [1]  # its newest, however old
    LiveEvent.objects.filter(team=team).update(created=now - timedelta(hours=49))
    assert events.prune(now) == 1
    assert seqs(team) == [5]
    with transaction.atomic():  # the counter goes on from the kept newest
        assert emit(team.pk, "log").seq == 6


@pytest.mark.django_db
def test_retention_reads_its_setting(team, settings):
    now = timezone.now()
    with transaction.atomic():
        emit(team.pk, "log")
        emit(team.pk, "log")
    LiveEvent.objects.update(created=now - timedelta(hours=5))
    settings.MJWEB_LIVE_RETENTION_HOURS = 6
    assert events.prune(now) == 0
    settings.MJWEB_LIVE_RETENTION_HOURS = 4
    assert events.prune(now) == 1


# --- who may see a job: the Python twin of visible_in ---------------------------------------


@pytest.mark.django_db
def test_visible_to_member_says_what_visible_in_says(alice, bob, carol, team, other_team):
    jobs = []
    for owner, where, private, deleted in itertools.product(
        (alice, bob), (team,), (False, True), (False, True)
    ):
        jobs.append(
            make_job(
                owner,
                where,
                private=private,
                deleted_at=timezone.now() if deleted else None,
            )
        )
    jobs += [make_job(carol, other_team), make_job(carol, other_team, private=True)]
    members = [membership(alice, team), membership(bob, team), membership(carol, other_team)]
    for member in members:
        shown = set(Job.objects.visible_in(member).values_list("pk", flat=True))
        assert shown, "every member sees something, or this proves little"
        for job in Job.objects.all():
            assert job.visible_to_member(member.team_id, member.user_id) == (job.pk in shown), (
                member,
                job.pk,
            )
    # Both sides of each rule occur among the rows.
    assert {(j.private, j.deleted_at is None) for j in jobs} == {
        (False, True),
        (False, False),
        (True, True),
        (True, False),
    }


@pytest.mark.django_db
def test_the_pollers_housekeeping_prunes_the_feed(team):
    with transaction.atomic():
        emit(team.pk, "log")
        emit(team.pk, "log")
    LiveEvent.objects.update(created=timezone.now() - timedelta(hours=49))
    # The hourly step itself (a whole poller run closes the test's database).
    poller.Command._expire_references()
    assert seqs(team) == [2]

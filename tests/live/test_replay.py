"""What a page's stream or poll sends after its cursor (gallery/studio/live/render.py):
the fragments of the changes its member may see, and nothing else."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from gallery.studio.live import events
from gallery.studio.live.render import MAX_BEHIND, Page, replay
from gallery.studio.models.jobs import Job
from gallery.studio.models.live import LiveEvent, LiveSeq
from tests.factories import finished_job, fund, in_flight_job, membership

pytestmark = pytest.mark.django_db
Kind = LiveEvent.Kind
GALLERY = Page("gallery")


def emit(team, kind, **fields) -> LiveEvent:
    with transaction.atomic():
        return events.emit(team.pk, kind, **fields)


def sent(user, team, after=0, page=GALLERY, filters=None, **options) -> str:
    messages, _ = replay(membership(user, team), page, filters or {}, after, **options)
    return "\n".join(m.data for m in messages)


def test_a_teammates_new_job_is_prepended_with_the_new_cursor(alice, bob, team):
    job = in_flight_job(alice, team, prompt="a lighthouse at dusk")
    event = emit(team, Kind.CREATED, job_id=job.pk)
    messages, newest = replay(membership(bob, team), GALLERY, {}, 0)
    assert newest == event.seq
    [message] = messages
    assert (message.event, message.seq) == ("live", event.seq)
    assert '<div hx-swap-oob="afterbegin:#job-grid">' in message.data
    assert f'id="job-{job.pk}"' in message.data and "a lighthouse at dusk" in message.data
    assert f'<div id="live-cursor" data-seq="{event.seq}" hx-swap-oob="true"></div>' in message.data


def test_nothing_after_the_newest_seq_is_no_message(alice, bob, team):
    job = in_flight_job(alice, team)
    event = emit(team, Kind.CREATED, job_id=job.pk)
    assert replay(membership(bob, team), GALLERY, {}, event.seq) == ([], event.seq)


def test_a_private_job_reaches_its_author_and_nobody_else(alice, bob, dave, team):
    job = in_flight_job(alice, team, private=True, prompt="secret sketch")
    emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.PROGRESS, job_id=job.pk, payload={"p": 40})
    assert f"job-{job.pk}" in sent(alice, team)
    for other in (bob, dave):
        data = sent(other, team)
        assert f"job-{job.pk}" not in data and "secret sketch" not in data
        assert 'id="live-cursor"' in data  # the cursor still moves on


def test_another_teams_events_are_never_sent(alice, carol, team, other_team):
    job = in_flight_job(alice, team, prompt="acme only")
    emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.BALANCE, user_id=alice.pk)
    # carol's team has its own numbers: after 0 she gets her team's, none of acme's
    theirs = in_flight_job(carol, other_team)
    emit(other_team, Kind.CREATED, job_id=theirs.pk)
    data = sent(carol, other_team)
    assert f"job-{theirs.pk}" in data
    assert f"job-{job.pk}" not in data and "acme only" not in data


def test_a_balance_goes_only_to_its_member(alice, bob, team):
    fund(alice, team, 500)
    emit(team, Kind.BALANCE, user_id=alice.pk, payload={"balance": 500})
    assert '<span class="balance" id="balance" hx-swap-oob="true"><strong>500</strong>' in sent(
        alice, team
    )
    assert 'id="balance"' not in sent(bob, team)


def test_progress_alone_sends_the_bar_not_the_card(alice, bob, team):
    job = in_flight_job(alice, team, progress=40)
    created = emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.PROGRESS, job_id=job.pk, payload={"p": 40})
    data = sent(bob, team, after=created.seq)
    assert f'<progress id="progress-{job.pk}" max="100" value="40"' in data
    assert 'hx-swap-oob="true"' in data and "<article" not in data


def test_a_status_change_redraws_the_card_in_place(alice, bob, team):
    job = finished_job(alice, team, images=2)
    created = emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.STATUS, job_id=job.pk)
    data = sent(bob, team, after=created.seq)
    assert f'id="job-{job.pk}" hx-swap-oob="true"' in data
    assert "afterbegin" not in data  # already on the page: replaced, not added again
    assert data.count("<img") >= 2


def test_a_deleted_job_keeps_an_undo_for_who_may_restore_it_and_goes_for_others(alice, bob, team):
    job = finished_job(alice, team, images=1)
    created = emit(team, Kind.CREATED, job_id=job.pk)
    job.soft_delete()
    emit(team, Kind.DELETED, job_id=job.pk)
    for_alice = sent(alice, team, after=created.seq)
    assert f'id="job-{job.pk}" aria-label="Deleted job" hx-swap-oob="true"' in for_alice
    assert "restore" in for_alice
    for_bob = sent(bob, team, after=created.seq)
    assert f'<div id="job-{job.pk}" hx-swap-oob="delete"></div>' in for_bob
    assert "restore" not in for_bob


def test_a_job_made_private_leaves_the_others_pages(alice, bob, team):
    job = finished_job(alice, team, images=1)
    created = emit(team, Kind.CREATED, job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(private=True)
    emit(team, Kind.HIDDEN, job_id=job.pk)
    assert f'<div id="job-{job.pk}" hx-swap-oob="delete"></div>' in sent(bob, team, created.seq)
    assert f'id="job-{job.pk}" hx-swap-oob="true"' in sent(alice, team, created.seq)


def test_a_new_job_outside_the_pages_filters_is_not_prepended(alice, bob, team):
    job = in_flight_job(alice, team)
    emit(team, Kind.CREATED, job_id=job.pk)
    assert f"job-{job.pk}" not in sent(bob, team, filters={"who": "mine"})
    assert f"job-{job.pk}" in sent(alice, team, filters={"who": "mine"})


def test_a_page_of_older_jobs_gets_no_new_cards(alice, bob, team):
    job = in_flight_job(alice, team)
    emit(team, Kind.CREATED, job_id=job.pk)
    assert f"job-{job.pk}" not in sent(bob, team, newest_only=False)


def test_a_star_changes_only_the_starrers_card(alice, bob, team):
    job = finished_job(alice, team, images=1)
    created = emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.STARRED, job_id=job.pk, user_id=bob.pk)
    assert f'id="job-{job.pk}" hx-swap-oob="true"' in sent(bob, team, created.seq)
    assert f"job-{job.pk}" not in sent(alice, team, created.seq)


def test_a_card_carries_the_viewers_own_csrf_token(alice, bob, team):
    job = finished_job(alice, team, images=1)
    emit(team, Kind.CREATED, job_id=job.pk)
    data = sent(bob, team, csrf_token="bobs-own-token")
    assert 'name="csrfmiddlewaretoken" value="bobs-own-token"' in data
    assert data.count("csrfmiddlewaretoken") == data.count("bobs-own-token")


def test_a_cursor_before_the_oldest_kept_event_is_told_to_reset(alice, bob, team):
    job = in_flight_job(alice, team)
    first = emit(team, Kind.CREATED, job_id=job.pk)
    emit(team, Kind.PROGRESS, job_id=job.pk)
    LiveEvent.objects.filter(pk=first.pk).delete()  # pruned
    [message], newest = replay(membership(bob, team), GALLERY, {}, 0)
    assert (message.event, message.seq, newest) == ("reset", 2, 2)


def test_a_cursor_too_far_behind_or_from_the_future_is_told_to_reset(alice, bob, team):
    job = in_flight_job(alice, team)
    emit(team, Kind.CREATED, job_id=job.pk)
    LiveEvent.objects.bulk_create(
        LiveEvent(team=team, seq=seq, kind=Kind.PROGRESS, job_id=job.pk)
        for seq in range(2, MAX_BEHIND + 3)
    )
    LiveSeq.objects.filter(team=team).update(last=MAX_BEHIND + 2)
    [message], _ = replay(membership(bob, team), GALLERY, {}, 1)
    assert message.event == "reset"
    [message], _ = replay(membership(bob, team), GALLERY, {}, 2)  # exactly MAX_BEHIND behind
    assert message.event == "live"
    [message], _ = replay(membership(bob, team), GALLERY, {}, MAX_BEHIND + 9)
    assert message.event == "reset"


def test_a_batch_costs_the_same_queries_for_one_job_or_twenty(alice, bob, team):
    def cost(count: int) -> int:
        jobs = [finished_job(alice, team, images=2) for _ in range(count)]
        start = LiveSeq.objects.filter(team=team).values_list("last", flat=True).first() or 0
        for job in jobs:
            emit(team, Kind.CREATED, job_id=job.pk)
            emit(team, Kind.STATUS, job_id=job.pk)
        with CaptureQueriesContext(connection) as queries:
            replay(membership(bob, team), GALLERY, {}, start)
        return len(queries)

    assert cost(1) == cost(20)


def test_the_job_page_gets_its_live_part_and_loses_it_when_hidden(alice, bob, team):
    job = in_flight_job(alice, team, progress=30)
    page = Page("job", job.pk)
    created = emit(team, Kind.CREATED, job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(progress=60)
    emit(team, Kind.PROGRESS, job_id=job.pk)
    data = sent(bob, team, created.seq, page=page)
    assert 'id="job-live" hx-swap-oob="true"' in data and "60%" in data
    other = in_flight_job(alice, team)
    emit(team, Kind.PROGRESS, job_id=other.pk)  # another job: not this page's news
    assert "job-live" not in sent(bob, team, created.seq + 1, page=page)
    Job.objects.filter(pk=job.pk).update(private=True)
    emit(team, Kind.HIDDEN, job_id=job.pk)
    data = sent(bob, team, created.seq + 2, page=page)
    assert "no longer available to you" in data and 'hx-swap-oob="true"' in data


def test_the_image_page_gets_its_made_from_list_when_a_child_changes(alice, bob, team):
    source = finished_job(alice, team, images=1)
    image = source.images.get()
    page = Page("image", image.pk)
    child = in_flight_job(alice, team, parent=image, operation="mj-upscale", progress=20)
    emit(team, Kind.CREATED, job_id=child.pk)
    data = sent(bob, team, page=page)
    assert 'id="children" hx-swap-oob="true"' in data and "20%" in data
    unrelated = in_flight_job(alice, team)
    seq = emit(team, Kind.CREATED, job_id=unrelated.pk).seq
    assert "children" not in sent(bob, team, seq - 1, page=page)


@pytest.mark.parametrize(
    "raw", ["", "gallery:1", "job:", "job:x", "job:-1", "job:0", "image:\u0661"]
)
def test_a_page_parameter_outside_the_rule_is_refused(raw):
    with pytest.raises(ValueError, match="page must be"):
        Page.parse(raw)


def test_page_parameters_name_the_page():
    assert Page.parse("gallery") == Page("gallery")
    assert Page.parse("job:12") == Page("job", 12)
    assert Page.parse("image:7") == Page("image", 7)

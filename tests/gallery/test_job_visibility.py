"""Who may see a job: `Job.objects.visible_in` is the one rule (a team's
jobs, less other members' private ones), and the job page and the organise
views ask it, the trash included."""

from __future__ import annotations

import pytest
from django.utils import timezone

from gallery.models import Job, Membership
from tests.factories import finished_job

pytestmark = pytest.mark.django_db


def _member(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def _jobs(alice, bob, team) -> dict[str, Job]:
    made = {
        "shared": finished_job(bob, team, images=0),
        "private": finished_job(bob, team, images=0),
        "deleted": finished_job(bob, team, images=0),
        "deleted_private": finished_job(bob, team, images=0),
        "alices_deleted_private": finished_job(alice, team, images=0),
    }
    for name, job in made.items():
        job.private = "private" in name
        job.deleted_at = timezone.now() if "deleted" in name else None
        job.save(update_fields=["private", "deleted_at"])
    return made


def test_the_trash_side_of_the_rule_hides_other_members_private_jobs(alice, bob, team):
    made = _jobs(alice, bob, team)
    seen = set(Job.objects.visible_in(_member(alice, team), deleted=True))
    assert seen == {made["deleted"], made["alices_deleted_private"]}


def test_both_sides_together_are_the_live_and_the_deleted_jobs_one_may_see(alice, bob, team):
    made = _jobs(alice, bob, team)
    seen = set(Job.objects.visible_in(_member(alice, team), deleted=None))
    assert seen == {made["shared"], made["deleted"], made["alices_deleted_private"]}
    assert set(Job.objects.visible_in(_member(alice, team))) == {made["shared"]}


def test_the_job_page_and_restore_follow_the_rule_for_a_private_deleted_job(
    alice_client, alice, bob, team
):
    made = _jobs(alice, bob, team)
    hidden = made["deleted_private"]
    assert alice_client.get(f"/t/{team.slug}/jobs/{hidden.pk}/").status_code == 404
    assert alice_client.post(f"/t/{team.slug}/jobs/{hidden.pk}/restore/").status_code == 404
    shown = made["deleted"]  # an admin may open and restore another member's shared job
    assert alice_client.get(f"/t/{team.slug}/jobs/{shown.pk}/").status_code == 200
    assert alice_client.post(f"/t/{team.slug}/jobs/{shown.pk}/restore/").status_code == 302

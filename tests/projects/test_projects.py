"""Projects: a job belongs to one, chosen in the create panel (the member's
last by default), inherited by edits, set by a token bound to a project; the
gallery filters by it and the spend dashboard and CSV break down by it."""

from __future__ import annotations

import csv
import io

import pytest
from django.utils import timezone

from gallery.catalog import operations
from gallery.credits import spend
from gallery.models import ApiToken, Job, Project
from gallery.studio import pipeline
from tests.api.conftest import Api
from tests.factories import finished_job, fund, membership, spent_job

pytestmark = pytest.mark.django_db

URL = "/t/acme/jobs/"


@pytest.fixture
def campaign(team) -> Project:
    return Project.objects.create(team=team, name="Spring campaign")


@pytest.fixture
def client_work(team) -> Project:
    return Project.objects.create(team=team, name="Harbour Co")


def draft(project=None, *, parent=None, key="") -> pipeline.Draft:
    if parent is None:
        request = operations.Request(
            operation="mj-v7", provider="evolink", prompt="a red bird", speed="fast"
        )
    else:
        request = operations.Request(
            operation="mj-v7-upscale",
            provider="evolink",
            parent_task_id=parent.job.upstream_id,
            image_number=parent.index,
            params={"type": "standard"},
        )
    return pipeline.Draft(request=request, parent=parent, project=project, client_request_id=key)


def test_a_job_goes_to_the_project_asked_for(alice, team, campaign):
    fund(alice, team)
    job = pipeline.create(membership(alice, team), draft(campaign))
    assert Job.objects.get(pk=job.pk).project == campaign


def test_a_job_without_a_project_has_none(alice, team, campaign):
    fund(alice, team)
    job = pipeline.create(membership(alice, team), draft())
    assert Job.objects.get(pk=job.pk).project is None


def test_an_edit_inherits_its_parents_project(alice, team, campaign):
    fund(alice, team)
    parent = finished_job(alice, team, project=campaign).images.get(index=1)
    job = pipeline.create(membership(alice, team), draft(parent=parent))
    assert Job.objects.get(pk=job.pk).project == campaign


def test_another_teams_project_is_refused_and_nothing_is_charged(alice, team, other_team):
    account = fund(alice, team)
    theirs = Project.objects.create(team=other_team, name="Secret")
    with pytest.raises(pipeline.Refused, match="not one of this team's open projects"):
        pipeline.create(membership(alice, team), draft(theirs))
    assert not Job.objects.exists()
    account.refresh_from_db()
    assert account.balance == 10_000


def test_an_archived_project_takes_no_new_work(alice, team, campaign):
    fund(alice, team)
    Project.objects.filter(pk=campaign.pk).update(archived_at=timezone.now())
    campaign.refresh_from_db()
    with pytest.raises(pipeline.Refused):
        pipeline.create(membership(alice, team), draft(campaign))


# --- the create panel -------------------------------------------------------------------


def test_the_create_panel_offers_the_members_last_project_first(
    alice_client, alice, team, campaign, client_work
):
    finished_job(alice, team, project=client_work)
    html = alice_client.get("/t/acme/").content.decode()
    assert '<label for="id_project">Project</label>' in html
    assert f'<option value="{client_work.pk}" selected>Harbour Co</option>' in html


def test_a_panel_without_projects_shows_no_project_control(alice_client, alice, team):
    assert 'id="id_project"' not in alice_client.get("/t/acme/").content.decode()


def test_generate_with_a_project_puts_the_job_there(alice_client, alice, team, campaign):
    fund(alice, team)
    data = {"prompt": "a red bird", "speed": "fast", "project": str(campaign.pk)}
    assert alice_client.post(URL, data).status_code == 302
    assert Job.objects.get().project == campaign


def test_generate_with_another_teams_project_says_so_in_place(
    alice_client, alice, team, other_team
):
    fund(alice, team)
    theirs = Project.objects.create(team=other_team, name="Secret")
    data = {"prompt": "a red bird", "speed": "fast", "project": str(theirs.pk)}
    response = alice_client.post(URL, data, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "not one of this team&#x27;s open projects" in response.content.decode()
    assert not Job.objects.exists()


# --- the gallery filter --------------------------------------------------------------------


def test_the_gallery_filters_by_project_and_by_no_project(alice_client, alice, team, campaign):
    in_campaign = finished_job(alice, team, project=campaign, prompt="campaign bird")
    loose = finished_job(alice, team, prompt="loose bird")
    html = alice_client.get(f"/t/acme/?project={campaign.pk}").content.decode()
    assert f'id="job-{in_campaign.pk}"' in html and f'id="job-{loose.pk}"' not in html
    html = alice_client.get("/t/acme/?project=none").content.decode()
    assert f'id="job-{loose.pk}"' in html and f'id="job-{in_campaign.pk}"' not in html
    assert '<label for="f-project">Project</label>' in html


def test_a_nonsense_project_filter_filters_nothing(alice_client, alice, team, campaign):
    job = finished_job(alice, team)
    response = alice_client.get("/t/acme/?project=%EF%BC%91")  # a fullwidth digit
    assert response.status_code == 200 and f'id="job-{job.pk}"' in response.content.decode()


# --- API tokens bound to a project --------------------------------------------------------


def test_a_token_bound_to_a_project_puts_its_jobs_there(alice, team, campaign):
    fund(alice, team)
    _, plain = ApiToken.issue(membership(alice, team), "ci", project=campaign)
    response = Api(plain).create()
    assert response.status_code == 200, response.content
    assert Job.objects.get().project == campaign


def test_an_unbound_token_makes_jobs_without_a_project(alice, team, campaign):
    fund(alice, team)
    _, plain = ApiToken.issue(membership(alice, team), "ci")
    assert Api(plain).create().status_code == 200
    assert Job.objects.get().project is None


# --- spend by project -----------------------------------------------------------------------


def test_spend_breaks_down_by_project_with_no_project_apart(alice, bob, team, campaign):
    fund(alice, team)
    fund(bob, team)
    spent_job(alice, team, credits=300, project=campaign)
    spent_job(bob, team, credits=200, project=campaign)
    spent_job(bob, team, credits=50)
    spent_job(bob, team, credits=70, project=campaign, outcome="refund")
    rows = spend.spent_by_project(team, spend.Month.current(team.time_zone))
    assert [(r.label, r.credits, r.jobs) for r in rows] == [
        ("Spring campaign", 500, 3),
        ("No project", 50, 1),
    ]


def test_the_dashboard_and_the_csv_name_the_project(alice_client, alice, team, campaign):
    fund(alice, team)
    spent_job(alice, team, credits=300, project=campaign)
    html = alice_client.get("/t/acme/spend/").content.decode()
    assert "Per project" in html and "Spring campaign" in html
    body = b"".join(alice_client.get("/t/acme/spend.csv").streaming_content).decode()
    header, *rows = list(csv.reader(io.StringIO(body)))
    column = header.index("project")
    assert [r[column] for r in rows if r[2] == "reserve"] == ["Spring campaign"]
    assert [r[column] for r in rows if r[2] == "grant"] == [""]


# --- the tokens page binds a token to a project -------------------------------------------


def test_a_token_made_on_the_tokens_page_can_be_bound_to_a_project(alice_client, team, campaign):
    html = alice_client.get("/t/acme/tokens/").content.decode()
    assert '<label for="id_project">Project</label>' in html
    response = alice_client.post("/t/acme/tokens/new/", {"name": "ci", "project": campaign.pk})
    assert response.status_code == 200
    assert ApiToken.objects.get().project == campaign
    assert "Spring campaign</span>" in alice_client.get("/t/acme/tokens/").content.decode()


def test_a_token_cannot_be_bound_to_another_teams_project(alice_client, team, other_team):
    Project.objects.create(team=team, name="Ours")
    theirs = Project.objects.create(team=other_team, name="Theirs")
    response = alice_client.post(
        "/t/acme/tokens/new/", {"name": "ci", "project": theirs.pk}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_team_without_projects_is_not_asked_for_one(alice_client, team):
    assert 'id="id_project"' not in alice_client.get("/t/acme/tokens/").content.decode()


def test_the_job_page_names_the_project(alice_client, alice, team, campaign):
    job = finished_job(alice, team, project=campaign)
    html = alice_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "<dt>Project</dt><dd>Spring campaign</dd>" in html

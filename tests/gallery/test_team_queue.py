"""The team's queue page (issue 16): admins see who waits, since when, for
which provider and in what place; members see only their own waiting jobs;
nothing of another team's, nor a teammate's private job."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from gallery.models import Job
from tests.factories import many_jobs

pytestmark = pytest.mark.django_db

URL = "/t/acme/queue/"


def waiting(team, user, n: int, **fields) -> list[Job]:
    return many_jobs(team, [user], n, status="queued", progress=0, credits_charged=None, **fields)


def rows(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li class="queue-row" id="waiting-(\d+)"', html)]


def row(html: str, job: Job) -> str:
    return html.split(f'id="waiting-{job.pk}"', 1)[1].split("</li>", 1)[0]


def test_an_admin_sees_who_waits_since_when_where_and_in_what_place(
    alice_client, alice, bob, carol, team, other_team
):
    a1, a2 = waiting(team, alice, 2)
    (b1,) = waiting(team, bob, 1)
    Job.objects.filter(pk=b1.pk).update(provider="reapi")
    many_jobs(team, [bob], 1, status="running", progress=10, credits_charged=None)
    (hidden,) = waiting(team, bob, 1, private=True)
    (stranger,) = waiting(other_team, carol, 1)
    html = alice_client.get(URL).content.decode()
    assert rows(html) == [a1.pk, a2.pk, b1.pk]  # the oldest first; no private, no other team
    assert "2nd in line" in row(html, a2) and "alice" in row(html, a2)
    assert "next in line" in row(html, b1) and "reapi" in row(html, b1) and "bob" in row(html, b1)
    assert re.search(
        r'since <time datetime="\d{4}-[^"]+">\d\d:\d\d:\d\d</time> \(for \d+ s\)', row(html, b1)
    )
    assert 'bob</strong> <span class="muted">1 of 4 running · 1 waiting' in html
    assert hidden.pk not in rows(html) and stranger.pk not in rows(html)


def test_a_member_sees_only_their_own_waiting_jobs(bob_client, alice, bob, team):
    waiting(team, alice, 2)
    (mine,) = waiting(team, bob, 1)
    html = bob_client.get(URL).content.decode()
    assert rows(html) == [mine.pk]
    assert "By member" not in html  # the per-member lines are the admins'
    assert "Your jobs waiting" in html


def test_with_nothing_waiting_the_page_says_so(alice_client, alice, team):
    many_jobs(team, [alice], 2)
    html = alice_client.get(URL).content.decode()
    assert rows(html) == [] and "Nothing is waiting" in html


def test_the_htmx_refresh_gets_the_queue_alone(alice_client, alice, team):
    (job,) = waiting(team, alice, 1)
    html = alice_client.get(URL, headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<div id="queue"') and "<html" not in html
    assert rows(html) == [job.pk]


def test_it_answers_get_only_to_members_and_hides_the_team_from_strangers(
    alice_client, carol_client, team
):
    assert alice_client.post(URL).status_code == 405
    assert carol_client.get(URL).status_code == 404
    anonymous = Client().get(URL)
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_admins_find_it_from_the_members_and_spend_pages(alice_client, bob_client, team):
    for page in ("/t/acme/members/", "/t/acme/spend/"):
        assert f'href="{URL}"' in alice_client.get(page).content.decode()
    assert f'href="{URL}">My waiting jobs' in bob_client.get("/t/acme/members/").content.decode()

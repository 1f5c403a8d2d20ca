"""The create bar's prompt history: the member's own recent prompts in this team,
the last 50 distinct, newest first, searchable, as a page and as a fragment."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from gallery.models import Job

URL = "/t/acme/prompts/"
pytestmark = pytest.mark.django_db


def make(user, team, prompt: str, *, minutes_ago: int = 0, **fields) -> Job:
    job = Job.objects.create(
        team=team,
        user=user,
        provider="evolink",
        operation=fields.pop("operation", "mj-v7"),
        prompt=prompt,
        prompt_raw=prompt,
        credits_reserved=79,
        **fields,
    )
    # created is set on insert; a controlled age keeps the order independent of the clock.
    when = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes_ago)
    Job.objects.filter(pk=job.pk).update(created=when)
    return job


def listed(response) -> list[str]:
    """The prompts offered, in order, as the buttons carry them."""
    html = response.content.decode()
    marker = 'data-prompt="'
    found = []
    for chunk in html.split(marker)[1:]:
        found.append(unescape(chunk[: chunk.index('"')]))
    return found


def test_it_lists_the_members_prompts_newest_first_each_once(alice_client, alice, team):
    make(alice, team, "a red fox --ar 3:2", minutes_ago=30)
    make(alice, team, "a lighthouse at dusk", minutes_ago=20)
    make(alice, team, "a red fox --ar 3:2", minutes_ago=10)  # used again: it moves up
    response = alice_client.get(URL)
    assert response.status_code == 200
    assert listed(response) == ["a red fox --ar 3:2", "a lighthouse at dusk"]
    assert "<html" in response.content.decode()  # a page of its own without htmx


def test_it_keeps_the_last_50_distinct(alice_client, alice, team):
    for n in range(55):
        make(alice, team, f"prompt number {n}", minutes_ago=100 - n)
    found = listed(alice_client.get(URL))
    assert len(found) == 50
    assert found[0] == "prompt number 54" and found[-1] == "prompt number 5"


def test_it_searches_the_prompts(alice_client, alice, team):
    make(alice, team, "a red fox", minutes_ago=3)
    make(alice, team, "a lighthouse", minutes_ago=2)
    make(alice, team, "a Red kite", minutes_ago=1)
    assert listed(alice_client.get(URL, {"q": "red"})) == ["a Red kite", "a red fox"]


def test_a_teammates_prompts_and_private_jobs_are_never_listed(bob_client, alice, bob, team):
    make(alice, team, "alice in public", minutes_ago=3)
    make(alice, team, "alice in private", minutes_ago=2, private=True)
    make(bob, team, "bob's own", minutes_ago=1)
    html = bob_client.get(URL).content.decode()
    assert listed(bob_client.get(URL)) == ["bob's own"]
    assert "alice in" not in html


def test_another_teams_prompts_are_not_listed_and_its_url_is_404(
    alice_client, carol_client, alice, carol, team, other_team
):
    make(alice, team, "made in acme")
    make(alice, other_team, "made elsewhere")  # not a member there: never shown
    assert listed(alice_client.get(URL)) == ["made in acme"]
    assert carol_client.get(URL).status_code == 404


def test_deleted_jobs_and_edits_without_a_prompt_are_left_out(alice_client, alice, team):
    make(alice, team, "kept", minutes_ago=3)
    make(alice, team, "thrown away", minutes_ago=2, deleted_at=timezone.now())
    make(alice, team, "", minutes_ago=1, operation="mj-v7-upscale")
    assert listed(alice_client.get(URL)) == ["kept"]


def test_the_htmx_fragment_is_only_the_list(alice_client, alice, team):
    make(alice, team, 'a "quoted" <b>prompt</b>')
    response = alice_client.get(URL, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert html.lstrip().startswith('<ul id="history-list"')
    assert "<html" not in html
    assert 'data-prompt="a &quot;quoted&quot; &lt;b&gt;prompt&lt;/b&gt;"' in html


def test_an_empty_history_says_so(alice_client):
    html = alice_client.get(URL, headers={"HX-Request": "true"}).content.decode()
    assert "No prompts yet" in html


def test_a_search_that_finds_nothing_says_so(alice_client, alice, team):
    make(alice, team, "a red fox")
    html = alice_client.get(URL, {"q": "zebra"}, headers={"HX-Request": "true"}).content.decode()
    assert "No prompt of yours contains “zebra”" in html


def test_it_rejects_post(alice_client):
    assert alice_client.post(URL).status_code == 405


def test_it_requires_sign_in(client, team):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")

from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_it_shows_the_team_gallery_with_the_team_name(alice_client):
    response = alice_client.get("/t/acme/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Studio gallery" in html
    assert "No images yet" in html
    assert 'id="balance"' in html


@pytest.mark.django_db
def test_it_tells_a_viewer_they_cannot_generate(dave_client):
    html = dave_client.get("/t/acme/").content.decode()
    assert "viewers cannot generate" in html


@pytest.mark.django_db
def test_it_rejects_post(alice_client):
    assert alice_client.post("/t/acme/").status_code == 405


@pytest.mark.django_db
def test_home_redirects_to_the_only_team(bob_client):
    response = bob_client.get("/")
    assert response.status_code == 302
    assert response.url == "/t/acme/"


@pytest.mark.django_db
def test_home_returns_to_the_team_used_last(alice, other_team, alice_client):
    from gallery.models import Membership

    Membership.objects.create(team=other_team, user=alice, role="member")
    alice_client.get("/t/other/")
    assert alice_client.get("/").url == "/t/other/"
    alice_client.get("/t/acme/")
    assert alice_client.get("/").url == "/t/acme/"


@pytest.mark.django_db
def test_home_explains_when_the_user_has_no_team(db):
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    client.force_login(User.objects.create_user("loner", password="x"))
    response = client.get("/")
    assert response.status_code == 200
    assert "You are not in a team yet" in response.content.decode()


@pytest.mark.django_db
def test_the_team_switcher_lists_every_team_of_the_user(alice, other_team, alice_client):
    from gallery.models import Membership

    Membership.objects.create(team=other_team, user=alice, role="viewer")
    html = alice_client.get("/t/acme/").content.decode()
    assert 'href="/t/other/"' in html
    assert 'href="/t/acme/" aria-current="page"' in html


@pytest.mark.django_db
def test_the_switcher_does_not_show_teams_the_user_is_not_in(alice_client, carol):
    html = alice_client.get("/t/acme/").content.decode()
    assert "/t/other/" not in html
    assert "Other Co" not in html

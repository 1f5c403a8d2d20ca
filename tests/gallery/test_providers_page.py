"""The providers page (health and the team's order), and a provider's state on the create panel."""

from __future__ import annotations

import pytest

from gallery.models import Team
from gallery.studio import health
from gallery.studio.models.health import Outcome
from tests.factories import in_flight_job

pytestmark = pytest.mark.django_db

KEYS = {
    name: {"base_url": f"http://127.0.0.1:1/{name}", "api_key": "k"}
    for name in ("evolink", "reapi", "vtrix")
}


@pytest.fixture(autouse=True)
def three_providers(settings):
    settings.PROVIDERS = KEYS
    settings.MJWEB_PROVIDER = "evolink"


def take_down(provider: str) -> None:
    for _ in range(health.DOWN_STREAK):
        health.record(provider, "create", Outcome.SERVER_ERROR, latency=0.05, http_status=503)


def test_admins_see_each_provider_with_its_state_and_chart(alice_client):
    take_down("reapi")
    page = alice_client.get("/t/acme/providers/").content.decode()
    for name in ("evolink", "reAPI", "Vtrix"):
        assert f'>{name} <span class="state-badge' in page
    assert 'id="health-reapi"' in page and 'state-badge state-down">down' in page
    assert page.count('<svg class="health-chart"') == 3
    assert "Down since" in page


def test_members_are_refused_and_strangers_find_no_team(bob_client, carol_client, client):
    assert bob_client.get("/t/acme/providers/").status_code == 403
    assert carol_client.get("/t/acme/providers/").status_code == 404
    assert client.get("/t/acme/providers/").status_code == 302


def test_the_page_takes_no_post_and_the_order_no_get(alice_client):
    assert alice_client.post("/t/acme/providers/").status_code == 405
    assert alice_client.get("/t/acme/providers/order/").status_code == 405


def order(client, places, failover=True, **headers):
    data = {f"place_{i + 1}": p for i, p in enumerate(places)}
    if failover:
        data["failover"] = "on"
    return client.post("/t/acme/providers/order/", data, **headers)


def test_an_admin_sets_the_order_and_turns_failover_off(alice_client, team):
    response = order(alice_client, ["vtrix", "evolink", "reapi"], failover=False)
    assert response.status_code == 302
    team = Team.objects.get(pk=team.pk)
    assert team.providers_in_order() == ["vtrix", "evolink", "reapi"]
    assert team.failover is False


def test_the_order_form_answers_htmx_with_its_fragment(alice_client, team):
    response = order(alice_client, ["reapi", "vtrix", "evolink"], HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="provider-order"')
    assert "Saved." in body


def test_a_provider_named_twice_is_refused_in_place(alice_client, team):
    response = order(alice_client, ["reapi", "reapi", "evolink"], HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "Choose each provider once (evolink, reAPI, Vtrix)." in response.content.decode()
    assert Team.objects.get(pk=team.pk).provider_order == []


def test_a_member_cannot_change_the_order(bob_client, carol_client, team):
    assert order(bob_client, ["reapi", "vtrix", "evolink"]).status_code == 403
    assert order(carol_client, ["reapi", "vtrix", "evolink"]).status_code == 404
    assert Team.objects.get(pk=team.pk).provider_order == []


def test_the_create_panel_names_a_provider_that_is_not_healthy(bob_client):
    take_down("evolink")
    page = bob_client.get("/t/acme/").content.decode()
    assert ">evolink (down)</option>" in page
    assert ">reAPI</option>" in page
    assert "evolink is down: new generations go to the team&#x27;s next provider" in page


def test_a_healthy_provider_adds_nothing_to_the_panel(bob_client):
    page = bob_client.get("/t/acme/").content.decode()
    assert 'id="provider-state"' not in page
    assert "(down)" not in page


def test_a_moved_job_says_so_on_its_card(bob_client, bob, team):
    job = in_flight_job(
        bob,
        team,
        provider="reapi",
        provider_note="Sent to reAPI: evolink is down; re-priced 79 → 88 credits",
    )
    page = bob_client.get("/t/acme/").content.decode()
    assert "Sent to reAPI: evolink is down; re-priced 79 → 88 credits" in page
    detail = bob_client.get(f"/t/acme/jobs/{job.pk}/").content.decode()
    assert "re-priced 79 → 88 credits" in detail


def test_the_create_panel_starts_on_the_teams_first_provider(alice_client, team):
    order(alice_client, ["vtrix", "evolink", "reapi"])
    page = alice_client.get("/t/acme/").content.decode()
    assert '<option value="vtrix" selected>Vtrix</option>' in page

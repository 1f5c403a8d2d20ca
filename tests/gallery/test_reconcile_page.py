"""The providers' bill page: site staff see each provider's month and our margin."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery.catalog.operations import Request
from gallery.credits import ledger
from gallery.models import Membership
from gallery.studio import pipeline
from tests.pipeline.conftest import control, run_until_final

pytestmark = pytest.mark.django_db
URL = reverse("reconcile")


@pytest.fixture
def staff_client(alice) -> Client:
    alice.is_staff = True
    alice.save(update_fields=["is_staff"])
    client = Client()
    client.force_login(alice)
    return client


@pytest.fixture
def statements(sim, settings) -> str:
    key = f"page-{uuid.uuid4().hex[:10]}"
    control(sim, f"/_sim/keys/{key}", {"balance": "1000000"})
    settings.PROVIDERS = {
        name: {**conf, "api_key": key, "statement_url": f"{sim.base_url}/_sim/statement"}
        for name, conf in settings.PROVIDERS.items()
    }
    return key


def test_staff_see_each_provider_with_totals_margin_and_explained_differences(
    staff_client, statements, alice, team
):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=5000, by=alice, reason="test")
    membership = Membership.objects.get(user=alice, team=team)
    for prompt in ("a harbour", "a lighthouse [sim:drop]"):
        request = Request(operation="mj-v7", provider="evolink", prompt=prompt, speed="fast")
        run_until_final(pipeline.create(membership, pipeline.Draft(request=request)))
    response = staff_client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    for provider in ("evolink", "reapi", "vtrix"):
        assert f'id="provider-{provider}"' in page
    assert 'id="differences-evolink"' in page
    assert "the create answer was lost" in page
    assert "Unexplained</strong>" not in page
    assert timezone.now().strftime("%B %Y") in page


def test_a_month_is_chosen_and_its_neighbours_are_linked(staff_client, statements):
    page = staff_client.get(URL, {"month": "2026-01"}).content.decode()
    assert "January 2026" in page
    assert 'href="?month=2025-12"' in page and 'href="?month=2026-02"' in page


def test_a_bad_month_is_refused_in_place(staff_client):
    response = staff_client.get(URL, {"month": "January"})
    assert response.status_code == 400
    assert 'id="month-error"' in response.content.decode()


def test_an_unreadable_statement_is_named_in_place_not_a_500(staff_client, sim, settings):
    settings.PROVIDERS = {
        name: {**conf, "statement_url": f"{sim.base_url}/_sim/missing"}
        for name, conf in settings.PROVIDERS.items()
    }
    response = staff_client.get(URL)
    assert response.status_code == 200
    assert 'id="unreadable-evolink"' in response.content.decode()


def test_team_admins_who_are_not_staff_are_refused(alice_client):
    assert alice_client.get(URL).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in():
    response = Client().get(URL)
    assert response.status_code == 302 and "login" in response["Location"]


def test_it_only_answers_get(staff_client):
    assert staff_client.post(URL).status_code == 405


def test_the_margin_is_listed_month_by_month_newest_first(staff_client, statements):
    page = staff_client.get(URL, {"month": "2026-03"}).content.decode()
    history = page[page.index('id="reconcile-history"') :]
    months = ["2026-03", "2026-02", "2026-01", "2025-12", "2025-11", "2025-10"]
    positions = [history.index(f'href="?month={m}"') for m in months]
    assert positions == sorted(positions)
    assert "2025-09" not in history

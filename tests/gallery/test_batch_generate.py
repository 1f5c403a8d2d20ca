"""Generate with permutations or --repeat: one card per job, all or nothing."""

from __future__ import annotations

import pytest
from django_q.models import OrmQ

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership

pytestmark = pytest.mark.django_db

URL = "/t/acme/jobs/"
FAST = 79
TWO_BY_TWO = "a {red, blue} bird --ar {1:1, 16:9}"


def fund(user, team, amount: int, cap: int = 40) -> CreditAccount:
    account = ledger.account_for(Membership.objects.get(user=user, team=team))
    if amount:
        ledger.grant(account=account, amount=amount, by=user)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=cap)
    return account


def queued() -> list[int]:
    """The jobs whose submit task is in the queue (the ORM broker's rows, which
    commit or roll back with the jobs)."""
    return sorted(task.task["args"][0] for task in OrmQ.objects.all())


def generate(client, prompt=TWO_BY_TWO, key="req-1", **headers):
    data = {"prompt": prompt, "speed": "fast", "client_request_id": key}
    return client.post(URL, data, headers=headers)


def test_a_two_by_two_permutation_makes_four_jobs_and_redirects(alice_client, alice, team):
    account = fund(alice, team, 1000)
    response = generate(alice_client)
    assert response.status_code == 302 and response.url == "/t/acme/"
    prompts = list(Job.objects.order_by("pk").values_list("prompt", flat=True))
    assert prompts == [
        "a red bird --ar 1:1",
        "a red bird --ar 16:9",
        "a blue bird --ar 1:1",
        "a blue bird --ar 16:9",
    ]
    assert ledger.account_for(account.membership).balance == 1000 - 4 * FAST
    assert queued() == list(Job.objects.order_by("pk").values_list("pk", flat=True))


def test_htmx_gets_four_cards_newest_on_top_and_the_new_balance(alice_client, alice, team):
    fund(alice, team, 1000)
    response = generate(alice_client, HX_Request="true")
    html = response.content.decode()
    jobs = list(Job.objects.order_by("pk"))
    assert html.count('hx-swap-oob="afterbegin:#job-grid"') == 4
    # Each is put first in the grid in turn: the last made ends on top.
    positions = [html.index(f'id="job-{job.pk}"') for job in jobs]
    assert positions == sorted(positions)
    assert f"<strong>{1000 - 4 * FAST}</strong> credits" in html
    assert f"4 jobs · {4 * FAST} credits" in html
    assert response.headers["HX-Trigger"] == '{"credits-changed": {}}'


def test_a_double_submit_of_a_batch_makes_it_once(alice_client, alice, team):
    fund(alice, team, 1000)
    generate(alice_client, HX_Request="true")
    again = generate(alice_client, HX_Request="true")
    assert again.status_code == 200
    assert Job.objects.count() == 4
    assert LedgerEntry.objects.filter(kind="reserve").count() == 4


def test_short_of_credits_nothing_is_made_and_the_shortfall_is_named_in_place(
    bob_client, bob, team
):
    fund(bob, team, 3 * FAST)
    response = generate(bob_client, HX_Request="true")
    assert response.status_code == 402
    html = response.content.decode()
    assert f"These 4 jobs cost {4 * FAST} credits and you have {3 * FAST} ({FAST} short)" in html
    assert 'id="create-problem"' in html
    assert not Job.objects.exists() and not queued()


def test_past_the_cap_the_refusal_names_it_in_place_and_nothing_is_made(alice_client, alice, team):
    fund(alice, team, 10_000)
    options = ", ".join(f"o{i}" for i in range(41))
    response = generate(alice_client, f"a {{{options}}} bird", HX_Request="true")
    assert response.status_code == 400
    assert "41 jobs: at most 40 jobs can come from one prompt" in response.content.decode()
    assert not Job.objects.exists() and not queued()


def test_without_htmx_a_refused_batch_redraws_the_page_with_the_problem(alice_client, alice, team):
    fund(alice, team, 1000)
    response = generate(alice_client, "a {red, blue bird")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<html" in html and "The { at character 3 is never closed" in html


def test_anonymous_cannot_generate_a_batch(client, team):
    response = generate(client)
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert not Job.objects.exists()


def test_another_team_cannot_generate_a_batch_here(carol_client, carol, other_team, alice):
    fund(carol, other_team, 1000)
    assert generate(carol_client).status_code == 404
    assert not Job.objects.exists()


def test_a_viewer_cannot_generate_a_batch(dave_client):
    assert generate(dave_client).status_code == 403
    assert not Job.objects.exists()


def test_get_is_not_allowed(alice_client):
    assert alice_client.get(URL).status_code == 405

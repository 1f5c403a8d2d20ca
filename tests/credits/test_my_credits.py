"""My credits: balance, reserved, spent, limits and the ledger, for any member;
and the header's balance fragment."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, LedgerEntry, Membership
from tests.credits.conftest import HTMX
from tests.factories import account_of, fund, local, spent_job

pytestmark = [pytest.mark.db_sensitive, pytest.mark.django_db]
URL = "/t/acme/credits/"


def ledger_rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


def test_it_shows_balance_reserved_and_spent_this_month(bob_client, bob, team, funded):
    spent_job(bob, team, credits=200)  # settled
    spent_job(bob, team, credits=100, outcome="running")  # still holds its reservation
    spent_job(bob, team, credits=50, outcome="refund")  # came back: not spent
    html = bob_client.get(URL).content.decode()
    assert '<p class="stat-value" id="my-balance">9,700</p>' in html
    assert re.search(r"Reserved</p>\s*<p class=\"stat-value\">100</p>", html)
    assert re.search(r"Spent this month</p>\s*<p class=\"stat-value\">300</p>", html)


def test_it_shows_my_limit_and_the_teams_with_what_is_left(bob_client, bob, team, funded):
    CreditAccount.objects.filter(pk=funded["bob"].pk).update(monthly_limit=1000)
    team.monthly_limit = 5000
    team.save()
    spent_job(bob, team, credits=300)
    html = bob_client.get(URL).content.decode()
    assert '700 <span class="stat-unit">left</span>' in html
    assert "300 of 1,000 used" in html
    assert '4,700 <span class="stat-unit">left</span>' in html
    assert "300 of 5,000 used" in html


def test_it_says_when_there_is_no_limit(bob_client, funded):
    html = bob_client.get(URL).content.decode()
    assert html.count("no cap on your spend") == 2


def test_the_ledger_shows_each_movement_with_its_running_balance(bob_client, bob, team, funded):
    job = spent_job(bob, team, credits=250, operation="mj-v7-upscale")
    rows = ledger_rows(bob_client.get(URL).content.decode())
    assert len(rows) == 3  # grant, reserve, settle; newest first
    settle, reserve, grant = rows
    assert "Settle" in settle and f"#{job.pk} · Upscale</a>" in settle  # words, not the model id
    assert "Upscale · reserved" in reserve and "mj-v7-upscale" not in reserve
    assert f'href="/t/acme/jobs/{job.pk}/"' in settle
    assert ">-250<" in reserve and ">9,750<" in reserve
    assert "+10,000" in grant and ">10,000<" in grant
    assert "Starting credits" in grant and ">alice<" in grant
    assert ">you<" in reserve  # bob's own job reserved it


def test_the_ledger_names_a_titled_job_by_its_title(bob_client, bob, team, funded):
    job = spent_job(bob, team, credits=80, operation="mj-v7-pan")
    Job.objects.filter(pk=job.pk).update(title="Pan left ×1.5")
    html = bob_client.get(URL).content.decode()
    assert f"#{job.pk} · Pan left ×1.5</a>" in html
    assert "Pan · reserved" in html  # the stored reason keeps its id; the page says it in words
    assert LedgerEntry.objects.filter(job=job, reason="mj-v7-pan · reserved").exists()


def test_it_shows_only_my_own_entries(bob_client, alice, bob, team, funded):
    spent_job(alice, team, credits=400, operation="mj-v7-pan")
    html = bob_client.get(URL).content.decode()
    assert "mj-v7-pan" not in html
    assert len(ledger_rows(html)) == 1


def test_it_filters_the_ledger_by_kind(bob_client, bob, team, funded):
    spent_job(bob, team, credits=10)
    spent_job(bob, team, credits=20, outcome="refund")
    rows = ledger_rows(bob_client.get(URL, {"kind": "refund"}).content.decode())
    assert len(rows) == 1 and "+20" in rows[0]


def test_it_filters_the_ledger_by_month(bob_client, bob, team, funded):
    spent_job(bob, team, credits=30, when=local(2025, 3, 14))
    spent_job(bob, team, credits=40)
    rows = ledger_rows(bob_client.get(URL, {"month": "2025-03"}).content.decode())
    assert len(rows) == 2  # that job's reserve and settle
    assert all("14 Mar 2025" in row for row in rows)


def test_an_invalid_filter_is_explained_and_ignored(bob_client, funded):
    response = bob_client.get(URL, {"month": "March", "kind": "bribe"})
    assert response.status_code == 400  # the page, with the errors in place
    html = response.content.decode()
    assert "Enter a month as YYYY-MM" in html
    assert "Select a valid choice" in html
    assert len(ledger_rows(html)) == 1


def test_it_pages_fifty_entries_and_keeps_the_filter_in_its_links(bob_client, bob, team, funded):
    account = account_of(bob, team)
    for _ in range(60):
        ledger.grant(account=account, amount=1, by=bob)
    html = bob_client.get(URL, {"kind": "grant"}).content.decode()
    assert len(ledger_rows(html)) == 50
    assert "61 entries · page 1 of 2" in html
    assert (
        'href="?kind=grant&amp;month=&amp;page=2"' in html
        or 'href="?kind=grant&amp;page=2"' in html
    )
    second = bob_client.get(URL, {"kind": "grant", "page": 2}).content.decode()
    assert len(ledger_rows(second)) == 11
    assert "page=1" in second and "kind=grant" in second


def test_a_page_past_the_end_shows_the_last_page(bob_client, funded):
    html = bob_client.get(URL, {"page": 99}).content.decode()
    assert len(ledger_rows(html)) == 1


def test_a_member_with_no_entries_sees_an_empty_ledger_that_says_so(dave_client):
    html = dave_client.get(URL).content.decode()
    assert "No credit movements yet" in html
    assert '<p class="stat-value" id="my-balance">0</p>' in html


def test_a_viewer_sees_their_own_credits(dave_client, dave, alice, team):
    fund(dave, team, 75, by=alice)
    response = dave_client.get(URL)
    assert response.status_code == 200
    assert '<p class="stat-value" id="my-balance">75</p>' in response.content.decode()


def test_the_header_shows_my_balance(bob_client, funded):
    html = bob_client.get(URL).content.decode()
    assert re.search(r'id="balance"[^>]*>\s*<strong>10000</strong> credits', html)


def test_admins_get_a_link_to_the_team_spend_and_members_do_not(alice_client, bob_client, funded):
    assert 'href="/t/acme/spend/"' in alice_client.get(URL).content.decode()
    assert 'href="/t/acme/spend/"' not in bob_client.get(URL).content.decode()


def test_it_rejects_post(bob_client):
    assert bob_client.post(URL).status_code == 405


def test_a_stranger_gets_404(carol_client, alice):
    assert carol_client.get(URL).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(team):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_htmx_gets_only_the_ledger_fragment(bob_client, bob, team, funded):
    spent_job(bob, team, credits=10)
    response = bob_client.get(URL, {"kind": "settle"}, headers=HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<section class="card ledger" id="ledger"')
    assert "<html" not in html
    assert len(ledger_rows(html)) == 1
    assert "HX-Request" in response["Vary"]


def test_htmx_restoring_history_gets_the_whole_page(bob_client, funded):
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    assert "<html" in bob_client.get(URL, headers=headers).content.decode()


def test_the_page_costs_the_same_queries_for_one_entry_or_sixty(bob_client, bob, team, funded):
    counts = []
    for jobs in (0, 30):  # 1 entry, then 61 over two pages
        for _ in range(jobs):
            spent_job(bob, team, credits=1, when=local(2025, 9, 1))
        bob_client.get(URL)  # settle the session
        with CaptureQueriesContext(connection) as queries:
            bob_client.get(URL)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # 12 reads (session, user, membership, account, spent, reserved, months,
    # count, page, notices, budgets, header teams) + get_membership's session
    # write (3 statements)
    assert counts[1] <= 15, counts


# --- the header's balance fragment ----------------------------------------------------


def test_the_balance_fragment_is_my_balance_in_words(bob_client, funded):
    response = bob_client.get("/t/acme/balance/", headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode().strip() == "<strong>10000</strong> credits"
    assert "no-store" in response["Cache-Control"]


def test_the_balance_fragment_follows_a_reservation(bob_client, bob, team, funded):
    spent_job(bob, team, credits=120, outcome="running")
    assert "<strong>9880</strong>" in bob_client.get("/t/acme/balance/").content.decode()


def test_the_balance_fragment_is_zero_without_an_account(dave_client, dave):
    assert not CreditAccount.objects.filter(membership__user=dave).exists()
    assert "<strong>0</strong>" in dave_client.get("/t/acme/balance/").content.decode()


def test_the_balance_fragment_takes_one_query_and_writes_nothing(
    bob_client, funded, django_assert_num_queries
):
    bob_client.get("/t/acme/balance/")
    # session and user, then the balance: nothing written back
    with django_assert_num_queries(3):
        bob_client.get("/t/acme/balance/")


def test_the_balance_fragment_is_404_to_a_stranger(carol_client, alice, funded):
    assert carol_client.get("/t/acme/balance/").status_code == 404


def test_the_balance_fragment_rejects_post(bob_client):
    assert bob_client.post("/t/acme/balance/").status_code == 405


def test_the_balance_fragment_sends_anonymous_visitors_to_sign_in(team):
    assert Client().get("/t/acme/balance/").status_code == 302


def test_a_deactivated_member_has_no_balance(bob_client, bob, funded):
    bob.is_active = False
    bob.save()
    assert bob_client.get("/t/acme/balance/").status_code in (302, 404)
    assert Membership.objects.filter(user=bob).exists()
    assert LedgerEntry.objects.filter(account__membership__user=bob).exists()

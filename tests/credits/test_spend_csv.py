"""The spend CSV: the team's ledger for a month, streamed, for admins only."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from gallery.credits import ledger
from tests.factories import account_of, local, spent_job

pytestmark = [pytest.mark.db_sensitive, pytest.mark.django_db]
URL = "/t/acme/spend.csv"


def rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_it_streams_the_months_ledger_oldest_first(alice_client, alice, bob, team, funded):
    job = spent_job(bob, team, credits=300, operation="mj-v7-upscale", provider="reapi")
    response = alice_client.get(URL)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    month = f"{job.created:%Y-%m}"
    assert response["Content-Disposition"] == f'attachment; filename="acme-ledger-{month}.csv"'
    header, *data = rows(response)
    assert header == [
        "created",
        "member",
        "kind",
        "amount",
        "balance_after",
        "job",
        "operation",
        "provider",
        "reason",
        "by",
        "operation_label",
        "project",
    ]
    assert [r[1:4] for r in data] == [
        ["alice", "grant", "10000"],
        ["bob", "grant", "10000"],
        ["bob", "reserve", "-300"],
        ["bob", "settle", "0"],
    ]
    reserve = data[2]
    assert reserve[4:8] == ["9700", str(job.pk), "mj-v7-upscale", "reapi"]
    assert reserve[8] == "mj-v7-upscale · reserved" and reserve[9] == "bob"
    assert reserve[10] == "Upscale"  # the model id stays in its own column (reserve[6])
    assert data[1][5:8] == ["", "", ""] and data[1][9] == "alice" and data[1][10] == ""
    assert reserve[0].startswith(f"{job.created:%Y-%m-%d}T")  # ISO 8601, with its offset


def test_it_exports_the_chosen_month_only(alice_client, bob, team, funded):
    spent_job(bob, team, credits=77, when=local(2025, 6, 30, hour=22))
    data = rows(alice_client.get(URL, {"month": "2025-06"}))[1:]
    assert [(r[2], r[3]) for r in data] == [("reserve", "-77"), ("settle", "0")]
    assert data[0][0].startswith("2025-06-30T22:00:00")


def test_free_text_that_a_spreadsheet_would_run_is_quoted(alice_client, alice, bob, team):
    ledger.grant(account=account_of(bob, team), amount=5, by=alice, reason='=HYPERLINK("x")')
    data = rows(alice_client.get(URL))[1:]
    assert data[0][8] == '\'=HYPERLINK("x")'
    assert data[0][3] == "5"


def test_it_holds_only_this_teams_entries(alice_client, carol, other_team, alice, team):
    ledger.grant(account=account_of(carol, other_team), amount=9, by=carol)
    assert rows(alice_client.get(URL))[1:] == []


@pytest.mark.parametrize("client_name", ["bob_client", "dave_client"])
def test_members_and_viewers_are_refused(request, client_name, alice):
    assert request.getfixturevalue(client_name).get(URL).status_code == 403


def test_a_stranger_gets_404(carol_client, alice):
    assert carol_client.get(URL).status_code == 404


def test_it_rejects_post(alice_client):
    assert alice_client.post(URL).status_code == 405


def test_anonymous_visitors_are_sent_to_sign_in(team):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_it_reads_the_ledger_in_one_query_however_long(
    alice_client, bob, team, funded, django_assert_max_num_queries
):
    for _ in range(20):
        spent_job(bob, team, credits=1)
    alice_client.get(URL)
    response = alice_client.get(URL)
    # streaming every row is one query, whatever the month holds
    with django_assert_max_num_queries(1):
        assert len(rows(response)) == 1 + 2 + 40

"""The admins' spend dashboard: per member, per day, per operation and provider
for a chosen month, in a constant number of queries; and the pure helpers in
gallery/credits/spend.py that it is drawn with."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gallery.credits import spend as spend_module
from gallery.credits.spend import Month, day_chart, dollars, nice_ceiling, share
from gallery.models import CreditAccount, Membership, Role
from tests.conftest import add
from tests.factories import fund, local, spent_job

pytestmark = pytest.mark.db_sensitive
URL = "/t/acme/spend/"


def section(html: str, heading_id: str) -> str:
    """The HTML of the card whose heading has this id."""
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


@pytest.mark.django_db
def test_admins_see_spend_per_member_day_operation_and_provider(
    alice_client, alice, bob, team, funded
):
    spent_job(bob, team, credits=300, operation="mj-v7-upscale", provider="reapi")
    spent_job(bob, team, credits=200)
    spent_job(alice, team, credits=100, operation="mj-v7-upscale")
    response = alice_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<p class="stat-value" id="month-total">600</p>' in html
    assert "$0.60" in html

    members = section(html, "per-member-heading")
    assert members.index(">bob<") < members.index(">alice<")  # biggest spender first
    assert re.search(r">bob</th>.*?>500<", members, flags=re.S)
    assert 'width="100.00"' in members and 'width="20.00"' in members  # 100 is 20% of 500

    operations = section(html, "per-operation-heading")
    assert re.search(r">Upscale</th>.*?>400<.*?>2</td>", operations, flags=re.S)
    assert re.search(r">Generate</th>.*?>200<.*?>1</td>", operations, flags=re.S)
    assert "mj-v7" not in operations  # the catalog's words, not model ids
    providers = section(html, "per-provider-heading")
    assert re.search(r">evolink</th>.*?>300<", providers, flags=re.S)
    assert re.search(r">reapi</th>.*?>300<", providers, flags=re.S)


@pytest.mark.django_db
def test_spend_is_reservations_less_refunds(alice_client, bob, team, funded):
    spent_job(bob, team, credits=250)
    spent_job(bob, team, credits=999, outcome="refund")
    spent_job(bob, team, credits=40, outcome="running")  # reserved, so counted until refunded
    html = alice_client.get(URL).content.decode()
    assert '<p class="stat-value" id="month-total">290</p>' in html


@pytest.mark.django_db
def test_grants_and_adjustments_are_not_spend(alice_client, funded):
    html = alice_client.get(URL).content.decode()
    assert '<p class="stat-value" id="month-total">0</p>' in html
    assert "Nothing spent in" in html


@pytest.mark.django_db
def test_the_day_chart_has_one_column_per_day_and_bars_where_credits_went(
    alice_client, bob, team, funded
):
    spent_job(bob, team, credits=500, when=local(2025, 2, 3))
    spent_job(bob, team, credits=250, when=local(2025, 2, 20))
    html = alice_client.get(URL, {"month": "2025-02"}).content.decode()
    assert html.count('<g class="day') == 28
    assert html.count('<rect class="bar"') == 2
    assert 'class="x-axis days-28"' in html
    assert "Mon 3 Feb: 500 credits ($0.50)" in html
    assert '<p class="stat-value">Feb 3</p>' in html  # the busiest day
    # 500 is the top gridline, so its bar is full height and 250's is half
    assert 'height="100.00"' in html and 'height="50.00"' in html


@pytest.mark.django_db
def test_it_shows_the_chosen_month_only(alice_client, bob, team, funded):
    spent_job(bob, team, credits=700, when=local(2025, 1, 31, hour=23))
    spent_job(bob, team, credits=11)  # this month
    html = alice_client.get(URL, {"month": "2025-01"}).content.decode()
    assert "What Acme Studio spent in January 2025" in html
    assert '<p class="stat-value" id="month-total">700</p>' in html
    assert 'href="?month=2024-12"' in html and 'href="?month=2025-02"' in html
    assert 'href="/t/acme/spend.csv?month=2025-01"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("month", ["", "2025-13", "soon", "1999-01"])
def test_an_unusable_month_falls_back_to_this_month(alice_client, month):
    response = alice_client.get(URL, {"month": month})
    html = response.content.decode()
    assert f"spent in {Month.current().label}" in html
    assert response.status_code == (200 if month == "" else 400)
    assert (Month.RULE in html) == (month != "")
    assert 'rel="next"' not in html  # there is no next month to look at yet


@pytest.mark.django_db
def test_it_lists_each_member_with_balance_limit_and_actions(alice_client, bob, dave, team, funded):
    CreditAccount.objects.filter(pk=funded["bob"].pk).update(monthly_limit=2000, max_in_flight=2)
    spent_job(bob, team, credits=500)
    html = alice_client.get(URL).content.decode()
    bob_row = html[html.index('id="member-' + str(Membership.objects.get(user=bob).pk)) :]
    bob_row = bob_row[: bob_row.index("</li>")]
    assert '<dd class="mc-balance">9,500</dd>' in bob_row
    assert '500 <span class="muted">of 2,000</span>' in bob_row
    assert "<dd>2</dd>" in bob_row
    for button in ("Grant credits", "Adjust balance", "Save limits"):
        assert button in bob_row
    assert "dave" in html and "no limit" in html  # a viewer with no account yet
    assert "Save team limit" in html


@pytest.mark.django_db
def test_the_header_shows_the_admins_own_balance(alice_client, funded):
    html = alice_client.get(URL).content.decode()
    assert re.search(r'id="balance"[^>]*>\s*<strong>10000</strong> credits', html)


@pytest.mark.django_db
@pytest.mark.parametrize("client_name", ["bob_client", "dave_client"])
def test_members_and_viewers_are_refused(request, client_name, alice):
    assert request.getfixturevalue(client_name).get(URL).status_code == 403


@pytest.mark.django_db
def test_a_stranger_gets_404(carol_client, alice):
    assert carol_client.get(URL).status_code == 404


@pytest.mark.django_db
def test_an_admin_of_another_team_sees_only_their_own(carol_client, carol, bob, team, other_team):
    fund(bob, team, 1000)
    spent_job(bob, team, credits=100)
    html = carol_client.get("/t/other/spend/").content.decode()
    assert '<p class="stat-value" id="month-total">0</p>' in html
    assert ">bob<" not in html


@pytest.mark.django_db
def test_it_rejects_post(alice_client):
    assert alice_client.post(URL).status_code == 405


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(team):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def _grow_team(team, alice, size: int) -> None:
    """Members until the team has `size`, each with a grant and two jobs on two days."""
    while (n := Membership.objects.filter(team=team).count()) < size:
        user = User.objects.create(username=f"member{n:02d}")  # no password: hashing is slow
        add(team, user, Role.MEMBER)
        fund(user, team, 5000, by=alice)
        spent_job(user, team, credits=10 + n, operation="mj-v7-upscale", when=local(2025, 5, 1 + n))
        spent_job(user, team, credits=20, provider="vtrix", when=local(2025, 5, 2 + n))


@pytest.mark.django_db
def test_the_dashboard_costs_the_same_queries_for_2_and_20_members(alice, bob, team):
    fund(alice, team, 5000)
    spent_job(alice, team, credits=30, when=local(2025, 5, 9))
    client = Client()
    client.force_login(alice)
    counts = []
    for size in (2, 20):
        _grow_team(team, alice, size)
        client.get(URL, {"month": "2025-05"})  # settle the session
        with CaptureQueriesContext(connection) as queries:
            html = client.get(URL, {"month": "2025-05"}).content.decode()
        assert html.count('class="member-credit"') == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    # 9 reads (session, user, membership, this and the chosen month per member,
    # accounts, operation×provider, day, header teams) + get_membership's
    # session write (savepoint, update, release)
    assert counts[1] <= 12, counts


# --- the pure helpers -----------------------------------------------------------------


def test_a_month_parses_from_yyyy_mm_and_steps_across_years():
    assert Month.parse("2026-11") == Month(2026, 11)
    assert Month.parse(" 2026-01 ") == Month(2026, 1)
    for bad in ("2026-1", "2026-00", "2026-13", "26-11", "", None, "2026-11-01", "1999-12"):
        assert Month.parse(bad) is None, bad
    assert Month(2026, 1).previous == Month(2025, 12)
    assert Month(2026, 12).next == Month(2027, 1)
    assert str(Month(2026, 3)) == "2026-03"
    assert Month(2026, 2).days == 28 and Month(2028, 2).days == 29
    assert Month(2026, 11).label == "November 2026"
    assert Month(2026, 11).end == Month(2026, 12).start


def test_dollars_are_a_thousandth_of_a_credit_rounded_to_cents():
    assert dollars(0) == "$0.00"
    assert dollars(12_345) == "$12.35"
    assert dollars(1_234_567_890) == "$1,234,567.89"
    assert dollars(-500) == "-$0.50"


def test_share_is_a_clamped_percentage():
    assert share(50, 200) == 25.0
    assert share(300, 200) == 100.0
    assert share(-5, 200) == 0.0
    assert share(5, 0) == 0.0


@pytest.mark.parametrize(
    ("value", "top"),
    [
        (0, 10),
        (1, 1),
        (7, 10),
        (10, 10),
        (11, 20),
        (180, 200),
        (201, 250),
        (251, 500),
        (900, 1000),
        (1001, 2000),
        (123_456, 200_000),
    ],
)
def test_the_chart_top_is_a_round_number_at_or_above_the_biggest_day(value, top):
    assert nice_ceiling(value) == top


def test_day_chart_geometry_puts_one_slot_per_day_and_scales_to_the_top():
    days = [(date(2026, 11, d), credits) for d, credits in ((1, 0), (2, 400), (3, 2), (4, -30))]
    chart = day_chart(days)
    assert chart.top == 500 and chart.mid == 250
    assert chart.width == 40 and chart.height == 100
    empty, big, tiny, negative = chart.columns
    assert (big.x, big.y, big.width, big.height) == (11.5, 20.0, 7, 80.0)
    assert tiny.height == 1.0 and tiny.y == 99.0  # small but visible
    assert empty.height == negative.height == 0.0
    assert chart.busiest == big
    assert chart.total == 372
    assert chart.labels == ["1", "", "", "4"]


def test_an_empty_month_has_no_busiest_day():
    chart = day_chart([(date(2026, 2, d), 0) for d in range(1, 29)])
    assert chart.busiest is None and chart.top == 10
    assert chart.labels[0] == "1" and chart.labels[4] == "5" and chart.labels[-1] == "28"


def test_text_that_a_spreadsheet_would_run_is_quoted():
    assert spend_module._text_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert spend_module._text_cell("@SUM") == "'@SUM"
    assert spend_module._text_cell("mj-v7 · reserved") == "mj-v7 · reserved"

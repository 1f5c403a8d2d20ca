"""What the gallery page and its live refresh cost: queries that do not grow
with the team's jobs, an index for the page's order, and a refresh that sends
again only the cards that changed."""

from __future__ import annotations

import html as htmllib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import clear_script_prefix, reverse, set_script_prefix

from gallery.credits import ledger
from gallery.models import Collection, CollectionItem, Job, Star
from gallery.templatetags.cards import card_thumb, card_url
from tests.factories import many_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


def live_url(html: str) -> str:
    """The refresh request the page (or a refresh response) asks the browser to make next."""
    found = re.search(r'<div id="live"[^>]*hx-get="([^"]*)"', html)
    return htmllib.unescape(found.group(1))


def asked_about(url: str) -> list[int]:
    ids = parse_qs(urlsplit(url).query).get("ids", [""])[0]
    return sorted(int(pk) for pk in ids.split(",") if pk)


def cards(html: str) -> list[int]:
    return sorted(
        int(pk) for pk in re.findall(r'<article class="job-card[^"]*" id="job-(\d+)"', html)
    )


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_gallery_page_costs_the_same_queries_for_10_and_300_jobs(
    alice_client, alice, bob, carol, team, other_team
):
    many_jobs(team, [alice, bob], 10)
    alice_client.get("/t/acme/")  # the first visit also makes alice's credit account
    few = queries(alice_client, "/t/acme/")
    many_jobs(team, [alice, bob], 290)
    many_jobs(team, [bob], 5, private=True)
    many_jobs(team, [alice, bob], 12, status="running", progress=30, credits_charged=None)
    many_jobs(other_team, [carol], 50)
    Star.objects.bulk_create(
        Star(user=alice, job=job) for job in Job.objects.filter(team=team)[:20]
    )
    assert queries(alice_client, "/t/acme/") == few <= 12


def test_the_page_order_is_read_off_an_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Job._meta.db_table)
    columns = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["team_id", "created", "id"] in columns


def test_a_refresh_sends_only_the_cards_that_changed(alice_client, alice, team):
    flying = many_jobs(team, [alice], 6, status="running", progress=10, credits_charged=None)
    url = live_url(alice_client.get("/t/acme/").content.decode())
    html = alice_client.get(url).content.decode()
    assert cards(html) == []  # nothing moved: no card is sent again
    assert live_url(html) == url  # and the next refresh still asks about all six

    Job.objects.filter(pk=flying[0].pk).update(progress=55)
    Job.objects.filter(pk=flying[1].pk).update(status="completed", credits_charged=79)
    html = alice_client.get(url).content.decode()
    assert cards(html) == [flying[1].pk]  # its status changed: the whole card
    assert "status-completed" in html
    # Only the progress moved: a new bar for the card the page has, no card.
    bar = f'<progress id="progress-{flying[0].pk}" max="100" value="55" aria-label="Progress"'
    assert f'{bar} hx-swap-oob="true">55%</progress>' in html
    following = live_url(html)
    assert asked_about(following) == sorted(job.pk for job in flying if job != flying[1])
    assert cards(alice_client.get(following).content.decode()) == []


def test_after_generate_the_refresh_sends_the_cards_the_page_drew_before(
    alice_client, alice, team, no_queue
):
    ledger.grant(account=ledger.account_for(alice.memberships.get()), amount=1000, by=alice)
    (earlier,) = many_jobs(team, [alice], 1, status="queued", progress=0, credits_charged=None)
    alice_client.get("/t/acme/")  # the page draws it queued
    Job.objects.filter(pk=earlier.pk).update(status="running", progress=30)
    data = {"prompt": "a fox", "speed": "fast", "client_request_id": "r1"}
    created = alice_client.post("/t/acme/jobs/", data, headers={"HX-Request": "true"})
    html = alice_client.get(live_url(created.content.decode())).content.decode()
    assert earlier.pk in cards(html) and 'value="30"' in html


def test_a_refresh_without_stamps_sends_every_card_asked_about(alice_client, alice, team):
    flying = many_jobs(team, [alice], 4, status="queued", progress=0, credits_charged=None)
    ids = ",".join(str(job.pk) for job in flying)
    html = alice_client.get(f"/t/acme/live/?ids={ids}&after={flying[-1].pk}").content.decode()
    assert cards(html) == [job.pk for job in flying]


def test_an_ingesting_card_is_always_sent_again(alice_client, alice, team):
    (job,) = many_jobs(team, [alice], 1, status="ingesting", progress=100, credits_charged=None)
    url = live_url(alice_client.get("/t/acme/").content.decode())
    assert cards(alice_client.get(url).content.decode()) == [job.pk]  # its images may have come


def test_a_quiet_refresh_costs_the_same_queries_for_1_and_40_jobs_in_flight(
    alice_client, alice, bob, team
):
    def count(n: int) -> int:
        Job.objects.all().delete()
        many_jobs(team, [alice, bob], n, status="running", progress=20, credits_charged=None)
        url = live_url(alice_client.get("/t/acme/").content.decode())
        assert cards(alice_client.get(url).content.decode()) == []
        return queries(alice_client, url)

    count(1)  # the first request also makes alice's credit account
    assert count(1) == count(40) <= 6


def test_stamps_cannot_reveal_a_hidden_job(alice_client, bob, team):
    (secret,) = many_jobs(team, [bob], 1, status="running", progress=5, private=True)
    html = alice_client.get(f"/t/acme/live/?ids={secret.pk}&seen=r5&after=0").content.decode()
    assert asked_about(live_url(html)) == [] and cards(html) == []


@pytest.mark.parametrize(
    ("query", "status"),
    [("ids=%C2%B2&after=1", 400), ("ids=1&after=%C2%B2", 400), ("ids=,,&seen=r1,r2", 200)],
)
def test_odd_refresh_parameters_are_refused_and_empty_ones_ignored(alice_client, query, status):
    # A superscript two is no job number, and no page sends one: refused, not guessed at.
    assert alice_client.get(f"/t/acme/live/?{query}").status_code == status


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("image", ["acme", 12]),
        ("job-detail", ["team-2_b", 9_000_001]),
        ("star-job", ["acme", 1]),
        ("media", ["thumbs/ab/0f3e.webp"]),
        ("media", ["thumbs/a b/ü%20{x}?#&;=.webp"]),
        ("live", ["acme"]),
    ],
)
@pytest.mark.parametrize("prefix", ["/", "/sub dir/"])
def test_card_url_gives_what_url_gives(name, args, prefix):
    set_script_prefix(prefix)
    try:
        assert card_url(name, *args) == reverse(name, args=args)
    finally:
        clear_script_prefix()


@pytest.mark.parametrize(
    ("name", "alt"),
    [("thumbs/ab/0f3e.webp", "a lighthouse"), ("thumbs/a b&c/ü'x\".webp", 'a "fox" <b> & co')],
)
@pytest.mark.parametrize(("width", "height"), [(1456, 816), (None, None)])
def test_card_thumb_writes_what_the_template_wrote(alice, team, name, alt, width, height):
    (job,) = many_jobs(team, [alice], 1)
    image = job.images.get(index=2)
    image.thumbnail.name, image.width, image.height = name, width, height
    written = Template(
        "{% with size=image.thumb_size %}"
        '<a href="{% url \'image\' slug image.pk %}" class="thumb-link">'
        '<img src="{% url \'media\' image.thumbnail.name %}" width="{{ size.0 }}"'
        ' height="{{ size.1 }}" loading="lazy" decoding="async"'
        ' alt="Image {{ image.index|add:1 }} of “{{ alt }}”"></a>{% endwith %}'
    ).render(Context({"image": image, "slug": "acme", "alt": alt}))
    assert card_thumb(image, "acme", alt) == written


def deep_page_url(team, page: int, *, htmx_query: str = "") -> str:
    """The address "Load older jobs" leads to at page `page` (1 is the newest)."""
    from gallery.studio.views.jobs import PAGE_SIZE, cursor_of

    last_of_previous = Job.objects.filter(team=team)[(page - 1) * PAGE_SIZE - 1]
    return f"/t/acme/?{htmx_query}before={cursor_of(last_of_previous)}"


def test_a_deep_page_costs_the_same_queries_as_the_first(alice_client, alice, bob, team):
    many_jobs(team, [alice, bob], 500)
    Star.objects.bulk_create(Star(user=alice, job=job) for job in Job.objects.all()[::7])
    alice_client.get("/t/acme/")  # the first visit also makes alice's credit account
    deep = deep_page_url(team, 11)
    assert len(cards(alice_client.get(deep).content.decode())) == 20  # 500 = 10 × 48 + 20
    assert queries(alice_client, "/t/acme/") == queries(alice_client, deep) <= 12
    # Scrolling: the cards of page 2 and of page 11 cost the same, and less than a page.
    scrolled = [
        CaptureQueriesContext(connection) for _ in range(2)
    ]  # fmt: skip
    for ctx, url in zip(scrolled, [deep_page_url(team, 2), deep], strict=True):
        with ctx:
            assert alice_client.get(url, headers={"HX-Request": "true"}).status_code == 200
    assert len(scrolled[0]) == len(scrolled[1]) <= queries(alice_client, deep)


def test_a_deep_page_is_read_off_the_index_without_offset(alice_client, alice, team):
    many_jobs(team, [alice], 300)
    url = deep_page_url(team, 5)
    with CaptureQueriesContext(connection) as ctx:
        assert alice_client.get(url).status_code == 200
    # The page's query; the create panel's look-up of the member's last project
    # reads one job in a subquery of its own.
    (page_sql,) = [
        q["sql"]
        for q in ctx.captured_queries
        if 'FROM "gallery_job"' in q["sql"] and '"gallery_project"' not in q["sql"]
    ]
    assert "OFFSET" not in page_sql.upper()
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:  # the logged SQL has its values written in
        plan = " | ".join(row[-1] for row in cursor.execute(f"EXPLAIN QUERY PLAN {page_sql}"))
    # The walk starts at the cursor in the gallery's own index, and needs no sort.
    assert "job_team_newest_first (team_id=? AND created<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


def test_a_collection_page_costs_the_same_queries_for_2_and_30_jobs_and_draws_card_shapes(
    alice_client, alice, bob, team
):
    board = Collection.objects.create(team=team, owner=alice, name="Moodboard")

    def collect(jobs):
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=board, job=job, added_by=alice) for job in jobs
        )

    collect(many_jobs(team, [alice, bob], 2))
    url = f"/t/acme/collections/{board.pk}/"
    alice_client.get(url)  # the first visit also makes alice's credit account
    few = queries(alice_client, url)
    collect(many_jobs(team, [alice, bob], 28))
    assert queries(alice_client, url) == few
    html = alice_client.get(url).content.decode()
    # 1024×768 pictures, two by two: the card is as wide as 4:3, never cropped square
    assert len(re.findall(r'<article class="job-card r125 status-completed"', html)) == 30
    assert html.count('class="thumbs layout-grid cells-4"') == 30

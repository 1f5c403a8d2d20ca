"""What the gallery page costs: queries that do not grow with the team's
jobs, and an index for the page's order. (Its live updates' cost is
tests/live's.)"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext
from django.urls import clear_script_prefix, reverse, set_script_prefix

from gallery.models import Collection, CollectionItem, Job, Star
from gallery.templatetags.cards import card_thumb, card_url
from tests.factories import many_jobs

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_queue(monkeypatch):
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)


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
    assert queries(alice_client, "/t/acme/") == few <= 8  # DESIGN §6


def test_the_page_order_is_read_off_an_index():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Job._meta.db_table)
    columns = [c["columns"] for c in constraints.values() if c["index"]]
    assert ["team_id", "created", "id"] in columns


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("image", ["acme", 12]),
        ("job-detail", ["team-2_b", 9_000_001]),
        ("star-job", ["acme", 1]),
        ("media", ["thumbs/ab/0f3e.webp"]),
        ("media", ["thumbs/a b/ü%20{x}?#&;=.webp"]),
        ("live-poll", ["acme"]),
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
    assert queries(alice_client, "/t/acme/") == queries(alice_client, deep) <= 8
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

"""Every job reachable: the gallery pages by (created, id), newest first, with
a cursor in the URL that keeps the filters; with htmx the next page's cards
are appended as the member scrolls, without it "Load older jobs" is a link."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from gallery.models import Job
from gallery.studio.views.jobs import PAGE_SIZE
from tests.factories import many_jobs

pytestmark = pytest.mark.django_db

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HTMX = {"HX-Request": "true"}


def make_jobs(team, users, n, *, prompt: str = "job {n}", **options) -> list[Job]:
    """n jobs a minute apart from START (or all in one instant), older first,
    finished unless told otherwise; no images."""
    return many_jobs(team, users, n, images=False, start=START, prompt=prompt, **options)


def newest_first(jobs) -> list[int]:
    return [job.pk for job in sorted(jobs, key=lambda j: (j.created, j.pk), reverse=True)]


def cards(html: str) -> list[int]:
    """The cards of a page or fragment, in the page's order."""
    return [int(pk) for pk in re.findall(r'<article class="job-card[^"]*" id="job-(\d+)"', html)]


def older_link(html: str) -> str | None:
    found = re.search(r'<a [^>]*href="([^"]*)"[^>]*>Load older jobs</a>', html)
    return htmllib.unescape(found.group(1)) if found else None


def walk(client, url: str, **headers) -> tuple[list[int], list[str]]:
    """Every card from `url` on, following "Load older jobs"; and each page's HTML."""
    seen, pages = [], []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.content[-500:]
        html = response.content.decode()
        seen += cards(html)
        pages.append(html)
        url = older_link(html)
        assert len(pages) < 50, "the pages never end"
    return seen, pages


def test_following_load_older_reaches_every_job_once_newest_first(alice_client, alice, bob, team):
    jobs = make_jobs(team, [alice, bob], 2 * PAGE_SIZE + 14)
    seen, pages = walk(alice_client, "/t/acme/")
    assert seen == newest_first(jobs)
    assert [len(cards(html)) for html in pages] == [PAGE_SIZE, PAGE_SIZE, 14]
    assert "That's everything" in pages[-1]
    assert all("That's everything" not in html for html in pages[:-1])


def test_jobs_made_in_the_same_instant_are_neither_skipped_nor_repeated(alice_client, alice, team):
    jobs = make_jobs(team, [alice], PAGE_SIZE + 5, same_instant=True)
    seen, _ = walk(alice_client, "/t/acme/")
    assert seen == newest_first(jobs)  # ties broken by job number, as the index orders them


def test_the_cursor_names_the_last_card_so_the_url_can_be_kept(alice_client, alice, team):
    make_jobs(team, [alice], PAGE_SIZE + 3)
    html = alice_client.get("/t/acme/").content.decode()
    before = parse_qs(urlsplit(older_link(html)).query)["before"][0]
    micros, pk = before.split("-")
    last = Job.objects.get(pk=cards(html)[-1])
    assert int(pk) == last.pk
    assert datetime.fromtimestamp(0, UTC) + timedelta(microseconds=int(micros)) == last.created


def test_scrolling_gets_only_the_cards_and_the_next_sentinel(alice_client, alice, team):
    jobs = make_jobs(team, [alice], 2 * PAGE_SIZE + 1)
    first = alice_client.get("/t/acme/").content.decode()
    assert 'hx-trigger="revealed' in first and 'id="load-older"' in first
    fragment = alice_client.get(older_link(first), headers=HTMX)
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "<html" not in html and "Filter the gallery" not in html
    assert 'id="live-stream"' not in html
    assert cards(html) == newest_first(jobs)[PAGE_SIZE : 2 * PAGE_SIZE]
    # The sentinel swaps itself for the next page: it is the fragment's last element.
    assert html.rstrip().endswith("</div>") and html.count('id="load-older"') == 1
    last = alice_client.get(older_link(html), headers=HTMX).content.decode()
    assert cards(last) == newest_first(jobs)[-1:]
    assert "That's everything" in last and older_link(last) is None


def test_without_javascript_an_older_page_is_a_whole_page(alice_client, alice, team):
    make_jobs(team, [alice], PAGE_SIZE + 2)
    html = alice_client.get(older_link(alice_client.get("/t/acme/").content.decode())).content
    html = html.decode()
    assert "<html" in html and 'aria-label="Team"' in html and "Filter the gallery" in html
    assert len(cards(html)) == 2
    assert 'href="/t/acme/"' in html and "Newest jobs" in html


def test_filters_and_search_are_kept_across_pages(alice_client, alice, bob, team):
    foxes = make_jobs(team, [bob], PAGE_SIZE + 4, prompt="a red fox")
    make_jobs(team, [alice], 30, first=200, prompt="a red fox")  # alice's: not bob's
    make_jobs(team, [bob], 30, first=300, prompt="a lighthouse")  # bob's: no fox
    seen, pages = walk(alice_client, "/t/acme/?who=bob&q=fox")
    assert seen == newest_first(foxes)
    query = parse_qs(urlsplit(older_link(pages[0])).query)
    assert query["who"] == ["bob"] and query["q"] == ["fox"]
    # The same with htmx: the appended cards keep the filters too.
    fragment = alice_client.get(older_link(pages[0]), headers=HTMX).content.decode()
    assert cards(fragment) == newest_first(foxes)[PAGE_SIZE:]


def test_another_teams_jobs_never_appear_on_any_page(alice_client, alice, carol, team, other_team):
    ours = make_jobs(team, [alice], PAGE_SIZE + 10)
    theirs = make_jobs(other_team, [carol], PAGE_SIZE + 10)  # the same instants, interleaved ids
    seen, _ = walk(alice_client, "/t/acme/")
    assert seen == newest_first(ours)
    # A cursor made from another team's job still pages only this team's jobs.
    stranger = theirs[30]
    micros = (stranger.created - datetime.fromtimestamp(0, UTC)) // timedelta(microseconds=1)
    html = alice_client.get(f"/t/acme/?before={micros}-{stranger.pk}").content.decode()
    assert set(cards(html)) <= {job.pk for job in ours} and cards(html)


def test_private_jobs_of_others_never_appear_on_any_page(alice_client, alice, bob, team):
    shared = make_jobs(team, [alice, bob], PAGE_SIZE + 6)
    secret = make_jobs(team, [bob], 20, first=10, private=True)
    own = make_jobs(team, [alice], 5, first=20, private=True)
    seen, _ = walk(alice_client, "/t/acme/")
    assert seen == newest_first(shared + own)
    assert not set(seen) & {job.pk for job in secret}


@pytest.mark.parametrize(
    "before",
    [
        "abc",
        "12",
        "1-2-3",
        "%C2%B2-1",  # a superscript two is no digit
        "1796313058123456-0",  # no job number 0
        "1796313058123456-99999999999999999999",
        "-5-1",
        "999999999999999999-1",  # the year 33658
        "1796313058123456.5-1",
        "",
    ],
)
def test_a_bad_cursor_is_refused_in_place(alice_client, alice, team, before):
    make_jobs(team, [alice], 3)
    if not before:  # an empty cursor is no cursor: the newest page
        assert alice_client.get("/t/acme/?before=").status_code == 200
        return
    page = alice_client.get(f"/t/acme/?before={before}")
    html = page.content.decode()
    assert page.status_code == 400
    assert 'aria-label="Team"' in html and "Filter the gallery" in html  # the page stays whole
    assert "The page position (before) must be" in html and 'role="alert"' in html
    assert cards(html) == []
    fragment = alice_client.get(f"/t/acme/?before={before}", headers=HTMX)
    assert fragment.status_code == 400
    text = fragment.content.decode()
    assert "<html" not in text and "The page position (before) must be" in text
    assert 'id="load-older"' in text and 'role="alert"' in text  # in the sentinel's place


def test_the_end_of_a_full_page_says_so_without_an_empty_load(alice_client, alice, team):
    make_jobs(team, [alice], PAGE_SIZE)
    html = alice_client.get("/t/acme/").content.decode()
    assert len(cards(html)) == PAGE_SIZE
    assert older_link(html) is None and "That's everything" in html


def test_an_empty_gallery_shows_its_empty_state_and_no_end(alice_client):
    html = alice_client.get("/t/acme/").content.decode()
    assert "No images yet" in html and "That's everything" not in html and older_link(html) is None


def test_a_cursor_past_the_oldest_job_is_the_end_not_an_error(alice_client, alice, team):
    (oldest,) = make_jobs(team, [alice], 1)
    micros = (oldest.created - datetime.fromtimestamp(0, UTC)) // timedelta(microseconds=1)
    fragment = alice_client.get(f"/t/acme/?before={micros}-{oldest.pk}", headers=HTMX)
    assert fragment.status_code == 200 and cards(fragment.content.decode()) == []
    assert "That's everything" in fragment.content.decode()


def asked_about(url: str) -> list[int]:
    return [int(pk) for pk in parse_qs(urlsplit(url).query).get("ids", [""])[0].split(",") if pk]

"""Download ZIP in Chromium: a selection from the gallery's selection bar and a
collection from its page each save a ZIP whose files match its manifest; a
large one goes to its own page, which shows progress, then the download."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from gallery.models import Collection, CollectionItem, Export
from gallery.studio import exports
from tests.browser.axe import assert_accessible
from tests.browser.test_organise_flow import sign_in
from tests.factories import finished_job

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def saved_zip(download, tmp_path: Path) -> zipfile.ZipFile:
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    archive = zipfile.ZipFile(target)
    rows = json.loads(archive.read("manifest.json"))
    for row in rows:
        assert hashlib.sha256(archive.read(row["file"])).hexdigest() == row["sha256"]
    return archive


def pictures(archive: zipfile.ZipFile) -> list[str]:
    return sorted(n for n in archive.namelist() if not n.startswith("manifest."))


@pytest.mark.parametrize("width", [1280, 390])
def test_download_zip_of_a_selection(page: Page, live_server, alice, bob, team, tmp_path, width):
    fox = finished_job(alice, team, images=2, prompt="a red fox in snow --ar 3:2")
    whale = finished_job(bob, team, images=1, prompt="a blue whale")
    finished_job(alice, team, images=1, prompt="not selected")
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, live_server.url)
    page.locator(f"#job-{fox.pk} .select-job").click()
    page.locator(f"#job-{whale.pk} .select-job").click()
    button = page.get_by_role("button", name="Download ZIP", exact=True)
    expect(button).to_be_visible()
    assert_accessible(page, f"the selection bar with Download ZIP at {width}")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"export-selection-{width}.png")
    with page.expect_download() as done:
        button.click()
    download = done.value
    assert download.suggested_filename == "acme-2-selected-jobs.zip"
    assert pictures(saved_zip(download, tmp_path)) == sorted(
        [
            f"{fox.pk:04d}-a-red-fox-in-snow-1.png",
            f"{fox.pk:04d}-a-red-fox-in-snow-2.png",
            f"{whale.pk:04d}-a-blue-whale-1.png",
        ]
    )


def test_download_zip_of_a_collection(page: Page, live_server, alice, bob, team, tmp_path):
    board = Collection.objects.create(team=team, owner=alice, name="Client review")
    shown = finished_job(alice, team, images=2, prompt="a lighthouse")
    hidden = finished_job(bob, team, images=1, prompt="bobs private", private=True)
    for job in (shown, hidden):
        CollectionItem.objects.create(collection=board, job=job, added_by=alice)
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/collections/{board.pk}/")
    button = page.get_by_role("button", name="Download ZIP of Client review")
    assert_accessible(page, "a collection with Download ZIP")
    with page.expect_download() as done:
        button.click()
    archive = saved_zip(done.value, tmp_path)
    assert done.value.suggested_filename == "acme-client-review.zip"
    assert pictures(archive) == [
        f"{shown.pk:04d}-a-lighthouse-1.png",
        f"{shown.pk:04d}-a-lighthouse-2.png",
    ]


def test_a_large_export_shows_its_progress_then_downloads(
    page: Page, live_server, alice, team, settings, tmp_path
):
    settings.MJWEB_EXPORT_STREAM_MAX = 1
    finished_job(alice, team, images=2, prompt="a fox in the snow")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/t/acme/?q=fox")
    page.get_by_role("button", name="Download ZIP of the jobs these filters show").click()
    expect(page.get_by_role("heading", name="Download: Search for fox")).to_be_visible()
    expect(page.locator("#export-status")).to_contain_text("0 of 2 images")
    assert_accessible(page, "an export being built")
    exports.build(Export.objects.get().pk)  # what the worker does; the page polls
    link = page.get_by_role("link", name="Download ZIP")
    expect(link).to_be_visible(timeout=10_000)
    page.screenshot(path=ARTIFACTS / "export-ready.png")
    with page.expect_download() as done:
        link.click()
    assert len(pictures(saved_zip(done.value, tmp_path))) == 2

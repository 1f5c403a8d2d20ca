"""As a team admin would: delete a job, find it in the trash, restore it,
delete it again and purge it (its files leave storage); then change bob's
role and remove a member, reading first what happens to their credits."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from playwright.sync_api import Page, expect

from gallery.credits import ledger
from gallery.models import Job, Membership
from tests.browser.axe import assert_accessible
from tests.browser.page_waits import wait_until
from tests.browser.test_organise_flow import sign_in
from tests.factories import finished_job

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page: Page, name: str) -> None:
    """The page at desktop and phone width, then back to desktop."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height, label in ((1280, 800, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=ARTIFACTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})


def test_trash_restore_purge_role_change_and_removal(
    page: Page, live_server, alice, bob, dave, team
):
    base = live_server.url
    job = finished_job(alice, team, images=2)
    Job.objects.filter(pk=job.pk).update(prompt="a lighthouse at dusk --ar 1:1")
    older = finished_job(bob, team, images=1)
    Job.objects.filter(pk=older.pk).update(prompt="a red fox in snow", deleted_at=timezone.now())
    files = {n for i in job.images.all() for n in (i.original.name, i.thumbnail.name)}
    bobs = Membership.objects.get(user=bob, team=team)
    ledger.grant(account=ledger.account_for(bobs), amount=1200, by=alice)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.on("dialog", lambda dialog: dialog.accept())  # "Delete forever?" is confirmed
    sign_in(page, base)

    # Delete from the job page, then find it in the trash from the gallery.
    page.goto(f"{base}/t/acme/jobs/{job.pk}/")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("This job was deleted")).to_be_visible()
    page.goto(f"{base}/t/acme/")
    page.get_by_role("link", name="Trash", exact=True).click()
    row = page.locator(f"#trash-{job.pk}")
    expect(row).to_contain_text("a lighthouse at dusk")
    expect(page.locator(f"#trash-{older.pk}")).to_contain_text("bob")  # an admin sees the team's
    wait_until(
        page, "[...document.querySelectorAll('img.trash-thumb')].every(i => i.naturalWidth > 0)"
    )
    assert_accessible(page, "trash")
    shoot(page, "trash")

    row.get_by_role("button", name="Restore").click()
    expect(row).to_contain_text("Restored")
    assert Job.objects.get(pk=job.pk).deleted_at is None

    # Deleted again, and this time for good: the files leave storage.
    page.goto(f"{base}/t/acme/jobs/{job.pk}/")
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("This job was deleted")).to_be_visible()
    page.goto(f"{base}/t/acme/trash/")
    page.locator(f"#trash-{job.pk}").get_by_role("button", name="Delete forever").click()
    expect(page.locator(f"#trash-{job.pk}")).to_contain_text("Deleted forever")
    assert files and not any(default_storage.exists(name) for name in files)
    assert Job.objects.get(pk=job.pk).deleted_at is not None  # the row stays for the ledger
    page.reload()
    expect(page.locator(f"#trash-{job.pk}")).to_have_count(0)

    # bob becomes a viewer.
    page.get_by_role("link", name="Members").click()
    bob_row = page.locator(f"#member-{bobs.pk}")
    bob_row.get_by_label("Role of bob").select_option("viewer")
    bob_row.get_by_role("button", name="Change role").click()
    expect(page.locator("#members .notice")).to_contain_text("bob is now Viewer")
    assert Membership.objects.get(pk=bobs.pk).role == "viewer"

    # Demoting herself, the last admin, is refused where she acted.
    alices = Membership.objects.get(user=alice, team=team)
    alice_row = page.locator(f"#member-{alices.pk}")
    alice_row.get_by_label("Role of alice").select_option("member")
    alice_row.get_by_role("button", name="Change role").click()
    expect(page.locator(f"#member-{alices.pk}")).to_contain_text("last admin")
    expect(page.locator("header.topbar")).to_be_visible()

    # Removing bob: the page says first what happens to his 1,200 credits.
    bob_row = page.locator(f"#member-{bobs.pk}")
    bob_row.get_by_text("Remove…").click()
    expect(bob_row).to_contain_text(
        "bob has 1,200 credits; they stay in bob's account and come back if bob rejoins."
    )
    assert_accessible(page, "members")
    shoot(page, "members-confirm")
    bob_row.get_by_role("button", name="Remove bob").click()
    expect(page.get_by_role("heading", name="Former members")).to_be_visible()
    expect(page.locator(".former-list")).to_contain_text("bob")
    assert Membership.objects.get(pk=bobs.pk).removed_at is not None
    page.reload()
    assert_accessible(page, "members after removal")
    shoot(page, "members")

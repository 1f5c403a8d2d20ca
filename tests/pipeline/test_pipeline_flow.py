"""A job goes from a request to stored images through the simulator over HTTP."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image as PILImage

from gallery.catalog.operations import Request
from gallery.models import CreditAccount, Job, Membership
from gallery.studio import pipeline
from tests.pipeline.conftest import control, run_until, run_until_final

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


def create(alice, team, prompt="a lighthouse at dusk --ar 16:9", provider="evolink", **kw):
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(operation="mj-v7", provider=provider, prompt=prompt, speed="fast", **kw)
    return pipeline.create(membership, pipeline.Draft(request=request, prompt_raw=prompt))


def assert_ledger_clean():
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


@pytest.mark.parametrize("provider", ["evolink", "reapi", "vtrix"])
def test_a_prompt_becomes_four_stored_images_with_thumbnails(sim, funded, alice, team, provider):
    job = create(alice, team, provider=provider)
    assert job.status == "queued" and job.credits_reserved > 0
    job = run_until_final(job)
    assert job.status == "completed", job.error_message
    images = list(job.images.order_by("index"))
    assert [i.status for i in images] == ["stored"] * 4
    for image in images:
        with default_storage.open(image.original.name) as fh:
            original = PILImage.open(fh)
            assert original.size == (image.width, image.height)
            assert abs(original.width / original.height - 16 / 9) < 0.02
        with default_storage.open(image.thumbnail.name) as fh:
            thumb = PILImage.open(fh)
            assert thumb.format == "WEBP" and max(thumb.size) <= 512
    assert len({i.sha256 for i in images}) == 4
    assert job.credits_charged == job.credits_reserved
    assert CreditAccount.objects.get(pk=funded.pk).balance == 5000 - job.credits_charged
    assert_ledger_clean()


def test_an_upscale_of_a_stored_image_makes_one_larger_image(sim, funded, alice, team):
    parent_job = run_until_final(create(alice, team))
    parent = parent_job.images.get(index=2)
    membership = Membership.objects.get(user=alice, team=team)
    request = Request(
        operation="mj-v7-upscale",
        provider="evolink",
        parent_task_id=parent_job.upstream_id,
        image_number=2,
        params={"type": "creative"},
    )
    job = pipeline.create(membership, pipeline.Draft(request=request, parent=parent))
    job = run_until_final(job)
    assert job.status == "completed", job.error_message
    (image,) = job.images.all()
    assert (image.width, image.height) == (parent.width * 2, parent.height * 2)
    sent = control(sim, "/_sim/requests?dialect=evolink&limit=1000")
    bodies = [r["body"] for r in sent["requests"] if r["method"] == "POST" and r.get("body")]
    upscale = [b for b in bodies if b.get("model") == "mj-v7-upscale"][-1]
    assert upscale["model_params"] == {
        "task_id": parent_job.upstream_id,
        "image_number": 2,
        "type": "creative",
    }
    assert_ledger_clean()


def test_an_upstream_failure_fails_the_job_and_refunds_it(sim, funded, alice, team):
    job = run_until_final(create(alice, team, prompt="a cat [sim:fail]"))
    assert job.status == "failed"
    assert job.error_message
    assert job.entries.get(kind="refund").amount == job.credits_reserved
    assert CreditAccount.objects.get(pk=funded.pk).balance == 5000
    assert_ledger_clean()


def test_moderation_keeps_fewer_images_and_charges_in_full(sim, funded, alice, team):
    job = run_until_final(create(alice, team, prompt="a cat [sim:images=2]"))
    assert job.status == "completed"
    assert job.images.filter(status="stored").count() == 2
    assert job.credits_charged == job.credits_reserved
    assert_ledger_clean()


def test_a_refused_request_is_not_sent_or_charged(sim, funded, alice, team):
    with pytest.raises(pipeline.Refused) as refused:
        create(alice, team, prompt="a cat --s 5000")
    assert "--s must be between 0 and 1000" in refused.value.message
    assert not Job.objects.exists()
    assert CreditAccount.objects.get(pk=funded.pk).balance == 5000


def test_without_credits_nothing_is_created(sim, alice, team):
    with pytest.raises(pipeline.Refused) as refused:
        create(alice, team)
    assert refused.value.status == 402
    assert "you have 0" in refused.value.message
    assert not Job.objects.exists()


def test_a_fifth_job_past_the_in_flight_cap_is_accepted_and_waits(sim, funded, alice, team):
    for n in range(4):
        create(alice, team, prompt=f"a cat number {n}")
    fifth = create(alice, team, prompt="one too many")
    assert list(Job.objects.waiting()) == [fifth]
    assert fifth.entries.filter(kind="reserve").count() == 1


def test_an_api_job_with_a_callback_url_is_announced_when_it_ends(
    sim, funded, alice, team, monkeypatch, django_capture_on_commit_callbacks
):
    from gallery.models import ApiTask

    queued = []
    monkeypatch.setattr(
        "gallery.studio.pipeline.async_task", lambda name, pk, **kw: queued.append((name, pk))
    )
    with django_capture_on_commit_callbacks(execute=True):
        with_callback = create(alice, team, prompt="a heron")
        without = create(alice, team, prompt="a crane")
    ApiTask.objects.create(job=with_callback, callback_url="https://hooks.example.org/done")
    ApiTask.objects.create(job=without)
    with django_capture_on_commit_callbacks(execute=True):
        for job in (with_callback, without):
            run_until_final(job)
    announced = [pk for name, pk in queued if name == "gallery.tasks.deliver_callback"]
    assert announced == [with_callback.pk]


def test_the_submit_task_is_queued_in_the_jobs_transaction_and_rolls_back_with_it(
    funded, alice, team
):
    from django.db import transaction
    from django_q.models import OrmQ

    with pytest.raises(RuntimeError), transaction.atomic():
        job = create(alice, team, prompt="a heron")
        # Written with the job, not after the commit: visible to no worker yet.
        assert [q.task["args"] for q in OrmQ.objects.all()] == [(job.pk,)]
        raise RuntimeError("the request failed after create()")
    assert not Job.objects.exists() and not OrmQ.objects.exists()
    assert funded.entries.filter(kind="reserve").count() == 0


def test_with_a_redis_broker_the_task_is_queued_after_the_commit(
    funded, alice, team, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "redis": "redis://127.0.0.1:1/0"}
    queued = []
    monkeypatch.setattr(
        "gallery.studio.pipeline.async_task", lambda name, pk, **kw: queued.append((name, pk))
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = create(alice, team, prompt="a heron")
        assert queued == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert queued == [("gallery.tasks.submit_job", job.pk)]


def test_a_prompt_on_our_own_reference_url_is_sent_normalised(funded, alice, team, settings):
    settings.MJWEB_PUBLIC_URL = "http://127.0.0.1:8000"
    reference = "http://127.0.0.1:8000/p/tok/uploads/ab/abc.png"
    job = create(alice, team, prompt=f"{reference} a cat --fast --stylize 50")
    assert job.prompt == f"{reference} a cat --s 50"  # speed flag dropped, alias canonical


def test_a_grids_four_images_are_fetched_side_by_side(sim, funded, alice, team, monkeypatch):
    job = run_until(create(alice, team), [Job.Status.INGESTING])
    real_download = pipeline.images.download
    together = threading.Barrier(4, timeout=5)  # broken unless all four wait at once

    def download(url, **kw):
        together.wait()
        return real_download(url, **kw)

    monkeypatch.setattr(pipeline.images, "download", download)
    pipeline.ingest(job.pk)
    job.refresh_from_db()
    assert job.status == "completed"
    assert list(job.images.values_list("status", flat=True)) == ["stored"] * 4
    assert_ledger_clean()

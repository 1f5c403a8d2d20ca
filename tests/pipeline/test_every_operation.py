"""Every operation each provider offers, run on a stored parent (or a source
image) through the pipeline and the simulator over HTTP."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from gallery.catalog import operations
from gallery.catalog.operations import Request
from gallery.models import Job, Membership
from gallery.studio import pipeline
from tests.pipeline.conftest import run_until_final

pytestmark = pytest.mark.django_db

SOURCE = "https://images.example.com/source.png"  # the simulator draws a stand-in, never fetches it
AREA = {"areas": [{"width": 600, "height": 600, "points": [10, 10, 10, 500, 500, 500, 500, 10]}]}
EDITS = {
    "mj-v7-variation": {"params": {"type": "strong"}},
    "mj-v7-upscale": {"params": {"type": "standard"}},
    "mj-v7-remix": {"prompt": "the same scene in winter", "params": {"mode": "subtle"}},
    "mj-v7-enhance": {"draft_parent": True},
    "mj-v7-pan": {"params": {"direction": "left", "scale": 1.5}},
    "mj-v7-outpaint": {"params": {"scale": 2}},
    "mj-v7-inpaint": {"prompt": "a red boat", "params": {"mask": AREA}},
    "mj-v7-edit": {
        "prompt": "a wide beach",
        "params": {
            "canvas": {"width": 1024, "height": 1024},
            "img_pos": {"width": 512, "height": 512, "x": 256, "y": 256},
        },
    },
}
DIRECT = {
    "mj-v7-remove-bg": {},
    "mj-v7-retexture": {"prompt": "made of glass"},
    "mj-v7-upload-paint": {
        "prompt": "a garden",
        "params": {
            "mask": AREA,
            "canvas": {"width": 1024, "height": 1024},
            "img_pos": {"width": 1024, "height": 1024, "x": 0, "y": 0},
        },
    },
}
CASES = [
    (provider, op)
    for provider in ("evolink", "reapi", "vtrix")
    for op in [*EDITS, *DIRECT]
    if operations.supports(provider, op)
]


@pytest.fixture
def member(funded, alice, team):
    from gallery.models import CreditAccount

    CreditAccount.objects.filter(pk=funded.pk).update(max_in_flight=10)
    return Membership.objects.get(user=alice, team=team)


def make_parent(member, provider: str, *, draft: bool) -> Job:
    request = Request(
        operation="mj-v7",
        provider=provider,
        prompt="a harbour at dawn --ar 4:3",
        speed="draft" if draft else "fast",
    )
    job = run_until_final(pipeline.create(member, pipeline.Draft(request=request)))
    assert job.status == "completed", job.error_message
    return job


@pytest.mark.parametrize(("provider", "operation"), CASES)
def test_each_operation_completes_with_stored_images(sim, member, provider, operation):
    spec = {**EDITS, **DIRECT}[operation]
    parent = None
    if operation in EDITS:
        parent_job = make_parent(member, provider, draft=spec.get("draft_parent", False))
        parent = parent_job.images.get(index=1)
    request = Request(
        operation=operation,
        provider=provider,
        prompt=spec.get("prompt", ""),
        parent_task_id=parent.job.upstream_id if parent else None,
        image_number=1 if parent else None,
        image_urls=(SOURCE,) if operation in DIRECT else (),
        params=spec.get("params", {}),
    )
    job = pipeline.create(member, pipeline.Draft(request=request, parent=parent))
    job = run_until_final(job)
    assert job.status == "completed", f"{provider} {operation}: {job.error_message}"
    stored = job.images.filter(status="stored")
    single = operation in ("mj-v7-upscale", "mj-v7-remove-bg")
    assert stored.count() == (1 if single else 4)
    if operation == "mj-v7-upscale":
        assert stored.get().width == parent.width * 2
    if operation == "mj-v7-pan":
        assert stored.first().width > parent.width  # extended to the left
    assert job.parent == parent
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


def test_an_edit_on_another_providers_parent_is_refused(sim, member):
    parent = make_parent(member, "evolink", draft=False).images.first()
    request = Request(
        operation="mj-v7-upscale",
        provider="reapi",
        parent_task_id=parent.job.upstream_id,
        image_number=0,
    )
    with pytest.raises(pipeline.Refused, match="evolink"):
        pipeline.create(member, pipeline.Draft(request=request, parent=parent))


def test_enhance_needs_a_draft_parent(sim, member):
    parent = make_parent(member, "evolink", draft=False).images.first()
    request = Request(
        operation="mj-v7-enhance",
        provider="evolink",
        parent_task_id=parent.job.upstream_id,
        image_number=0,
    )
    with pytest.raises(pipeline.Refused) as refused:
        pipeline.create(member, pipeline.Draft(request=request, parent=parent))
    assert refused.value.issues[0].code == "parent_not_draft"

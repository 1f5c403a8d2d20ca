"""Fill `Job.title` and `Job.root_prompt` (added by 0010) for jobs made before them.

The titles come from a frozen copy of `gallery.catalog.operations.title` as it was
when this migration was written, not from an import of it: a migration must
give the same result, and keep importing, however the app's code is renamed or
reworded later (Django's rule for historical models, applied to the one
function this migration needs). tests/gallery/test_job_titles.py checks the
copy against the catalog's titles of today.

Jobs are walked in creation order (created, id) in keyset batches, so a
parent's root prompt is filled before its edits are reached and the table is
never read whole; each batch is one bulk UPDATE, on SQLite and PostgreSQL
alike. Rows that already have a title or root prompt are left as they are
(jobs made by the new pipeline while this runs). A retexture or background
removal whose only link to its source is a signed URL gets its own prompt as
root (usually none): resolving those URLs needs the app's URLconf.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.db import migrations
from django.db.models import Q

BATCH = 500

_LABELS = {
    "mj-v7-variation": "Vary",
    "mj-v7-upscale": "Upscale",
    "mj-v7-remix": "Remix",
    "mj-v7-enhance": "Enhance",
    "mj-v7-pan": "Pan",
    "mj-v7-outpaint": "Zoom out",
    "mj-v7-inpaint": "Vary region",
    "mj-v7-edit": "Edit",
    "mj-v7-remove-bg": "Remove background",
    "mj-v7-retexture": "Retexture",
    "mj-v7-upload-paint": "Upload & paint",
}
# (param, default) of the operations whose title names a choice.
_CHOICES = {
    "mj-v7-upscale": ("type", "standard"),
    "mj-v7-variation": ("type", "subtle"),
    "mj-v7-remix": ("mode", "strong"),
}


def _scale(value) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{number.normalize():f}" if number.is_finite() else str(value)


def frozen_title(operation: str, params: dict | None) -> str:
    """`gallery.catalog.operations.title` as of this migration."""
    if operation == "mj-v7":
        return ""
    if operation not in _LABELS:
        return operation[:120]
    params = params if isinstance(params, dict) else {}

    def value(name: str, default):
        found = params.get(name)
        return default if found in (None, "") else found

    label = _LABELS[operation]
    if operation in _CHOICES:
        choice = str(value(*_CHOICES[operation]))
        return f"{label} ({'Subtle' if choice == 'standard' else choice.capitalize()})"
    if operation == "mj-v7-pan":
        return f"{label} {value('direction', 'down')} ×{_scale(value('scale', 1.5))}"[:120]
    if operation == "mj-v7-outpaint":
        return f"{label} ×{_scale(value('scale', 1.5))}"[:120]
    return label


def _readable(prompt: str) -> str:
    """`Job.prompt_text`: the prompt without its --parameters."""
    return (prompt or "").split(" --", 1)[0].strip()


def fill_titles(apps, schema_editor, batch: int = BATCH) -> None:
    Job = apps.get_model("gallery", "Job")
    Image = apps.get_model("gallery", "Image")
    fields = ("pk", "created", "operation", "params", "prompt", "parent_id", "title", "root_prompt")
    after = None
    while True:
        jobs = Job.objects.order_by("created", "pk").only(*fields)
        if after is not None:
            created, pk = after
            jobs = jobs.filter(Q(created__gt=created) | Q(created=created, pk__gt=pk))
        rows = list(jobs[:batch])
        if not rows:
            return
        after = (rows[-1].created, rows[-1].pk)
        # The parents' jobs as stored: those of earlier batches are filled
        # already; those of this batch are replaced below as the walk fills them.
        parent_ids = {job.parent_id for job in rows if job.parent_id}
        job_of = dict(Image.objects.filter(pk__in=parent_ids).values_list("pk", "job_id"))
        stored = Job.objects.filter(pk__in=set(job_of.values()))
        roots = {
            pk: root or _readable(prompt)
            for pk, root, prompt in stored.values_list("pk", "root_prompt", "prompt")
        }
        changed = []
        for job in rows:
            if not (job.title or job.root_prompt):
                job.title = frozen_title(job.operation, job.params)
                parent_root = roots.get(job_of.get(job.parent_id)) if job.parent_id else ""
                job.root_prompt = parent_root or _readable(job.prompt)
                changed.append(job)
            roots[job.pk] = job.root_prompt or _readable(job.prompt)
        Job.objects.bulk_update(changed, ["title", "root_prompt"], batch_size=batch)


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0010_job_title_root_prompt_membership_removed"),
    ]

    operations = [
        migrations.RunPython(fill_titles, migrations.RunPython.noop, elidable=True),
    ]

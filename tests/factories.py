"""The one place tests make jobs, images, credits and ledger scenes.

Every factory takes keyword arguments for what a test cares about; any other
Job field can be passed through as well (`private=True`, `parent=image`,
`deleted_at=…`). Credits move only through `gallery.credits.ledger`, as in the app.

    make_job(alice, team)                   a job row: nothing stored, nothing reserved
    finished_job(alice, team, images=2)     completed, with stored images (real files)
    in_flight_job(alice, team)              running upstream: no images, not charged
    reserved_job(alice, team, credits=79)   queued, its credits reserved in the ledger
    spent_job(alice, team, credits=40)      reserved, then settled (or refunded)
    many_jobs(team, [alice, bob], 60)       a page of finished jobs, in two queries
    stored_originals(jobs)                  tiny original files for many_jobs' images
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image as PILImage

from gallery.credits import ledger
from gallery.models import CreditAccount, Image, Job, LedgerEntry, Membership
from gallery.studio import images as stored_images

PROMPT = "a lighthouse at dusk --ar 3:2"
CREDITS = 79  # what mj-v7 at fast speed costs on evolink

# A number of its own for every job and image this process makes: upstream ids
# never repeat, and no two images store the same (content-addressed) file.
_serial = itertools.count(1)


def png(width: int = 96, height: int = 64, colour: tuple[int, int, int] = (40, 90, 160)) -> bytes:
    out = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


# --- members and credits ------------------------------------------------------------------


def membership(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def account_of(user, team) -> CreditAccount:
    return ledger.account_for(membership(user, team))


def fund(
    user, team, amount: int = 10_000, *, by=None, reason: str = "Starting credits"
) -> CreditAccount:
    """Grant `amount` credits to the member (granted by `by`, themselves by default)."""
    account = account_of(user, team)
    ledger.grant(account=account, amount=amount, by=by or user, reason=reason)
    return account


# --- jobs ---------------------------------------------------------------------------------


def make_job(
    user,
    team,
    *,
    credits: int = CREDITS,
    operation: str = "mj-v7",
    provider: str = "evolink",
    speed: str = "fast",
    prompt: str = PROMPT,
    **fields,
) -> Job:
    """A job row as a create leaves it before the ledger (queued, nothing reserved)."""
    fields.setdefault("prompt_raw", prompt)
    return Job.objects.create(
        team=team,
        user=user,
        operation=operation,
        provider=provider,
        speed=speed,
        prompt=prompt,
        credits_reserved=credits,
        **fields,
    )


def finished_job(
    user,
    team,
    *,
    images: int = 4,
    size: tuple[int, int] = (96, 64),
    status: str = Job.Status.COMPLETED,
    **fields,
) -> Job:
    """A job that ran to its end with `images` stored images (real files, each
    a colour of its own, `size` pixels). Completed, it was charged what it reserved; failed or
    cancelled, it was charged nothing. No ledger entries: see `spent_job`."""
    completed = status == Job.Status.COMPLETED
    fields.setdefault("upstream_id", f"task-unified-{next(_serial)}")
    fields.setdefault("progress", 100 if completed else 0)
    fields.setdefault("credits_charged", fields.get("credits", CREDITS) if completed else 0)
    job = make_job(user, team, status=status, **fields)
    add_images(job, images, size=size)
    return job


def add_images(job: Job, count: int = 4, *, size: tuple[int, int] = (96, 64)) -> list[Image]:
    """`count` images stored as ingest stores them: original, thumbnail, checksum."""
    made = []
    for index in range(count):
        serial = next(_serial)
        colour = (60 * index, serial % 256, serial // 256 % 256)
        stored = stored_images.store(png(*size, colour=colour))
        made.append(
            Image.objects.create(
                job=job,
                index=index,
                status=Image.Status.STORED,
                upstream_url=f"https://cdn.example.com/{job.pk}/{index}.png",
                original=stored.original,
                thumbnail=stored.thumbnail,
                width=stored.width,
                height=stored.height,
                bytes=stored.bytes,
                sha256=stored.sha256,
            )
        )
    return made


def in_flight_job(user, team, *, status: str = Job.Status.RUNNING, **fields) -> Job:
    """A job upstream is still working on: no images, nothing charged yet."""
    fields.setdefault("upstream_id", f"task-unified-{next(_serial)}")
    return make_job(user, team, status=status, **fields)


def reserved_job(user, team, *, account: CreditAccount | None = None, **fields) -> Job:
    """A queued job whose credits the ledger has reserved (fund the member first)."""
    job = make_job(user, team, **fields)
    ledger.reserve(job=job, account=account or account_of(user, team))
    job.log("created", f"Reserved {job.credits_reserved} credits")
    return job


def spent_job(
    user, team, *, outcome: str = "settle", when: datetime | None = None, **fields
) -> Job:
    """A job that reserved its credits, then settled ("settle"), was refunded
    ("refund") or still runs ("running"). `when` back-dates the job and its
    entries, to put spending in another month."""
    account = account_of(user, team)
    job = reserved_job(user, team, account=account, **fields)
    if outcome == "settle":
        ledger.settle(job=job, account=account)
    elif outcome == "refund":
        ledger.refund(job=job, account=account)
    if when is not None:
        Job.objects.filter(pk=job.pk).update(created=when)
        LedgerEntry.objects.filter(job=job).update(created=when)
        job.refresh_from_db()
    return job


def many_jobs(
    team,
    users: Sequence,
    n: int,
    *,
    images: bool = True,
    start: datetime | None = None,
    first: int = 0,
    same_instant: bool = False,
    prompt: str = "job {n} --ar 1:1",
    **fields,
) -> list[Job]:
    """n jobs in turn by `users`, finished unless told otherwise, made in bulk.

    A finished job has four image rows (no files) unless `images=False`. From
    `start` the jobs are a minute apart (all at `start` with `same_instant`),
    older first; without it they are made now. `prompt` may number the job
    ("{n}": `first`, `first` + 1, …)."""
    fields = {"status": "completed", "progress": 100, "credits_charged": CREDITS, **fields}
    fields["deadline"] = (
        start + timedelta(days=1) if start else timezone.now() + timedelta(minutes=25)
    )

    def made_at(i: int) -> dict[str, datetime]:
        if start is None:
            return {}
        return {"created": start + timedelta(minutes=0 if same_instant else first + i)}

    jobs = Job.objects.bulk_create(
        Job(
            team=team,
            user=users[i % len(users)],
            provider="evolink",
            operation="mj-v7",
            prompt=prompt.format(n=first + i),
            credits_reserved=CREDITS,
            **made_at(i),
            **fields,
        )
        for i in range(n)
    )
    if images and fields["status"] == "completed":
        Image.objects.bulk_create(
            Image(
                job=job,
                index=i,
                status="stored",
                upstream_url="https://x.org/a.png",
                thumbnail=f"thumbs/{job.pk}-{i}.webp",
                width=1024,
                height=768,
            )
            for job in jobs
            for i in range(4)
        )
    return jobs


def stored_originals(jobs: Sequence[Job]) -> list[Image]:
    """Give the images of `jobs` (made by `many_jobs`) tiny original files of
    their own in media storage, with their size and SHA-256 as ingest records
    them: thousands of exportable images without decoding a picture each."""
    images = list(Image.objects.filter(job__in=jobs).order_by("pk"))
    for image in images:
        body = b"\x89PNG\r\n\x1a\n" + f"image {image.pk} of job {image.job_id}".encode()
        image.original = default_storage.save(f"originals/{image.pk}.png", ContentFile(body))
        image.bytes, image.sha256 = len(body), hashlib.sha256(body).hexdigest()
    Image.objects.bulk_update(images, ["original", "bytes", "sha256"], batch_size=500)
    return images


# --- the clock, for scenes at given times --------------------------------------------------


class Clock:
    """A controlled clock to patch over `django.utils.timezone.now` (or to set
    as a module's clock): a test sets the time, so what happens "at 23:59 on
    the 31st" never depends on the day the suite runs."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> datetime:
        self.at = at
        return at


def at(zone: str, year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A wall-clock time in the named zone."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def local(year: int, month: int, day: int, hour: int = 12) -> datetime:
    """A time in the site's own zone."""
    return timezone.make_aware(datetime(year, month, day, hour))


def pinned(entry: LedgerEntry, when: datetime) -> LedgerEntry:
    """The entry, dated exactly `when`: what the clock said when it was written.

    The ledger reads the clock itself; pinning the date as well keeps a scene
    exact even for code that does not (so a test also fails for the right
    reason against such code)."""
    LedgerEntry.objects.filter(pk=entry.pk).update(created=when)
    return entry


def reserve_at(when: datetime, clock: Clock, user, team, account, cost: int) -> Job:
    clock.set(when)
    job = make_job(user, team, credits=cost, created=when)
    pinned(ledger.reserve(job=job, account=account), when)
    return job


def refund_at(when: datetime, clock: Clock, job: Job, account) -> None:
    clock.set(when)
    pinned(ledger.refund(job=job, account=account), when)


def settle_at(when: datetime, clock: Clock, job: Job, account) -> None:
    clock.set(when)
    pinned(ledger.settle(job=job, account=account), when)

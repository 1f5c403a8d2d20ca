"""Reference images members upload for their prompts: where they are kept,
how much each member may keep, and when they go.

A reference is stored through Django's storage API (local disk, or S3 when
configured) as

    references/<user id>/<YYYYMMDD>-<bytes>-<sha256>.<ext>

The name carries what the quota and the retention need, the day it was stored
(UTC) and its size, so both read one directory listing and nothing else: no
per-file stat, which on S3 costs a request each. The same file from the same
member on the same day is stored once; on a later day it is stored again,
so a URL handed out always points at a file with a full retention period ahead.

Jobs name a reference by its signed URL, in their prompt (image prompts,
--sref, --oref) or their source URLs. A reference that no job names is
deleted MJWEB_UPLOAD_RETENTION_DAYS after the day it was stored (its URL died
after 24 hours anyway); one that a job names is kept as long as the job.
Every member may keep MJWEB_UPLOAD_QUOTA_BYTES of references in all.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from gallery.net.uploads import CleanImage, UploadRejected, megabytes
from gallery.studio import public_urls
from gallery.studio.models.jobs import Job

log = logging.getLogger(__name__)

ROOT = "references"
_NAME = re.compile(r"(?P<day>[0-9]{8})-(?P<bytes>[0-9]{1,12})-[0-9a-f]{64}\.[a-z]{3,4}")


class OverQuota(UploadRejected):
    """Keeping the upload would take the member past their quota."""

    status = 422


def folder(user_id: int) -> str:
    return f"{ROOT}/{user_id}"


def usage(user_id: int) -> int:
    """Bytes of references the member keeps."""
    return sum(size for _day, size in _listing(folder(user_id)).values())


def owned(user_id: int, url: str) -> str | None:
    """The storage name behind a reference URL handed to this member (any
    signed link to a file in their own folder, expired or not, as long as the
    file is still kept), or None: another member's upload, or not ours at all."""
    name = public_urls.name_from_url(url or "")
    if not name or ".." in name.split("/") or not name.startswith(folder(user_id) + "/"):
        return None
    kept = _NAME.fullmatch(name.rsplit("/", 1)[-1]) and default_storage.exists(name)
    return name if kept else None


def store(user_id: int, clean: CleanImage, *, now: datetime | None = None) -> str:
    """Keep a cleaned upload for the member; its storage name. OverQuota when
    it does not fit (the same file stored today already fits)."""
    day = (now or timezone.now()).astimezone(UTC).strftime("%Y%m%d")
    size = len(clean.data)
    name = f"{folder(user_id)}/{day}-{size}-{clean.sha256}.{clean.extension}"
    if default_storage.exists(name):
        return name
    used, quota = usage(user_id), settings.MJWEB_UPLOAD_QUOTA_BYTES
    if used + size > quota:
        raise OverQuota(
            f"Your reference images take {megabytes(used)} of your {megabytes(quota)} quota, "
            f"and this one needs {megabytes(size)} more. References that no job uses are "
            f"deleted {settings.MJWEB_UPLOAD_RETENTION_DAYS} days after upload."
        )
    saved = default_storage.save(name, ContentFile(clean.data))
    if saved != name:
        # The same upload raced this one and won: same bytes, keep one copy.
        default_storage.delete(saved)
    return name


def expire(now: datetime | None = None) -> int:
    """Delete references no job names, stored more than the retention period
    ago; how many went. The poller runs it every hour."""
    today = (now or timezone.now()).astimezone(UTC).date()
    oldest_kept = today - timedelta(days=settings.MJWEB_UPLOAD_RETENTION_DAYS)
    deleted = 0
    for user_dir in _listdir(ROOT)[0]:
        if not user_dir.isdigit():
            continue
        old = {
            name: day
            for name, (day, _size) in _listing(folder(int(user_dir))).items()
            if day < oldest_kept
        }
        if not old:
            continue
        used = _named_by_jobs(folder(int(user_dir)), old)
        for name in old.keys() - used:
            default_storage.delete(name)
            deleted += 1
    if deleted:
        log.info("deleted %d reference uploads no job uses", deleted)
    return deleted


def _named_by_jobs(user_folder: str, names: dict[str, date]) -> set[str]:
    """Which of `names` (stored on the days given) a job's prompt or source URLs name."""
    # No job can name a file before it was stored; a day of slack for clocks.
    since = datetime.combine(min(names.values()), time.min, tzinfo=UTC) - timedelta(days=1)
    prefix = f"{user_folder}/"
    naming = (
        Q(prompt__contains=prefix)
        | Q(prompt_raw__contains=prefix)
        | Q(source_urls__icontains=prefix)
    )
    jobs = Job.objects.filter(naming, created__gte=since).order_by()
    texts = [
        f"{prompt}\n{prompt_raw}\n{sources}"
        for prompt, prompt_raw, sources in jobs.values_list("prompt", "prompt_raw", "source_urls")
    ]
    return {name for name in names if any(name in text for text in texts)}


def _listing(path: str) -> dict[str, tuple[date, int]]:
    """The references in a member's folder: storage name → (day stored, bytes)."""
    found: dict[str, tuple[date, int]] = {}
    for filename in _listdir(path)[1]:
        match = _NAME.fullmatch(filename)
        if match is None:
            continue
        try:
            day = datetime.strptime(match["day"], "%Y%m%d").date()
        except ValueError:
            continue
        found[f"{path}/{filename}"] = (day, int(match["bytes"]))
    return found


def _listdir(path: str) -> tuple[list[str], list[str]]:
    try:
        return default_storage.listdir(path)
    except FileNotFoundError:  # the local disk before the first upload
        return [], []

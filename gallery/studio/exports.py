"""ZIP exports of the images a member may see, with a manifest.

Every export starts from `Job.objects.visible_in(membership)`: another
member's private jobs and deleted jobs are never in one, and the images are
looked up again as they are written, so a job made private or deleted after
the export was asked for is left out (the manifest lists what the ZIP holds).

Each image is written under a readable name that is unique in the ZIP
(`0042-a-red-fox-in-snow-2.png`: job, prompt, image 1-4), with manifest.csv and
manifest.json listing, per file, its prompt, parameters, operation, author,
credits, time, lineage and the SHA-256 of the bytes written.

Small exports stream as they are written (`stream`); large ones are built by
a worker (`build`) into a part-built file in MJWEB_EXPORT_DIR with a
checkpoint, so a worker killed mid-way costs only the entries since the last
checkpoint, then kept in media storage for MJWEB_EXPORT_HOURS.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import BinaryIO
from zipfile import ZIP_STORED, ZipFile, ZipInfo

from django.core.exceptions import ObjectDoesNotExist
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from gallery.catalog import operations
from gallery.studio.models.exports import Export
from gallery.studio.models.jobs import Image, Job
from gallery.studio.pipeline import enqueue
from gallery.teams.models.teams import Membership

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
LOOKUP = 200  # plan entries looked up per query
CHECKPOINT_EVERY = 20  # entries between checkpoints (each an fsync and an UPDATE)
# A worker's run stops at the first checkpoint past this and queues the rest:
# below django-q2's task timeout (settings.Q_CLUSTER), so no run is cut off.
SLICE_SECONDS = 60.0

MANIFEST_FIELDS = (
    *("file", "job", "image", "prompt", "parameters", "operation", "operation_label"),
    *("title", "name", "author", "project", "job_credits_charged", "created"),
    *("parent_job", "parent_image"),
    *("width", "height", "bytes", "sha256"),
)
# A spreadsheet runs a cell that starts like a formula; such a cell gets a quote.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# --- what goes in, under which names -----------------------------------------------


# What a person may choose to download, and the Image field each is read from.
SIZES = {"original": "original", "small": "thumbnail"}


def exportable(jobs: QuerySet[Job], field: str = "original") -> QuerySet[Image]:
    """The stored images of `jobs` that still have that file (`field`)."""
    stored = Image.objects.filter(job__in=jobs, status=Image.Status.STORED)
    return stored.exclude(**{field: ""})


def plan_for(jobs: QuerySet[Job], field: str = "original") -> list[list]:
    """[[image id, name], ...] of `jobs`' images, newest job first, each name unique."""
    rows = (
        exportable(jobs, field)
        .order_by("-job__created", "-job_id", "index")
        .values_list("pk", "job_id", "index", field, "job__prompt", "job__title")
    )
    used: set[str] = set()
    plan = []
    for pk, job_id, index, original, prompt, title in rows:
        plan.append([pk, _unique(entry_name(job_id, index, original, prompt or title), used)])
    return plan


def entry_name(job_id: int, index: int, original: str, words: str) -> str:
    """`0042-a-red-fox-in-snow-2.png`: the job, its prompt without parameters, the image."""
    text = slugify(words.split(" --", 1)[0])[:48].strip("-") or "image"
    extension = original.rsplit(".", 1)[-1].lower() if "." in original else "png"
    return f"{job_id:04d}-{text}-{index + 1}.{extension}"


def _unique(name: str, used: set[str]) -> str:
    """`name`, or with -2, -3 … before its extension if taken (case-blind, as
    the file systems it is unpacked on may be): never one file over another."""
    stem, _, extension = name.rpartition(".")
    candidate, n = name, 2
    while candidate.lower() in used:
        candidate, n = f"{stem}-{n}.{extension}", n + 1
    used.add(candidate.lower())
    return candidate


def visible_entries(
    membership: Membership, plan: list[list], start: int = 0, field: str = "original"
) -> Iterator[tuple[int, Image | None, str]]:
    """(position, image, name) of the plan from `start`, the image None when
    the member may no longer export it (made private, deleted, purged)."""
    images = exportable(Job.objects.visible_in(membership), field).select_related(
        "job__user", "job__parent", "job__project", "job__batch_link__row"
    )
    for at in range(start, len(plan), LOOKUP):
        chunk = plan[at : at + LOOKUP]
        found = images.in_bulk([pk for pk, _ in chunk])
        for offset, (pk, name) in enumerate(chunk):
            yield at + offset, found.get(pk), name


# --- one entry, and the manifest ---------------------------------------------------------


def _copy(
    archive: ZipFile, image: Image, name: str, field: str = "original"
) -> tuple[ZipInfo, dict] | None:
    """The image's file `field` into `archive` as `name`, hashed as it is written;
    None if its file is gone from storage (the entry is left out)."""
    created = image.job.created.astimezone(UTC)
    info = ZipInfo(name, date_time=created.timetuple()[:6])
    info.compress_type = ZIP_STORED  # PNG, JPEG and WebP are compressed already
    info.external_attr = 0o644 << 16
    try:
        source = default_storage.open(getattr(image, field).name, "rb")
    except (FileNotFoundError, OSError):
        log.warning("export: the file of image %s is gone; left out", image.pk)
        return None
    digest, size = hashlib.sha256(), 0
    with source, archive.open(info, "w") as target:
        while block := source.read(CHUNK):
            digest.update(block)
            target.write(block)
            size += len(block)
    width, height = (image.width, image.height) if field == "original" else image.thumb_size
    return info, manifest_row(image, name, digest.hexdigest(), size) | {
        "width": width,
        "height": height,
    }


def manifest_row(image: Image, name: str, sha256: str, size: int) -> dict:
    job, parent = image.job, image.job.parent
    return {
        "file": name,
        "job": job.pk,
        "image": image.index + 1,
        "prompt": job.prompt,
        "parameters": job.params,
        "operation": job.operation,
        "operation_label": operations.label(job.operation),
        "title": job.title,
        "name": _row_name(job),
        "author": job.user.username,
        "project": job.project.name if job.project else "",
        "job_credits_charged": job.credits_charged,
        "created": job.created.astimezone(UTC).isoformat(),
        "parent_job": parent.job_id if parent else None,
        "parent_image": parent.index + 1 if parent else None,
        "width": image.width,
        "height": image.height,
        "bytes": size,
        "sha256": sha256,
    }


def _row_name(job: Job) -> str:
    """The free "name" of the batch row a job was made from ("" for others)."""
    try:
        return job.batch_link.row.name
    except ObjectDoesNotExist:
        return ""


def _write_manifests(archive: ZipFile, rows: list[dict]) -> None:
    archive.writestr("manifest.json", json.dumps(rows, indent=1, ensure_ascii=False))
    out = io.StringIO()
    writer = csv.DictWriter(out, MANIFEST_FIELDS)
    writer.writeheader()
    for row in rows:
        cells = {**row, "parameters": json.dumps(row["parameters"], sort_keys=True)}
        writer.writerow({key: _cell(value) for key, value in cells.items()})
    archive.writestr("manifest.csv", out.getvalue())


def _cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return f"'{value}"
    return "" if value is None else value


# --- small exports: streamed as written ------------------------------------------------


class _Pipe:
    """A write-only file the ZIP writer fills and the response drains. It has
    no tell(), so zipfile writes each entry's sizes after its data."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def stream(membership: Membership, plan: list[list], field: str = "original") -> Iterator[bytes]:
    """The ZIP of `plan`, in pieces as it is written: one entry in memory at most."""
    pipe, rows = _Pipe(), []
    with ZipFile(pipe, "w") as archive:
        for _, image, name in visible_entries(membership, plan, 0, field):
            copied = _copy(archive, image, name, field) if image is not None else None
            if copied is not None:
                rows.append(copied[1])
            if data := pipe.take():
                yield data
        _write_manifests(archive, rows)
    yield pipe.take()


# --- large exports: built by a worker, resumable ----------------------------------------


def start(
    membership: Membership, label: str, plan: list[list], variant: str = "original"
) -> Export:
    """An export for a worker to build, queued once it commits."""
    with transaction.atomic():
        export = Export.objects.create(
            membership=membership, label=label[:120], plan=plan, total=len(plan), variant=variant
        )
        enqueue("build_export", export.pk)
    return export


class _Parts:
    """An export's part-built ZIP and its manifest rows (one JSON line per
    entry written, with where the entry is in the ZIP), opened at the export's
    checkpoint: anything written after it, by a worker that died, is cut off."""

    def __init__(self, export: Export) -> None:
        self.export = export
        self.zip_path, self.rows_path = export.part_path("zip.part"), export.part_path("rows.part")
        resume = export.done > 0 and all(
            _size(path) >= at
            for path, at in ((self.zip_path, export.zip_bytes), (self.rows_path, export.rows_bytes))
        )
        self.done, self.skipped = (export.done, export.skipped) if resume else (0, 0)
        zip_at, rows_at = (export.zip_bytes, export.rows_bytes) if resume else (0, 0)
        self.zip_path.parent.mkdir(parents=True, exist_ok=True)
        mode = "r+b" if resume else "w+b"
        self.zip_file, self.rows_file = open(self.zip_path, mode), open(self.rows_path, mode)  # noqa: SIM115
        self.rows_file.truncate(rows_at)
        lines = self.rows_file.read().splitlines() if resume else []
        self.zip_file.truncate(zip_at)
        self.zip_file.seek(zip_at)
        self.archive = ZipFile(self.zip_file, "w")
        for line in lines:
            self._restore(json.loads(line))

    def _restore(self, line: dict) -> None:
        """An entry written by an earlier run, back in the directory to be written."""
        info = ZipInfo(line["row"]["file"], date_time=tuple(line["time"]))
        info.compress_type, info.external_attr = ZIP_STORED, 0o644 << 16
        info.CRC, info.file_size, info.compress_size = line["crc"], line["size"], line["size"]
        info.header_offset = line["at"]
        self.archive.filelist.append(info)
        self.archive.NameToInfo[info.filename] = info

    def add(self, image: Image | None, name: str) -> bool:
        field = SIZES[self.export.variant]
        copied = _copy(self.archive, image, name, field) if image is not None else None
        self.done += 1
        if copied is None:
            self.skipped += 1
            return False
        info, row = copied
        line = {"row": row, "at": info.header_offset, "crc": info.CRC, "size": info.file_size}
        line["time"] = list(info.date_time)
        self.rows_file.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
        return True

    def checkpoint(self) -> bool:
        """What is written is made durable, then recorded; False if the export
        is no longer this worker's (its lease ran out and another took it)."""
        for handle in (self.zip_file, self.rows_file):
            handle.flush()
            os.fsync(handle.fileno())
        rows_at = self.rows_file.tell()
        return self.export.checkpoint(self.done, self.skipped, self.archive.start_dir, rows_at)

    def finish(self) -> int:
        """The manifests and the ZIP's directory written; the ZIP into media
        storage. Its size."""
        self.rows_file.seek(0)
        rows = [json.loads(line)["row"] for line in self.rows_file.read().splitlines()]
        _write_manifests(self.archive, rows)
        self.archive.close()
        self.zip_file.flush()
        size = self.zip_file.tell()
        self.zip_file.seek(0)
        name = self.export.storage_name
        default_storage.delete(name)  # a run that died after saving it left one
        saved = default_storage.save(name, File(self.zip_file, name=name))
        if saved != name:
            raise RuntimeError(f"the export was saved as {saved}, not {name}")
        return size

    def close(self) -> None:
        if self.archive.fp is not None:
            self.archive.close()
        self.zip_file.close()
        self.rows_file.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _drop_parts(export: Export) -> None:
    for suffix in ("zip.part", "rows.part", "lock"):
        export.part_path(suffix).unlink(missing_ok=True)


def build(
    export_id: int,
    *,
    clock: Callable[[], float] = time.monotonic,
    slice_seconds: float = SLICE_SECONDS,
) -> int:
    """Build export `export_id` from its checkpoint for about `slice_seconds`,
    then queue the rest; how many entries this run wrote. Safe to run twice
    at once: only the worker that claims it, and holds its files, builds."""
    if not Export.objects.claim(export_id):
        return 0
    export = Export.objects.select_related("membership__team", "membership__user").get(pk=export_id)
    if export.membership.removed_at is not None:
        export.mark_failed("You are no longer a member of this team.")
        _drop_parts(export)
        return 0
    lock = lock_parts(export)
    if lock is None:
        return 0
    try:
        written, ready = _run(export, clock, slice_seconds)
    finally:
        lock.close()
    if ready:
        _drop_parts(export)
    return written


def lock_parts(export: Export) -> BinaryIO | None:
    """This process's exclusive lock on the export's part files, or None if a
    live worker holds it (a slow one whose lease ran out: it carries on). The
    system drops a killed process's lock, so a resume is never kept out."""
    path = export.part_path("lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+b")  # noqa: SIM115 - held until the run ends
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _run(export: Export, clock: Callable[[], float], slice_seconds: float) -> tuple[int, bool]:
    """Entries written by this run, and whether the export is ready."""
    began, written = clock(), 0
    parts = _Parts(export)
    try:
        entries = visible_entries(export.membership, export.plan, parts.done, SIZES[export.variant])
        for position, image, name in entries:
            written += parts.add(image, name)
            if (position + 1) % CHECKPOINT_EVERY and position + 1 < export.total:
                continue
            if not parts.checkpoint():
                return written, False
            if clock() - began >= slice_seconds and position + 1 < export.total:
                if export.pause():
                    enqueue("build_export", export.pk)
                return written, False
        if not parts.checkpoint():
            return written, False
        return written, export.mark_ready(parts.finish())
    finally:
        parts.close()


# --- the poller's sweep ----------------------------------------------------------------


def recover(now=None) -> int:
    """Queue again the exports whose task was lost or whose worker died; how many."""
    now = now or timezone.now()
    moved = 0
    for export in Export.objects.abandoned(now).only("pk", "status")[:50]:
        if export.requeue(now):
            enqueue("build_export", export.pk)
            moved += 1
    return moved


def expire(now=None) -> int:
    """Delete the exports kept past MJWEB_EXPORT_HOURS; how many."""
    count = 0
    for export in Export.objects.past_keeping(now).only("pk", "status", "file")[:500]:
        name = export.file
        if export.mark_expired():
            default_storage.delete(name)
            count += 1
    return count

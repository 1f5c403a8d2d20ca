"""Copy media between MEDIA_ROOT and the bucket: `move_media --to-bucket` when
a site moves onto object storage, `--to-local` to come back.

Copies, never deletes: the source stays until a person has checked the
destination (and removes it). Resumable: a file the destination already holds
with the same size is skipped, so a run cut short is simply run again. Names
are content hashes, so the same name and size is the same file; a file cut off
mid-copy has another size and is copied again.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.core.management.base import BaseCommand, CommandError, CommandParser


def bucket_storage() -> Storage:
    if not settings.AWS_STORAGE_BUCKET_NAME:
        raise CommandError(
            "No bucket: set AWS_STORAGE_BUCKET_NAME (and AWS_S3_ENDPOINT_URL, "
            "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY as needed) first"
        )
    return storages["default"]


def local_sizes(root: Path) -> dict[str, int]:
    """Every file under `root`: storage name → bytes."""
    found: dict[str, int] = {}
    for folder, _dirs, files in os.walk(root):
        for filename in files:
            path = Path(folder, filename)
            found[path.relative_to(root).as_posix()] = path.stat().st_size
    return found


def bucket_sizes(storage: Storage) -> dict[str, int]:
    """Every object in the bucket (under the storage's location): name → bytes.
    One listing, not a request per file."""
    prefix = f"{storage.location.strip('/')}/" if storage.location else ""
    return {
        obj.key[len(prefix) :]: obj.size for obj in storage.bucket.objects.filter(Prefix=prefix)
    }


class Command(BaseCommand):
    help = "Copy stored media from MEDIA_ROOT into the bucket, or back; resumable."

    def add_arguments(self, parser: CommandParser) -> None:
        way = parser.add_mutually_exclusive_group(required=True)
        way.add_argument("--to-bucket", action="store_true", help="MEDIA_ROOT → bucket")
        way.add_argument("--to-local", action="store_true", help="bucket → MEDIA_ROOT")

    def handle(self, *args, to_bucket: bool, to_local: bool, **options) -> None:
        bucket = bucket_storage()
        root = Path(settings.MEDIA_ROOT)
        local = FileSystemStorage(location=root)
        if to_bucket:
            source, target = local, bucket
            have, want = bucket_sizes(bucket), local_sizes(root)
        else:
            source, target = bucket, local
            have, want = local_sizes(root), bucket_sizes(bucket)
        copied = skipped = size = 0
        for name, length in sorted(want.items()):
            if have.get(name) == length:
                skipped += 1
                continue
            if name in have:  # cut off mid-copy, or changed: the disk would rename, not replace
                target.delete(name)
            with source.open(name, "rb") as handle:
                saved = target.save(name, File(handle, name=name))
            if saved != name:
                raise CommandError(f"{name} was stored as {saved}; stopped")
            copied += 1
            size += length
            if options["verbosity"] > 1:
                self.stdout.write(f"copied {name}")
        where = "the bucket" if to_bucket else str(root)
        self.stdout.write(
            f"{copied} copied ({size} bytes), {skipped} already in {where}, {len(want)} in all"
        )

"""move_media without a bucket configured: a clear error, nothing copied.
(Copying to the bucket and back is tested against a real S3-protocol server in
tests/deploy/test_object_storage.py.)"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command


@pytest.mark.parametrize("way", ["--to-bucket", "--to-local"])
def test_move_media_without_a_bucket_names_the_variable_to_set(way, settings):
    settings.AWS_STORAGE_BUCKET_NAME = ""
    (settings.MEDIA_ROOT / "kept.png").parent.mkdir(parents=True, exist_ok=True)
    (settings.MEDIA_ROOT / "kept.png").write_bytes(b"x")
    with pytest.raises(CommandError, match="set AWS_STORAGE_BUCKET_NAME"):
        call_command("move_media", way)
    assert (settings.MEDIA_ROOT / "kept.png").read_bytes() == b"x"


def test_move_media_wants_a_direction():
    with pytest.raises(CommandError, match="one of the arguments --to-bucket --to-local"):
        call_command("move_media")

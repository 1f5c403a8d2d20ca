"""The vendored provider specs (tests/specs/openapi) are there, and the same as
the shared originals when those sit beside the checkout."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

SPECS = Path(__file__).resolve().parents[1] / "specs"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "openapi"


def listed() -> dict[str, str]:
    """file name -> SHA-256, as tests/specs/README.md records them."""
    readme = (SPECS / "README.md").read_text()
    return dict(re.findall(r"`([\w.-]+\.yaml)` ([0-9a-f]{64})", readme))


def test_every_vendored_spec_is_listed_with_its_checksum():
    files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in SPECS.glob("openapi/*")}
    assert files and files == listed()


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared/openapi beside this checkout")
def test_the_vendored_specs_match_the_shared_originals():
    for name in listed():
        assert (SPECS / "openapi" / name).read_bytes() == (SHARED / name).read_bytes(), name

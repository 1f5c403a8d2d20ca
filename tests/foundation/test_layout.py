"""The layout of DESIGN.md §4 holds: domains import downwards, nothing is left flat."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "gallery"
TOP_LEVEL = set(["__init__.py", "admin.py", "apps.py", "tasks.py", "urls.py"])
DOMAINS = ["api", "catalog", "credits", "net", "providers", "studio", "teams"]
PLUMBING = {"migrations", "management", "templatetags", "models", "__pycache__"}


def test_the_import_layers_contract_is_kept() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_only_the_app_wiring_stays_at_the_top_of_gallery() -> None:
    flat = {p.name for p in GALLERY.glob("*.py")}
    assert flat <= TOP_LEVEL, f"modules left flat in gallery/: {sorted(flat - TOP_LEVEL)}"


def test_every_folder_of_gallery_is_a_domain_or_django_plumbing() -> None:
    folders = {p.name for p in GALLERY.iterdir() if p.is_dir()}
    assert folders <= set(DOMAINS) | PLUMBING, sorted(folders - set(DOMAINS) - PLUMBING)
    for domain in DOMAINS:
        assert (GALLERY / domain / "__init__.py").exists(), domain


def test_the_models_registry_holds_no_models_of_its_own() -> None:
    left = {p.name for p in (GALLERY / "models").glob("*.py")}
    assert left == {"__init__.py"}


def test_each_page_lives_in_its_domains_templates_folder() -> None:
    site_wide = {
        p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.html")
    }
    assert all(name == "base.html" or name.startswith("errors/") for name in site_wide), site_wide
    for domain in ("api", "credits", "studio", "teams"):
        assert list((GALLERY / domain / "templates").rglob("*.html")), domain

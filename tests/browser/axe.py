"""axe-core in the browser tests: fetched from the npm registry into the
virtual environment on first use, injected into the page under test only
(never served by the site), and run against WCAG 2.1 A and AA rules."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from playwright.sync_api import Page

VERSION = "4.14.1"
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".venv" / f"axe-core-{VERSION}" / "axe.min.js"
SERIOUS = {"serious", "critical"}


def source() -> str:
    if not SCRIPT.exists():
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                ["npm", "pack", "--silent", f"axe-core@{VERSION}"],
                cwd=scratch,
                check=True,
                capture_output=True,
                timeout=300,
            )
            with tarfile.open(next(Path(scratch).glob("axe-core-*.tgz"))) as archive:
                archive.extractall(scratch, filter="data")
            SCRIPT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(scratch) / "package" / "LICENSE", SCRIPT.parent / "LICENSE")
            shutil.copy(Path(scratch) / "package" / "axe.min.js", SCRIPT)
    return SCRIPT.read_text()


def violations(page: Page) -> list[dict]:
    """Serious and critical WCAG 2.1 A/AA violations on the page as it is now.

    `evaluate` runs outside the page's Content-Security-Policy, so the site's
    CSP stays as strict as users get it."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source())
    found = page.evaluate(
        """async () => (await axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        })).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
        }))"""
    )
    return [v for v in found if v["impact"] in SERIOUS]


def assert_accessible(page: Page, where: str = "") -> None:
    problems = violations(page)
    report = "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} at {v['nodes']}" for v in problems
    )
    assert not problems, f"axe found on {where or page.url}:\n{report}"

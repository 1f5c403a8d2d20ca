"""The parameter panel's facts come from the catalog, rendered by the server:
each control's flag and spellings, range, default, help, and where it works.
The script reads them from the page and repeats none of them."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from gallery.catalog.prompt import PANEL, PARAMETERS

pytestmark = pytest.mark.django_db
SCRIPT = Path(__file__).resolve().parents[2] / "static" / "js" / "param-panel.js"


def control(html: str, name: str) -> str:
    """The opening tag of the panel's box for one parameter."""
    match = re.search(rf'<div class="param [^"]*" id="param-{name}"[^>]*>', html)
    assert match, name
    return unescape(match.group(0))


def test_the_panel_offers_what_people_tune_and_nothing_typed_only():
    assert [p.flag for p in PANEL] == [
        *("--ar", "--s", "--c", "--seed", "--w", "--exp", "--q", "--raw", "--tile")
    ]
    # --stop, --repeat and the like are not V7 API parameters: no control offers them.
    assert {"stop", "repeat"}.isdisjoint(p.name for p in PARAMETERS)


def test_each_control_carries_its_catalog_facts(alice_client):
    html = alice_client.get("/t/acme/").content.decode()
    for spec in PANEL:
        tag = control(html, spec.name)
        assert f'data-names="{" ".join(spec.names)}"' in tag
        assert f'data-default="{spec.default}"' in tag
        assert f'data-speeds="{" ".join(spec.speeds)}"' in tag
        if spec.minimum is not None:
            assert f'data-min="{spec.minimum}" data-max="{spec.maximum}"' in tag
        assert f'id="param-{spec.name}-help">{spec.hint}' in unescape(html)
    stylize = control(html, "s")
    assert 'data-names="s stylize"' in stylize and 'data-min="0" data-max="1000"' in stylize
    assert 'data-speeds="fast turbo"' in control(html, "tile")  # not at draft speed
    assert 'data-ignored-at="turbo"' in control(html, "seed")  # accepted, does nothing
    assert 'data-max="4294967295"' in control(html, "seed")  # no thousands separator


def test_the_script_repeats_no_range_or_default():
    script = SCRIPT.read_text()
    for spec in PANEL:
        for number in (spec.maximum, spec.default):
            if number not in (None, "", "0", "1"):
                assert not re.search(rf"\b{re.escape(str(number))}\b", script), number


def test_viewers_get_no_panel(dave_client):
    assert 'id="param-panel"' not in dave_client.get("/t/acme/").content.decode()

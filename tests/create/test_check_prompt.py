"""The create bar's live lint and price endpoint."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gallery.models import Price

URL = "/t/acme/check/"
pytestmark = pytest.mark.django_db


def check(client, prompt: str, speed: str = "fast", **headers):
    return client.post(URL, {"prompt": prompt, "speed": speed}, headers=headers)


def test_it_quotes_a_valid_prompt(alice_client, settings):
    settings.MJWEB_PROVIDER = "reapi"
    html = check(alice_client, "a lighthouse at dusk --ar 16:9").content.decode()
    assert "fast · 88 credits" in html  # reAPI fast 0.087318 USD -> ceil(87.318)
    assert "lint-error" not in html


def test_it_doubles_the_price_for_oref(alice_client, settings):
    settings.MJWEB_PROVIDER = "reapi"
    html = check(alice_client, "a lighthouse --oref https://example.com/ref.png").content.decode()
    assert "fast · ×2 for --oref · 175 credits" in html


def test_it_prices_by_speed(alice_client, settings):
    settings.MJWEB_PROVIDER = "reapi"
    assert "draft · 44 credits" in check(alice_client, "a cat", "draft").content.decode()
    assert "turbo · 175 credits" in check(alice_client, "a cat", "turbo").content.decode()


def test_it_uses_the_admin_edited_price(alice_client, settings):
    settings.MJWEB_PROVIDER = "reapi"
    Price.objects.filter(provider="reapi", operation="mj-v7", variant="fast").update(
        usd=Decimal("0.2")
    )
    assert "fast · 200 credits" in check(alice_client, "a cat").content.decode()


def test_it_names_each_error_with_its_code_and_parameter(alice_client):
    html = check(alice_client, "a cat --s 5000 --cref https://x.org/a.png").content.decode()
    assert 'data-code="param_out_of_range" data-param="--s"' in html
    assert "--s must be between 0 and 1000 (got 5000)" in html
    assert 'data-code="unsupported_param" data-param="--cref"' in html


def test_it_warns_about_speed_flags_and_says_what_to_do(alice_client):
    html = check(alice_client, "a cat --turbo").content.decode()
    assert 'class="lint-warning"' in html
    assert "speed setting" in html


def test_it_returns_only_the_fragment(alice_client):
    html = check(alice_client, "a cat", HX_Request="true").content.decode()
    assert html.lstrip().startswith('<div id="prompt-check"')
    assert "<html" not in html


def test_it_rejects_get(alice_client):
    assert alice_client.get(URL).status_code == 405


def test_it_requires_sign_in(client, team):
    response = check(client, "a cat")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")


def test_a_viewer_cannot_use_it(dave_client):
    assert check(dave_client, "a cat").status_code == 403


def test_another_team_gets_404(carol_client, alice):
    assert check(carol_client, "a cat").status_code == 404


def test_the_gallery_page_has_the_create_bar_for_members_only(alice_client, dave_client):
    assert 'aria-label="Create"' in alice_client.get("/t/acme/").content.decode()
    assert 'aria-label="Create"' not in dave_client.get("/t/acme/").content.decode()


def test_an_empty_prompt_is_not_scolded_before_anything_is_typed(alice_client):
    html = check(alice_client, "   ").content.decode()
    assert "lint-error" not in html and "credits" not in html
    assert "disabled" not in html

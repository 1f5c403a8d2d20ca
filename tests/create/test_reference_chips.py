"""The create bar's reference chips: each chip sends "<role> <url>" and each
role a weight; the server composes the prompt Midjourney expects, and the live
check and Generate both judge that composed prompt."""

from __future__ import annotations

import pytest

from gallery.credits import ledger
from gallery.models import CreditAccount, Job, Membership

pytestmark = pytest.mark.django_db

CREATE, CHECK = "/t/acme/jobs/", "/t/acme/check/"
A, B = "https://example.com/a.png", "https://example.com/b.png"
STYLE, OMNI = "https://example.com/style.png", "https://example.com/omni.png"


@pytest.fixture
def funded(alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    ledger.grant(account=account, amount=1000, by=alice)
    CreditAccount.objects.filter(pk=account.pk).update(max_in_flight=40)
    return account


def post(client, url, prompt="a lighthouse at dusk --ar 16:9", refs=(), **fields):
    data = {"prompt": prompt, "speed": "fast", "client_request_id": "req-1", "ref": list(refs)}
    data.update(fields)
    return client.post(url, data, headers={"HX-Request": "true"})


def test_generate_sends_the_chips_where_midjourney_expects_them(alice_client, funded):
    refs = [f"sref {STYLE}", f"image {A}", f"oref {OMNI}", f"image {B}"]
    response = post(alice_client, CREATE, refs=refs, iw="2", sw="300", ow="50")
    assert response.status_code == 200
    job = Job.objects.get()
    composed = (
        f"{A} {B} a lighthouse at dusk --ar 16:9 --iw 2 "
        f"--sref {STYLE} --sw 300 --oref {OMNI} --ow 50"
    )
    assert job.prompt == composed
    # As composed, so "Use again" and the history bring the references back.
    assert job.prompt_raw == composed


def test_the_chips_order_is_the_order_of_their_urls(alice_client, funded):
    post(alice_client, CREATE, prompt="a fox", refs=[f"sref {B}", f"sref {A}"])
    assert Job.objects.get().prompt == f"a fox --sref {B} {A}"


def test_a_weight_without_a_chip_of_its_role_is_not_sent(alice_client, funded):
    post(alice_client, CREATE, prompt="a fox", refs=[f"image {A}"], sw="300", ow="50")
    assert Job.objects.get().prompt == f"{A} a fox"


def test_two_image_prompts_need_no_text(alice_client, funded):
    post(alice_client, CREATE, prompt="", refs=[f"image {A}", f"image {B}"])
    assert Job.objects.get().prompt == f"{A} {B}"


def test_without_chips_the_prompt_is_sent_as_typed(alice_client, funded):
    post(alice_client, CREATE, prompt=f"{A} a fox --sref {STYLE} --sw 300")
    assert Job.objects.get().prompt == f"{A} a fox --sref {STYLE} --sw 300"


def test_the_live_check_prices_the_composed_prompt(alice_client, settings):
    settings.MJWEB_PROVIDER = "reapi"
    html = post(alice_client, CHECK, prompt="a lighthouse", refs=[f"oref {OMNI}"]).content.decode()
    assert "fast · ×2 for --oref · 175 credits" in html


def test_the_live_check_prices_two_image_chips_without_text(alice_client, settings):
    settings.MJWEB_PROVIDER = "reapi"
    html = post(alice_client, CHECK, prompt="", refs=[f"image {A}", f"image {B}"]).content.decode()
    assert "fast · 88 credits" in html


def test_the_linter_judges_a_chip_weight_and_names_the_range(alice_client, funded):
    html = post(alice_client, CHECK, refs=[f"sref {STYLE}"], sw="5000").content.decode()
    assert "--sw must be between 0 and 1000 (got 5000)" in html
    refused = post(alice_client, CREATE, refs=[f"sref {STYLE}"], sw="5000")
    assert refused.status_code == 400
    assert "--sw must be between 0 and 1000 (got 5000)" in refused.content.decode()
    assert not Job.objects.exists()


def test_the_linter_judges_the_chips_roles_against_the_speed(alice_client):
    html = post(alice_client, CHECK, refs=[f"oref {OMNI}"], speed="turbo").content.decode()
    assert "--oref only works at fast speed (the speed is turbo)" in html


def test_the_linter_counts_the_chips_of_a_role(alice_client):
    html = post(alice_client, CHECK, refs=[f"oref {A}", f"oref {B}"]).content.decode()
    assert "--oref takes exactly one image URL (got 2 values)" in html


def test_a_chip_with_an_unknown_role_is_refused_in_place(alice_client, funded):
    response = post(alice_client, CREATE, refs=[f"cref {A}"])
    assert response.status_code == 400
    assert "A reference&#x27;s role must be one of image, sref, oref" in response.content.decode()
    assert not Job.objects.exists()


def test_a_chip_that_is_not_one_url_is_refused_in_place(alice_client, funded):
    response = post(alice_client, CREATE, refs=[f"image {A} --q 4"])
    assert response.status_code == 400
    assert "A reference must be one URL of at most 2048 characters" in response.content.decode()
    assert not Job.objects.exists()


def test_more_chips_than_midjourney_takes_in_all_are_refused(alice_client, funded):
    refs = [f"sref https://example.com/{n}.png" for n in range(42)]
    response = post(alice_client, CREATE, refs=refs)
    assert response.status_code == 400
    assert "A prompt takes at most 41 reference images (got 42)" in response.content.decode()


def test_an_empty_prompt_without_chips_is_named_not_a_crash(alice_client, funded):
    response = post(alice_client, CREATE, prompt="")
    assert response.status_code == 400
    assert "Generate needs a prompt" in response.content.decode()
    assert not Job.objects.exists()


def test_the_page_offers_the_roles_and_weight_ranges_of_the_catalog(alice_client):
    html = alice_client.get("/t/acme/").content.decode()
    assert 'data-role="sref" data-label="Style reference" data-flag="--sref"' in html
    assert 'data-flag="--sref" data-weight-flag="--sw"' in html
    assert 'name="iw" id="ref-weight-image" min="0" max="3" step="0.1" placeholder="1"' in html
    assert 'name="sw" id="ref-weight-sref" min="0" max="1000" step="1" placeholder="100"' in html
    assert 'id="ref-chips" hidden' in html  # without JavaScript the URLs stay in the text

"""The create bar's check for a prompt with permutations or --repeat: how many
jobs and what they cost in all, or why not, before Generate."""

from __future__ import annotations

import pytest

URL = "/t/acme/check/"
pytestmark = pytest.mark.django_db
FAST = 79  # evolink mj-v7 fast


def check(client, prompt: str, **headers):
    return client.post(URL, {"prompt": prompt, "speed": "fast"}, headers=headers)


def quote(html: str) -> str:
    start = html.index('<output class="quote"')
    return html[html.index(">", start) + 1 : html.index("</output>", start)].strip()


def test_a_two_by_two_permutation_shows_four_jobs_and_their_total(alice_client):
    html = check(alice_client, "a {red, blue} bird --ar {1:1, 16:9}").content.decode()
    assert quote(html) == f"4 jobs · {4 * FAST} credits"
    assert "lint-error" not in html


def test_the_total_adds_each_jobs_own_price(alice_client):
    html = check(alice_client, "a cat --q {1, 2} --r 2").content.decode()
    assert quote(html) == f"4 jobs · {6 * FAST} credits"


def test_a_prompt_without_the_syntax_shows_its_single_quote_as_before(alice_client):
    for prompt in ("a {cat} --ar 1:1", "a cat"):
        assert quote(check(alice_client, prompt).content.decode()) == f"fast · {FAST} credits"


def test_past_the_cap_no_price_is_shown_and_the_cap_is_named(alice_client):
    options = ", ".join(f"o{i}" for i in range(41))
    html = check(alice_client, f"a {{{options}}} bird").content.decode()
    assert quote(html) == ""
    assert 'data-code="too_many_values" data-param="{}"' in html
    assert "41 jobs: at most 40 jobs can come from one prompt" in html
    assert '<button type="submit" class="primary" disabled>Generate</button>' in html


def test_malformed_braces_are_named_in_place(alice_client):
    html = check(alice_client, "a {red, blue bird").content.decode()
    assert quote(html) == ""
    assert "The { at character 3 is never closed" in html


def test_an_error_in_one_combination_names_it_and_hides_the_price(alice_client):
    html = check(alice_client, "a cat --s {100, 5000}").content.decode()
    assert quote(html) == ""
    assert "Job 2 of 2 (&quot;a cat --s 5000&quot;): --s must be between 0 and 1000" in html


def test_the_fragment_alone_comes_back_to_htmx(alice_client):
    html = check(alice_client, "a {red, blue} bird", HX_Request="true").content.decode()
    assert html.lstrip().startswith('<div id="prompt-check"')
    assert f"2 jobs · {2 * FAST} credits" in html


def test_another_team_cannot_check_a_batch_here(carol_client, alice):
    assert check(carol_client, "a {red, blue} bird").status_code == 404


def test_a_viewer_cannot_check_a_batch(dave_client):
    assert check(dave_client, "a {red, blue} bird").status_code == 403

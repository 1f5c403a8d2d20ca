"""compose(): the create bar's text and reference chips as one Midjourney prompt."""

from __future__ import annotations

from gallery.catalog.prompt import REFERENCE_ROLES, compose, lint

A, B, S, OMNI = (f"https://example.com/{n}.png" for n in "abso")


def test_image_prompts_lead_then_the_text_then_sref_and_oref_with_their_weights():
    refs = [("oref", OMNI), ("image", A), ("sref", S), ("image", B)]
    weights = {"image": "1.5", "sref": "250", "oref": "80"}
    assert compose(" a cat --ar 16:9 ", refs, weights) == (
        f"{A} {B} a cat --ar 16:9 --iw 1.5 --sref {S} --sw 250 --oref {OMNI} --ow 80"
    )


def test_a_blank_weight_and_a_weight_without_its_role_are_left_out():
    assert compose("a cat", [("sref", S)], {"sref": " ", "oref": "80"}) == f"a cat --sref {S}"


def test_no_references_leave_the_text_as_it_is():
    assert compose("a cat --s 250", [], {"image": "2"}) == "a cat --s 250"


def test_the_composed_prompt_is_one_the_linter_reads_back_as_the_chips_said():
    prompt = lint(compose("a cat", [("image", A), ("sref", S)], {"sref": "300"})).prompt
    assert prompt is not None
    assert prompt.image_urls == (A,) and [r.value for r in prompt.sref] == [S]
    assert prompt.style_weight == 300


def test_each_role_is_weighed_by_its_catalog_parameter():
    assert {n: r.weight.flag for n, r in REFERENCE_ROLES.items()} == {
        "image": "--iw",
        "sref": "--sw",
        "oref": "--ow",
    }

"""Midjourney's batch syntax, expanded: permutation braces and --repeat."""

from __future__ import annotations

import pytest

from gallery.catalog.permutations import BatchError, expand, job_request_id, uses_batch_syntax
from gallery.catalog.prompt import Code


def prompts(text: str, cap: int = 40) -> list[str]:
    return list(expand(text, cap=cap).prompts)


def refusal(text: str, cap: int = 40) -> BatchError:
    with pytest.raises(BatchError) as caught:
        expand(text, cap=cap)
    return caught.value


def test_a_prompt_without_the_syntax_comes_back_exactly_as_typed():
    text = "a lighthouse,  at dusk \\, --ar 16:9 --raw"
    expansion = expand(text)
    assert expansion.prompts == (text,)
    assert not expansion.uses_syntax


def test_two_groups_make_every_combination_the_first_varying_slowest():
    assert prompts("a {red, blue} bird --ar {1:1, 16:9}") == [
        "a red bird --ar 1:1",
        "a red bird --ar 16:9",
        "a blue bird --ar 1:1",
        "a blue bird --ar 16:9",
    ]


def test_a_group_may_stand_for_whole_parameters():
    assert prompts("a cat --s 50 {--raw, --tile}") == ["a cat --s 50 --raw", "a cat --s 50 --tile"]


def test_groups_nest_inside_options():
    assert prompts("a {bird {on a pier, in a tree}, cat}") == [
        "a bird on a pier",
        "a bird in a tree",
        "a cat",
    ]


def test_an_empty_option_stands_for_nothing_and_leaves_no_double_space():
    assert prompts("a {, very} big dog") == ["a big dog", "a very big dog"]


def test_a_backslash_keeps_a_comma_inside_one_option():
    assert prompts("a {red\\, white, blue} flag") == ["a red, white flag", "a blue flag"]


def test_a_backslash_makes_a_brace_and_a_backslash_plain_text():
    assert prompts("a {cat, dog} \\{sic\\} \\\\ here") == [
        "a cat {sic} \\ here",
        "a dog {sic} \\ here",
    ]


def test_a_backslash_before_anything_else_is_kept():
    assert prompts("a {cat, dog} C:\\path") == ["a cat C:\\path", "a dog C:\\path"]


def test_repeat_runs_each_combination_that_many_times():
    expansion = expand("a {red, blue} bird --repeat 3 --ar 1:1")
    assert expansion.prompts == ("a red bird --ar 1:1",) * 3 + ("a blue bird --ar 1:1",) * 3
    assert (expansion.combinations, expansion.repeat, expansion.count) == (2, 3, 6)


def test_the_short_r_spelling_repeats_and_is_removed_from_the_prompt():
    assert prompts("a cat --ar 1:1 --r 2") == ["a cat --ar 1:1", "a cat --ar 1:1"]


def test_raw_is_not_mistaken_for_r():
    assert prompts("a {cat, dog} --raw") == ["a cat --raw", "a dog --raw"]


def test_the_cap_allows_exactly_its_number_of_jobs():
    options = ", ".join(f"o{i}" for i in range(40))
    assert len(prompts(f"a {{{options}}}")) == 40


def test_one_job_past_the_cap_is_refused_naming_the_count_and_the_cap():
    options = ", ".join(f"o{i}" for i in range(41))
    problem = refusal(f"a {{{options}}}")
    assert problem.issue.code == Code.TOO_MANY_VALUES
    assert problem.message.startswith("41 jobs: at most 40 jobs can come from one prompt")


def test_repeats_count_against_the_cap_and_the_message_says_how():
    problem = refusal("a {cat, dog} --r 21")
    assert problem.message.startswith("42 jobs (2 combinations × --repeat 21): at most 40")


def test_the_cap_is_a_parameter():
    assert refusal("a {a, b, c}", cap=2).message.startswith("3 jobs: at most 2")


def test_a_huge_permutation_is_refused_without_being_expanded():
    problem = refusal("{a, b} " * 60)  # 2**60 combinations
    assert problem.message.startswith("More than 1,000,000 jobs: at most 40")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a {red, blue bird", "The { at character 3 is never closed"),
        ("a {red, {blue} bird", "The { at character 3 is never closed"),
        ("a red} bird", "The } at character 6 closes nothing"),
        ("a {} bird", "The braces at character 3 are empty"),
        ("a {  } bird", "The braces at character 3 are empty"),
        ("{{{{{{a}}}}}}", "The { at character 6 opens a group 6 levels deep"),
    ],
)
def test_malformed_braces_are_refused_naming_the_problem_and_where(text, message):
    problem = refusal(text)
    assert problem.issue.code == Code.UNSUPPORTED_SYNTAX and problem.issue.param == "{}"
    assert problem.message.startswith(message)


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        ("a cat --repeat", Code.MISSING_VALUE, "--repeat needs a value: a whole number from 1"),
        ("a cat --r --ar 1:1", Code.MISSING_VALUE, "--r needs a value"),
        ("a cat --r two", Code.INVALID_VALUE, "--r must be a whole number from 1 to 40"),
        ("a cat --r 0", Code.PARAM_OUT_OF_RANGE, "--r must be a whole number from 1 to 40"),
        ("a cat --r 41", Code.PARAM_OUT_OF_RANGE, "--r must be a whole number from 1 to 40"),
        ("a cat --r 2 --repeat 3", Code.DUPLICATE_PARAM, "--repeat is given more than once"),
        ("a {cat --r 2, dog}", Code.INVALID_VALUE, "--r must stand outside the braces"),
        ("a cat --r {2, 3}", Code.INVALID_VALUE, "--r takes one whole number, not braces"),
    ],
)
def test_a_bad_repeat_is_refused_naming_the_rule(text, code, message):
    problem = refusal(text)
    assert (problem.issue.code, problem.issue.param) == (code, "--repeat")
    assert problem.message.startswith(message)


def test_batch_syntax_is_recognised_and_stray_braces_are_not():
    assert uses_batch_syntax("a {cat, dog}")
    assert uses_batch_syntax("a cat --r 2")
    assert uses_batch_syntax("a cat --REPEAT 2")
    assert not uses_batch_syntax("a cat --raw --ar 1:1")
    assert not uses_batch_syntax("a smiley :}")
    assert not uses_batch_syntax("a cat \\{sic\\}")


def test_each_job_of_a_batch_gets_its_own_request_id_within_the_column():
    assert [job_request_id("abc", i) for i in range(3)] == ["abc#1", "abc#2", "abc#3"]
    assert job_request_id("", 0) == ""
    long = [job_request_id("k" * 64, i) for i in range(40)]
    assert len(set(long)) == 40 and all(len(x) <= 64 for x in long)
    assert job_request_id("k" * 64, 0) != job_request_id("k" * 63 + "j", 0)

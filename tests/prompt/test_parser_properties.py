"""Property tests of the prompt parser: nothing crashes it, and what it
renders parses back to the same structure."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gallery.catalog.prompt import (
    PARAMETERS,
    Issue,
    LintResult,
    Prompt,
    PromptError,
    StyleRef,
    lint,
    parse,
)

SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

OPERATIONS = st.sampled_from(
    ["mj-v7", "mj-v7-remix", "mj-v7-variation", "mj-v7-pan", "mj-v7-inpaint", "mj-v7-edit"]
)
SPEEDS = st.sampled_from(["draft", "fast", "turbo", None])


def check_any_input(text: str, operation: str = "mj-v7", speed: str | None = "fast") -> None:
    """The contract for any input: lint returns, parse returns a prompt or
    raises PromptError (and nothing else), and a parsed prompt round-trips."""
    result = lint(text, operation=operation, speed=speed)
    assert isinstance(result, LintResult)
    assert all(isinstance(issue, Issue) for issue in result.issues)
    assert (result.prompt is None) == bool(result.errors)
    try:
        prompt = parse(text, operation=operation, speed=speed)
    except PromptError as error:
        assert error.issues
        assert error.issues == result.errors
        return
    rendered = prompt.render()
    again = lint(rendered, operation=operation, speed=speed)
    assert again.errors == ()
    assert again.prompt == prompt
    assert again.prompt.render() == rendered
    # Removed flags are gone after the first pass, so only warnings about the
    # parameters themselves can remain.
    assert {w.code for w in again.warnings} <= {w.code for w in result.warnings}


# --- any string -------------------------------------------------------------------


@SETTINGS
@given(st.text(max_size=300), OPERATIONS, SPEEDS)
def test_any_string_is_parsed_or_rejected_with_prompt_error(
    text: str, operation: str, speed: str | None
) -> None:
    check_any_input(text, operation, speed)


# --- token soup: random but prompt-shaped ------------------------------------------

NAMES = sorted(
    {f"--{name}" for spec in PARAMETERS for name in (spec.name, *spec.aliases)}
    | {"--v", "--version", "--niji", "--fast", "--turbo", "--draft", "--relax"}
    | {"--cref", "--cw", "--stop", "--repeat", "--r", "--p", "--stealth", "--public"}
    | {"--style", "--", "--AR", "--Stylize", "—ar", "--ar16:9"}
)
URLS = [
    "https://example.com/a.png",
    "https://cdn.example.org/b.JPG?x=1",
    "http://example.net/c.webp",
    "https://example.com/page",
    "http://localhost/a.png",
    "http://10.0.0.1/a.png",
    "http://[::1]/a.png",
    "http://[zz/a.png",
    "https://example.com/s.png::2",
    "ftp://example.com/a.png",
    "http://",
]
VALUES = [
    "0", "1", "2", "4", "6", "7", "100", "1000", "1001", "3000", "4294967295", "4294967296",
    "-1", "-0", "1.5", ".5", "3.01", "16:9", "0:1", "1:1.5", "random", "RANDOM", "123::2",
    "12::-1", "a,b", ",", "red, blue", "::", "{a,b}", "x--s", "—s", "\u0663",
    # past int()'s 4300-digit limit, leading zeros included
    "0" * 4400 + "5", "9" * 30, "1:" + "0" * 4400 + "1", "0" * 4400 + ".5",
]  # fmt: skip
WORDS = ["a", "cat", "on", "the", "mat", "{", "}", ":", "-", "well--known", "🐱", "x"]
TOKENS = st.sampled_from(NAMES + URLS + VALUES + WORDS) | st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6
)
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", " \u3000 "])


@st.composite
def token_soup(draw: st.DrawFn) -> str:
    tokens = draw(st.lists(TOKENS, max_size=25))
    out = []
    for token in tokens:
        out.append(token)
        out.append(draw(SEPARATORS))
    return "".join(out)


@SETTINGS
@given(token_soup(), OPERATIONS, SPEEDS)
def test_any_prompt_shaped_string_is_parsed_or_rejected_with_prompt_error(
    text: str, operation: str, speed: str | None
) -> None:
    check_any_input(text, operation, speed)


# --- structured valid prompts ------------------------------------------------------

# Words that are text and nothing else: no hyphens (flags), colons (multi-prompts),
# braces (permutations), and not starting like a URL.
WORD = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
        blacklist_characters="-:{}\u2012\u2013\u2014\u2015\u2212,",
    ),
    min_size=1,
    max_size=8,
).filter(lambda w: w.split() == [w] and not w.lower().startswith("http"))
TEXT = st.lists(WORD, min_size=1, max_size=6).map(" ".join)
HOSTS = st.sampled_from(["example.com", "cdn.example.org", "images.example.net", "8.8.8.8"])
PATHS = st.text(alphabet="abcdefghij0123456789_/", min_size=1, max_size=10)
EXTENSIONS = st.sampled_from([".png", ".gif", ".webp", ".jpg", ".jpeg", ".PNG"])


@st.composite
def image_url(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    return f"{scheme}://{draw(HOSTS)}/{draw(PATHS)}{draw(EXTENSIONS)}"


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


def int_between(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


STYLE_REF = st.builds(
    StyleRef,
    st.sampled_from(["random", "0", "42", "3141592653"]) | image_url(),
    optional(st.decimals(min_value=-5, max_value=100, places=2)),
)


@st.composite
def valid_prompts(draw: st.DrawFn) -> Prompt:
    images = draw(st.lists(image_url(), max_size=3))
    text = draw(TEXT)
    sref = tuple(draw(st.lists(STYLE_REF, max_size=4)))
    oref = draw(optional(image_url()))
    quality = draw(optional(st.sampled_from([1, 2] if oref else [1, 2, 4])))
    return Prompt(
        text=text,
        image_urls=tuple(images),
        aspect_ratio=draw(optional(st.tuples(int_between(1, 50), int_between(1, 50)))),
        stylize=draw(optional(int_between(0, 1000))),
        chaos=draw(optional(int_between(0, 100))),
        no=tuple(draw(st.lists(TEXT, max_size=3))),
        seed=draw(optional(int_between(0, 4294967295))),
        weird=draw(optional(int_between(0, 3000))),
        exp=draw(optional(int_between(0, 100))),
        quality=quality,
        raw=draw(st.booleans()),
        tile=draw(st.booleans()),
        image_weight=(
            draw(optional(st.decimals(min_value=0, max_value=3, places=2))) if images else None
        ),
        sref=sref,
        style_weight=draw(optional(int_between(0, 1000))) if sref else None,
        style_version=draw(optional(int_between(1, 6))) if sref else None,
        oref=oref,
        omni_weight=draw(optional(int_between(1, 1000))) if oref else None,
    )


@SETTINGS
@given(valid_prompts())
def test_a_structured_prompt_renders_to_a_string_that_parses_back_to_it(prompt: Prompt) -> None:
    rendered = prompt.render()
    parsed = parse(rendered)
    assert parsed == prompt
    assert parsed.render() == rendered


@SETTINGS
@given(valid_prompts(), st.lists(st.sampled_from(["--v 7", "--turbo", "--niji", "--relax"])))
def test_removed_flags_are_dropped_without_changing_the_rest(
    prompt: Prompt, removed: list[str]
) -> None:
    result = lint(" ".join([prompt.render(), *removed]))
    assert result.errors == ()
    assert result.prompt == prompt
    assert len(result.warnings) == len(removed)


@SETTINGS
@given(valid_prompts(), OPERATIONS, SPEEDS)
def test_a_structured_prompt_under_any_operation_and_speed_keeps_the_contract(
    prompt: Prompt, operation: str, speed: str | None
) -> None:
    check_any_input(prompt.render(), operation, speed)

"""Table-driven tests of the prompt parser and linter (gallery.catalog.prompt).

Three tables: prompts that are valid (with the normalised string they become),
prompts that are rejected (with the error code and parameter that must be
reported), and prompts that pass with a warning.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from gallery.catalog.prompt import (
    MAX_PROMPT_LENGTH,
    Code,
    PromptError,
    StyleRef,
    lint,
    mentions_oref,
    parse,
)

IMG = "https://example.com/a.png"
IMG2 = "https://cdn.example.org/b.jpg"
SREF = "https://example.com/style.webp"
OREF = "https://example.com/face.jpeg"
MEDIA = "http://127.0.0.1:8000/media/public"  # the app's own URL in the offline demo


def case(raw: str, expected: str, /, id: str, **options: Any) -> Any:
    return pytest.param(raw, expected, options, id=id)


def bad(raw: str, code: Code, param: str, /, id: str, **options: Any) -> Any:
    return pytest.param(raw, code, param, options, id=id)


VALID = [
    # text and whitespace
    case("a cat", "a cat", id="plain text"),
    case("  a   cat \t on a mat  ", "a cat on a mat", id="whitespace collapses"),
    case("a cat\n--ar 16:9", "a cat --ar 16:9", id="newline before a parameter"),
    case("a cat, at night. --s 50", "a cat, at night. --s 50", id="punctuation in text"),
    case("一只猫 🐱 --ar 1:1", "一只猫 🐱 --ar 1:1", id="unicode text"),
    case("a well-known cat", "a well-known cat", id="hyphenated word"),
    case("a cat - a dog", "a cat - a dog", id="lone hyphen"),
    case("a well--known cat", "a well--known cat", id="double hyphen inside a word"),
    case("ratio 3:2 painting", "ratio 3:2 painting", id="single colon in text"),
    case("a {cat", "a {cat", id="lone brace is text"),
    case(f"a cat like {IMG}", f"a cat like {IMG}", id="url inside text is text"),
    case("a" * MAX_PROMPT_LENGTH, "a" * MAX_PROMPT_LENGTH, id="exactly the length limit"),
    # --ar
    case("a cat --ar 16:9", "a cat --ar 16:9", id="ar"),
    case("a cat --aspect 2:3", "a cat --ar 2:3", id="aspect is ar"),
    case("a cat --ar 016:09", "a cat --ar 16:9", id="ar leading zeros"),
    case("a cat --AR 1:1", "a cat --ar 1:1", id="parameter names ignore case"),
    case("a cat --ar 32:18", "a cat --ar 32:18", id="ar not reduced"),
    # --s / --stylize
    case("a cat --s 0", "a cat --s 0", id="s minimum"),
    case("a cat --s 1000", "a cat --s 1000", id="s maximum"),
    case("a cat --stylize 250", "a cat --s 250", id="stylize alias"),
    case("a cat --s 007", "a cat --s 7", id="s leading zeros"),
    case("a cat --s -0", "a cat --s 0", id="s minus zero"),
    case("a cat --seed " + "0" * 5000 + "7", "a cat --seed 7", id="seed 5000 leading zeros"),
    case("a cat --ar " + "0" * 5000 + "2:1", "a cat --ar 2:1", id="ar 5000 leading zeros"),
    # --c / --chaos
    case("a cat --c 0", "a cat --c 0", id="c minimum"),
    case("a cat --c 100", "a cat --c 100", id="c maximum"),
    case("a cat --chaos 50", "a cat --c 50", id="chaos alias"),
    # --no
    case("a cat --no dogs", "a cat --no dogs", id="no one keyword"),
    case("a cat --no red, blue", "a cat --no red, blue", id="no two keywords"),
    case("a cat --no red,blue", "a cat --no red, blue", id="no without spaces"),
    case("a cat --no  fast  cars , trees", "a cat --no fast cars, trees", id="no multiword"),
    case("a cat --no a,,b,", "a cat --no a, b", id="no empty keywords dropped"),
    case("a cat --no a --s 5", "a cat --s 5 --no a", id="no then another parameter"),
    # --seed
    case("a cat --seed 0", "a cat --seed 0", id="seed minimum"),
    case("a cat --seed 4294967295", "a cat --seed 4294967295", id="seed maximum"),
    # --w / --weird
    case("a cat --w 0", "a cat --w 0", id="w minimum"),
    case("a cat --w 3000", "a cat --w 3000", id="w maximum"),
    case("a cat --weird 10", "a cat --w 10", id="weird alias"),
    # --exp
    case("a cat --exp 0", "a cat --exp 0", id="exp minimum"),
    case("a cat --exp 100", "a cat --exp 100", id="exp maximum"),
    case("a cat --exp 25", "a cat --exp 25", id="exp middle"),
    # --q / --quality
    case("a cat --q 1", "a cat --q 1", id="q 1"),
    case("a cat --q 2", "a cat --q 2", id="q 2"),
    case("a cat --q 4", "a cat --q 4", id="q 4"),
    case("a cat --quality 2", "a cat --q 2", id="quality alias"),
    # flags
    case("a cat --raw", "a cat --raw", id="raw"),
    case("a cat --tile", "a cat --tile", id="tile"),
    case("a cat --RAW", "a cat --raw", id="raw upper case"),
    case("a cat --tile --raw", "a cat --raw --tile", id="flags in canonical order"),
    # image prompts
    case(f"{IMG} a cat", f"{IMG} a cat", id="one image and text"),
    case(f"{IMG} {IMG2}", f"{IMG} {IMG2}", id="two images without text"),
    case(f"{IMG} {IMG2} a cat", f"{IMG} {IMG2} a cat", id="two images and text"),
    case("https://example.com/a.PNG a cat", "https://example.com/a.PNG a cat", id="ext case"),
    case("http://example.com/a.gif a cat", "http://example.com/a.gif a cat", id="gif over http"),
    case("https://example.com/a.webp a cat", "https://example.com/a.webp a cat", id="webp"),
    case("https://example.com/a.jpg a cat", "https://example.com/a.jpg a cat", id="jpg"),
    case("https://example.com/a.jpeg a cat", "https://example.com/a.jpeg a cat", id="jpeg"),
    case(
        "https://cdn.example.com/a.jpg?ex=1&x=2 a cat",
        "https://cdn.example.com/a.jpg?ex=1&x=2 a cat",
        id="image with query string",
    ),
    case("http://8.8.8.8/a.png a cat", "http://8.8.8.8/a.png a cat", id="public ip image"),
    case(
        f"{MEDIA}/up.png a cat",
        f"{MEDIA}/up.png a cat",
        id="trusted app url",
        trusted_url_prefixes=[MEDIA],
    ),
    case(" ".join([IMG] * 20), " ".join([IMG] * 20), id="twenty image prompts"),
    # --iw
    case(f"{IMG} a cat --iw 0", f"{IMG} a cat --iw 0", id="iw minimum"),
    case(f"{IMG} a cat --iw 3", f"{IMG} a cat --iw 3", id="iw maximum"),
    case(f"{IMG} a cat --iw 1.5", f"{IMG} a cat --iw 1.5", id="iw decimal"),
    case(f"{IMG} a cat --iw .5", f"{IMG} a cat --iw 0.5", id="iw leading dot"),
    case(f"{IMG} a cat --iw 2.50", f"{IMG} a cat --iw 2.5", id="iw trailing zero"),
    case(f"{IMG} a cat --iw 1.", f"{IMG} a cat --iw 1", id="iw trailing dot"),
    # --sref / --sw / --sv
    case(f"a cat --sref {SREF}", f"a cat --sref {SREF}", id="sref url"),
    case("a cat --sref 123456", "a cat --sref 123456", id="sref code"),
    case("a cat --sref random", "a cat --sref random", id="sref random"),
    case("a cat --sref RANDOM", "a cat --sref random", id="sref random upper case"),
    case(f"a cat --sref {SREF}::2", f"a cat --sref {SREF}::2", id="sref weight"),
    case("a cat --sref 123::2.0", "a cat --sref 123::2", id="sref weight normalised"),
    case(
        f"a cat --sref {SREF} {IMG}::0.5 42",
        f"a cat --sref {SREF} {IMG}::0.5 42",
        id="sref several",
    ),
    case(
        "a cat --sref " + " ".join(str(n) for n in range(20)),
        "a cat --sref " + " ".join(str(n) for n in range(20)),
        id="sref twenty",
    ),
    case("a cat --sref 1 --sw 0", "a cat --sref 1 --sw 0", id="sw minimum"),
    case("a cat --sref 1 --sw 1000", "a cat --sref 1 --sw 1000", id="sw maximum"),
    case("a cat --sref 1 --sv 1", "a cat --sref 1 --sv 1", id="sv minimum"),
    case("a cat --sref 1 --sv 6", "a cat --sref 1 --sv 6", id="sv maximum"),
    case("a cat --sv 4 --sref 1", "a cat --sref 1 --sv 4", id="sv before sref"),
    # --oref / --ow
    case(f"a cat --oref {OREF}", f"a cat --oref {OREF}", id="oref"),
    case(f"a cat --oref {OREF} --ow 1", f"a cat --oref {OREF} --ow 1", id="ow minimum"),
    case(f"a cat --oref {OREF} --ow 1000", f"a cat --oref {OREF} --ow 1000", id="ow maximum"),
    case(f"a cat --oref {OREF} --q 2", f"a cat --q 2 --oref {OREF}", id="oref with q 2"),
    case(
        f"a cat --oref {OREF}",
        f"a cat --oref {OREF}",
        id="oref on a remix",
        operation="mj-v7-remix",
    ),
    case(
        f"a cat --oref {OREF}",
        f"a cat --oref {OREF}",
        id="oref where speed does not apply",
        operation="mj-v7-variation",
        speed=None,
    ),
    # speeds and operations
    case("a cat --tile", "a cat --tile", id="tile at turbo", speed="turbo"),
    case("a cat --seed 5", "a cat --seed 5", id="seed at draft", speed="draft"),
    case("a cat --ar 1:2", "a cat --ar 1:2", id="pan prompt", operation="mj-v7-pan"),
    # everything at once, out of order
    case(
        f"{IMG} a cat --ow 5 --oref {OREF} --sv 2 --sw 9 --sref 7 --iw 2 --tile --raw "
        "--quality 2 --exp 5 --weird 9 --seed 3 --no x --chaos 1 --stylize 2 --aspect 3:4",
        f"{IMG} a cat --ar 3:4 --s 2 --c 1 --no x --seed 3 --w 9 --exp 5 --q 2 --raw --tile "
        f"--iw 2 --sref 7 --sw 9 --sv 2 --oref {OREF} --ow 5",
        id="every parameter in canonical order",
    ),
]


INVALID = [
    # the prompt as a whole
    bad("", Code.EMPTY_PROMPT, "prompt", id="empty"),
    bad(" \n\t ", Code.EMPTY_PROMPT, "prompt", id="only whitespace"),
    bad("a" * (MAX_PROMPT_LENGTH + 1), Code.PROMPT_TOO_LONG, "prompt", id="one char too long"),
    bad(
        "a" * (MAX_PROMPT_LENGTH - 8) + f" {IMG} --iw .5",
        Code.PROMPT_TOO_LONG,
        "prompt",
        id="too long once normalised",
    ),
    bad("a\x00cat", Code.INVALID_CHARACTER, "prompt", id="nul character"),
    bad("a\x07cat", Code.INVALID_CHARACTER, "prompt", id="bell character"),
    bad("a\ud800cat", Code.INVALID_CHARACTER, "prompt", id="lone surrogate"),
    bad("--ar 16:9", Code.MISSING_TEXT, "prompt", id="only parameters"),
    bad("--v 7", Code.MISSING_TEXT, "prompt", id="only a removed flag"),
    bad(IMG, Code.IMAGE_WITHOUT_TEXT, "prompt", id="one image without text"),
    bad(f"{IMG} --ar 1:1", Code.IMAGE_WITHOUT_TEXT, "prompt", id="one image and parameters"),
    bad("a {red,blue} car", Code.UNSUPPORTED_SYNTAX, "{}", id="permutation"),
    bad("a {red} car", Code.UNSUPPORTED_SYNTAX, "{}", id="one option permutation"),
    bad("cat::2 dog", Code.UNSUPPORTED_SYNTAX, "::", id="multi prompt"),
    bad("cat:: dog", Code.UNSUPPORTED_SYNTAX, "::", id="multi prompt separator"),
    # text after the parameters
    bad("a cat --ar 16:9 in the rain", Code.TEXT_AFTER_PARAMS, "--ar", id="text after ar"),
    bad("a cat --raw please", Code.TEXT_AFTER_PARAMS, "--raw", id="text after a flag"),
    bad("a cat --s 5 6", Code.TEXT_AFTER_PARAMS, "--s", id="two values for s"),
    bad("a cat --sref 123 in pastel", Code.TEXT_AFTER_PARAMS, "--sref", id="text after sref"),
    bad(f"a cat --oref {OREF} smiling", Code.TEXT_AFTER_PARAMS, "--oref", id="text after oref"),
    bad("a cat --fast now", Code.TEXT_AFTER_PARAMS, "--fast", id="text after a removed flag"),
    bad("a cat --v 7 tonight", Code.TEXT_AFTER_PARAMS, "--v", id="text after version"),
    # unknown and unsupported parameters
    bad("a cat --foo 1", Code.UNKNOWN_PARAM, "--foo", id="unknown"),
    bad("a cat --style raw", Code.UNKNOWN_PARAM, "--style", id="style"),
    bad("a cat --hd", Code.UNKNOWN_PARAM, "--hd", id="hd"),
    bad("a cat --stylze 5", Code.UNKNOWN_PARAM, "--stylze", id="typo"),
    bad("a cat -- 5", Code.UNKNOWN_PARAM, "--", id="bare double hyphen"),
    bad(f"a cat --cref {IMG}", Code.UNSUPPORTED_PARAM, "--cref", id="cref"),
    bad("a cat --cw 50", Code.UNSUPPORTED_PARAM, "--cw", id="cw"),
    bad("a cat --stop 50", Code.UNSUPPORTED_PARAM, "--stop", id="stop"),
    bad("a cat --repeat 2", Code.UNSUPPORTED_PARAM, "--repeat", id="repeat"),
    bad("a cat --r 2", Code.UNSUPPORTED_PARAM, "--r", id="r"),
    bad("a cat --p", Code.UNSUPPORTED_PARAM, "--p", id="p"),
    bad("a cat --p abc123", Code.UNSUPPORTED_PARAM, "--p", id="p with a code"),
    bad("a cat --personalize", Code.UNSUPPORTED_PARAM, "--personalize", id="personalize"),
    bad("a cat --stealth", Code.UNSUPPORTED_PARAM, "--stealth", id="stealth"),
    bad("a cat --public", Code.UNSUPPORTED_PARAM, "--public", id="public"),
    bad("a cat --CREF x", Code.UNSUPPORTED_PARAM, "--cref", id="unsupported upper case"),
    # malformed parameters
    bad("cat--ar 16:9", Code.MALFORMED_PARAM, "--ar", id="no space before flag"),
    bad("a cat --ar16:9", Code.MALFORMED_PARAM, "--ar", id="no space after flag"),
    bad("a cat --s100", Code.MALFORMED_PARAM, "--s", id="no space after s"),
    bad("a cat \u2014ar 16:9", Code.MALFORMED_PARAM, "--ar", id="em dash"),
    bad("a cat \u2013s 100", Code.MALFORMED_PARAM, "--s", id="en dash"),
    # duplicates
    bad("a cat --s 5 --s 6", Code.DUPLICATE_PARAM, "--s", id="s twice"),
    bad("a cat --s 5 --stylize 6", Code.DUPLICATE_PARAM, "--s", id="s and its alias"),
    bad("a cat --raw --raw", Code.DUPLICATE_PARAM, "--raw", id="raw twice"),
    bad("a cat --no a --no b", Code.DUPLICATE_PARAM, "--no", id="no twice"),
    bad("a cat --sref 1 --sref 2", Code.DUPLICATE_PARAM, "--sref", id="sref twice"),
    # --ar
    bad("a cat --ar 16/9", Code.INVALID_VALUE, "--ar", id="ar slash"),
    bad("a cat --ar 1.5:1", Code.INVALID_VALUE, "--ar", id="ar decimal"),
    bad("a cat --ar 16:9:1", Code.INVALID_VALUE, "--ar", id="ar three parts"),
    bad("a cat --ar wide", Code.INVALID_VALUE, "--ar", id="ar word"),
    bad("a cat --ar 0:1", Code.PARAM_OUT_OF_RANGE, "--ar", id="ar zero"),
    bad("a cat --ar -16:9", Code.PARAM_OUT_OF_RANGE, "--ar", id="ar negative"),
    bad("a cat --ar", Code.MISSING_VALUE, "--ar", id="ar without value"),
    bad("a cat --ar 1:" + "9" * 21, Code.PARAM_OUT_OF_RANGE, "--ar", id="ar side too long"),
    # --s
    bad("a cat --s 1001", Code.PARAM_OUT_OF_RANGE, "--s", id="s above"),
    bad("a cat --s -1", Code.PARAM_OUT_OF_RANGE, "--s", id="s below"),
    bad("a cat --stylize 2000", Code.PARAM_OUT_OF_RANGE, "--s", id="stylize above"),
    bad("a cat --s " + "9" * 40, Code.PARAM_OUT_OF_RANGE, "--s", id="s huge"),
    bad("a cat --s abc", Code.INVALID_VALUE, "--s", id="s word"),
    bad("a cat --s 1.5", Code.INVALID_VALUE, "--s", id="s decimal"),
    bad("a cat --s \u0661\u0662", Code.INVALID_VALUE, "--s", id="s non-ascii digits"),
    bad("a cat --s", Code.MISSING_VALUE, "--s", id="s without value"),
    bad("a cat --s --c 5", Code.MISSING_VALUE, "--s", id="s followed by a flag"),
    # --c
    bad("a cat --c 101", Code.PARAM_OUT_OF_RANGE, "--c", id="c above"),
    bad("a cat --chaos -5", Code.PARAM_OUT_OF_RANGE, "--c", id="chaos below"),
    bad("a cat --c lots", Code.INVALID_VALUE, "--c", id="c word"),
    # --seed
    bad("a cat --seed 4294967296", Code.PARAM_OUT_OF_RANGE, "--seed", id="seed above"),
    bad("a cat --seed -1", Code.PARAM_OUT_OF_RANGE, "--seed", id="seed below"),
    bad("a cat --seed 1e5", Code.INVALID_VALUE, "--seed", id="seed exponent"),
    # --w
    bad("a cat --w 3001", Code.PARAM_OUT_OF_RANGE, "--w", id="w above"),
    bad("a cat --weird x", Code.INVALID_VALUE, "--w", id="weird word"),
    # --exp
    bad("a cat --exp 101", Code.PARAM_OUT_OF_RANGE, "--exp", id="exp above"),
    bad("a cat --exp -1", Code.PARAM_OUT_OF_RANGE, "--exp", id="exp below"),
    # --q
    bad("a cat --q 3", Code.INVALID_CHOICE, "--q", id="q 3"),
    bad("a cat --q 8", Code.INVALID_CHOICE, "--q", id="q 8"),
    bad("a cat --quality 0", Code.INVALID_CHOICE, "--q", id="quality 0"),
    bad("a cat --q 0.5", Code.INVALID_VALUE, "--q", id="q decimal"),
    bad("a cat --q " + "4" * 30, Code.INVALID_CHOICE, "--q", id="q huge"),
    # --no
    bad("a cat --no", Code.MISSING_VALUE, "--no", id="no without value"),
    bad("a cat --no ,", Code.MISSING_VALUE, "--no", id="no only commas"),
    bad("a cat --no red::2", Code.UNSUPPORTED_SYNTAX, "::", id="no weight"),
    bad("a cat --no {red,blue}", Code.UNSUPPORTED_SYNTAX, "{}", id="no permutation"),
    bad("a cat --no a,--x", Code.INVALID_VALUE, "--no", id="no keyword with hyphens"),
    bad("a cat --no red--s", Code.MALFORMED_PARAM, "--s", id="no glued flag"),
    # image prompts
    bad("http://example.com/a.txt a cat", Code.UNSUPPORTED_IMAGE_TYPE, "image_prompt", id="txt"),
    bad("https://example.com/page a cat", Code.UNSUPPORTED_IMAGE_TYPE, "image_prompt", id="page"),
    bad("https://example.com/a.svg a cat", Code.UNSUPPORTED_IMAGE_TYPE, "image_prompt", id="svg"),
    bad("http://localhost/a.png a cat", Code.URL_NOT_PUBLIC, "image_prompt", id="localhost"),
    bad("http://192.168.1.2/a.png a cat", Code.URL_NOT_PUBLIC, "image_prompt", id="private ip"),
    bad("http://[::1]/a.png a cat", Code.URL_NOT_PUBLIC, "image_prompt", id="ipv6 loopback"),
    bad("http://127.1/a.png a cat", Code.URL_NOT_PUBLIC, "image_prompt", id="short ip form"),
    bad("http://169.254.169.254/a.png a", Code.URL_NOT_PUBLIC, "image_prompt", id="metadata ip"),
    bad("https://files/a.png a cat", Code.URL_NOT_PUBLIC, "image_prompt", id="single label"),
    bad("https://x.internal/a.png a", Code.URL_NOT_PUBLIC, "image_prompt", id="internal tld"),
    bad(
        f"{MEDIA}/up.png a cat",
        Code.URL_NOT_PUBLIC,
        "image_prompt",
        id="app url when not trusted",
    ),
    bad("http:// a cat", Code.INVALID_URL, "image_prompt", id="no host"),
    bad("http://[zz/a.png a cat", Code.INVALID_URL, "image_prompt", id="broken ipv6"),
    bad("https://example.com:99999/a.png a", Code.INVALID_URL, "image_prompt", id="bad port"),
    bad("https://exa<mple.com/a.png a", Code.INVALID_URL, "image_prompt", id="bad host"),
    bad(" ".join([IMG] * 21), Code.TOO_MANY_VALUES, "image_prompt", id="21 image prompts"),
    # --iw
    bad("a cat --iw 1", Code.REQUIRES_IMAGE_PROMPT, "--iw", id="iw without image"),
    bad(f"{IMG} a cat --iw 3.1", Code.PARAM_OUT_OF_RANGE, "--iw", id="iw above"),
    bad(f"{IMG} a cat --iw -0.5", Code.PARAM_OUT_OF_RANGE, "--iw", id="iw below"),
    bad(f"{IMG} a cat --iw x", Code.INVALID_VALUE, "--iw", id="iw word"),
    bad(f"{IMG} a cat --iw", Code.MISSING_VALUE, "--iw", id="iw without value"),
    # --sref, --sw, --sv
    bad("a cat --sref", Code.MISSING_VALUE, "--sref", id="sref without value"),
    bad("a cat --sref pastel", Code.INVALID_VALUE, "--sref", id="sref word"),
    bad("a cat --sref ftp://example.com/s.png", Code.INVALID_VALUE, "--sref", id="sref ftp"),
    bad("a cat --sref http://10.0.0.1/s.png", Code.URL_NOT_PUBLIC, "--sref", id="sref private"),
    bad("a cat --sref https://example.com:x/s", Code.INVALID_URL, "--sref", id="sref bad url"),
    bad(
        "a cat --sref " + " ".join(str(n) for n in range(21)),
        Code.TOO_MANY_VALUES,
        "--sref",
        id="sref 21",
    ),
    bad(f"{IMG} {IMG2} --sref 1", Code.REQUIRES_TEXT, "--sref", id="sref without text"),
    bad("a cat --sw 5", Code.REQUIRES_SREF, "--sw", id="sw without sref"),
    bad("a cat --sv 4", Code.REQUIRES_SREF, "--sv", id="sv without sref"),
    bad("a cat --sref 1 --sw 1001", Code.PARAM_OUT_OF_RANGE, "--sw", id="sw above"),
    bad("a cat --sref 1 --sw -1", Code.PARAM_OUT_OF_RANGE, "--sw", id="sw below"),
    bad("a cat --sref 1 --sv 7", Code.PARAM_OUT_OF_RANGE, "--sv", id="sv above"),
    bad("a cat --sref 1 --sv 0", Code.PARAM_OUT_OF_RANGE, "--sv", id="sv below"),
    bad("a cat --sref pastel --sw 5", Code.INVALID_VALUE, "--sref", id="sw with broken sref"),
    # --oref and its rules
    bad("a cat --oref", Code.MISSING_VALUE, "--oref", id="oref without value"),
    bad("a cat --oref face", Code.INVALID_VALUE, "--oref", id="oref word"),
    bad(f"a cat --oref {OREF} {IMG}", Code.TOO_MANY_VALUES, "--oref", id="oref two urls"),
    bad("a cat --oref http://10.0.0.1/f.png", Code.URL_NOT_PUBLIC, "--oref", id="oref private"),
    bad(f"{IMG} {IMG2} --oref {OREF}", Code.REQUIRES_TEXT, "--oref", id="oref without text"),
    bad(f"a cat --oref {OREF}", Code.SPEED_CONFLICT, "--oref", id="oref draft", speed="draft"),
    bad(f"a cat --oref {OREF}", Code.SPEED_CONFLICT, "--oref", id="oref turbo", speed="turbo"),
    bad(
        f"a cat --oref {OREF}",
        Code.NOT_ALLOWED,
        "--oref",
        id="oref inpaint",
        operation="mj-v7-inpaint",
    ),
    bad(f"a cat --oref {OREF}", Code.NOT_ALLOWED, "--oref", id="oref pan", operation="mj-v7-pan"),
    bad(
        f"a cat --oref {OREF}",
        Code.NOT_ALLOWED,
        "--oref",
        id="oref outpaint",
        operation="mj-v7-outpaint",
    ),
    bad(f"a cat --q 4 --oref {OREF}", Code.CONFLICTING_PARAMS, "--q", id="q 4 with oref"),
    bad(f"a cat --oref {OREF} --ow 0", Code.PARAM_OUT_OF_RANGE, "--ow", id="ow below"),
    bad(f"a cat --oref {OREF} --ow 1001", Code.PARAM_OUT_OF_RANGE, "--ow", id="ow above"),
    # --tile
    bad("a cat --tile", Code.SPEED_CONFLICT, "--tile", id="tile at draft", speed="draft"),
]


WARNINGS = [
    case("a cat --v 7", "a cat", id="v removed", code=Code.VERSION_FLAG_REMOVED, param="--v"),
    case("a cat --V 7", "a cat", id="V removed", code=Code.VERSION_FLAG_REMOVED, param="--v"),
    case(
        "a cat --version 6.1 --s 5",
        "a cat --s 5",
        id="version removed",
        code=Code.VERSION_FLAG_REMOVED,
        param="--version",
    ),
    case(
        "a cat --niji 6", "a cat", id="niji removed", code=Code.VERSION_FLAG_REMOVED, param="--niji"
    ),
    case(
        "a cat --niji --raw",
        "a cat --raw",
        id="niji without value",
        code=Code.VERSION_FLAG_REMOVED,
        param="--niji",
    ),
    case("a cat --fast", "a cat", id="fast removed", code=Code.SPEED_FLAG_REMOVED, param="--fast"),
    case(
        "a cat --turbo", "a cat", id="turbo removed", code=Code.SPEED_FLAG_REMOVED, param="--turbo"
    ),
    case(
        "a cat --draft --ar 1:1",
        "a cat --ar 1:1",
        id="draft removed",
        code=Code.SPEED_FLAG_REMOVED,
        param="--draft",
    ),
    case(
        "a cat --relax", "a cat", id="relax removed", code=Code.SPEED_FLAG_REMOVED, param="--relax"
    ),
    case(
        "a cat --seed 5",
        "a cat --seed 5",
        id="seed at turbo",
        speed="turbo",
        code=Code.PARAM_IGNORED,
        param="--seed",
    ),
    case(
        "a cat --ow 100",
        "a cat --ow 100",
        id="ow without oref",
        code=Code.PARAM_IGNORED,
        param="--ow",
    ),
]


def _lint_options(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if k not in ("code", "param")}


@pytest.mark.parametrize(("raw", "expected", "options"), VALID)
def test_it_accepts_and_normalises_the_prompt(raw: str, expected: str, options: dict) -> None:
    result = lint(raw, **options)
    assert result.errors == ()
    assert result.warnings == ()
    assert result.normalized == expected
    assert parse(expected, **options).render() == expected


@pytest.mark.parametrize(("raw", "code", "param", "options"), INVALID)
def test_it_rejects_the_prompt_with_a_code_and_a_parameter(
    raw: str, code: Code, param: str, options: dict
) -> None:
    result = lint(raw, **options)
    assert result.prompt is None
    assert (code, param) in {(issue.code, issue.param) for issue in result.errors}, result.errors
    assert all(issue.message and issue.severity == "error" for issue in result.errors)
    with pytest.raises(PromptError) as raised:
        parse(raw, **options)
    assert raised.value.issues == result.errors


@pytest.mark.parametrize(("raw", "expected", "options"), WARNINGS)
def test_it_accepts_the_prompt_with_a_warning(raw: str, expected: str, options: dict) -> None:
    result = lint(raw, **_lint_options(options))
    assert result.errors == ()
    assert [(w.code, w.param) for w in result.warnings] == [(options["code"], options["param"])]
    assert result.normalized == expected


def test_the_table_has_at_least_150_cases() -> None:
    assert len(VALID) + len(INVALID) + len(WARNINGS) >= 150


# --- messages and structure -----------------------------------------------------


def test_a_range_error_reads_as_a_sentence() -> None:
    [issue] = lint("a cat --s 2000").errors
    assert issue.message == "--s must be between 0 and 1000 (got 2000)"


def test_a_speed_warning_says_how_to_choose_speed_instead() -> None:
    [warning] = lint("a cat --turbo").warnings
    assert "speed" in warning.message
    assert "draft, fast or turbo" in warning.message


def test_an_unsupported_parameter_is_named_in_the_message() -> None:
    [issue] = lint("a cat --cref https://example.com/c.png").errors
    assert "--cref" in issue.message
    assert "--oref" in issue.message


def test_a_typo_suggests_the_parameter_meant() -> None:
    [issue] = lint("a cat --chaoss 5").errors
    assert "did you mean --chaos?" in issue.message


def test_text_after_the_parameters_is_quoted_back() -> None:
    [issue] = lint("a cat --ar 16:9 in the rain").errors
    assert "'in the rain'" in issue.message


def test_a_huge_value_is_shortened_in_the_message() -> None:
    [issue] = lint("a cat --s " + "9" * 500).errors
    assert len(issue.message) < 120


def test_the_parsed_structure_holds_typed_values() -> None:
    prompt = parse(
        f"{IMG} a cat --ar 16:9 --s 50 --no red, blue --iw 1.25 --sref 12::2 random --raw"
    )
    assert prompt.image_urls == (IMG,)
    assert prompt.text == "a cat"
    assert prompt.aspect_ratio == (16, 9)
    assert prompt.stylize == 50
    assert prompt.no == ("red", "blue")
    assert prompt.image_weight == Decimal("1.25")
    assert prompt.sref == (StyleRef("12", Decimal(2)), StyleRef("random"))
    assert prompt.raw is True
    assert prompt.tile is False
    assert list(prompt.params) == ["--ar", "--s", "--no", "--raw", "--iw", "--sref"]


def test_a_zero_value_is_kept_not_mistaken_for_unset() -> None:
    prompt = parse("a cat --s 0 --c 0 --seed 0")
    assert prompt.params == {"--s": 0, "--c": 0, "--seed": 0}


def test_a_prompt_with_several_errors_reports_each() -> None:
    codes = {issue.code for issue in lint("a cat --s 5000 --c 500 --sw 5 --cref x").errors}
    assert codes == {
        Code.PARAM_OUT_OF_RANGE,
        Code.REQUIRES_SREF,
        Code.UNSUPPORTED_PARAM,
    }


def test_a_non_string_prompt_is_an_error_not_a_crash() -> None:
    result = lint(42)  # type: ignore[arg-type]
    assert [issue.code for issue in result.errors] == [Code.INVALID_VALUE]


def test_prompt_error_is_a_value_error_carrying_the_issues() -> None:
    with pytest.raises(ValueError, match="--c must be between 0 and 100") as raised:
        parse("a cat --c 200")
    assert isinstance(raised.value, PromptError)
    assert raised.value.issues[0].param == "--c"


def test_oref_is_found_for_pricing_even_in_a_broken_prompt() -> None:
    assert mentions_oref("a cat --OREF https://example.com/f.png --s 9000")
    assert not mentions_oref("a cat --ow 5")
    assert not mentions_oref(None)  # type: ignore[arg-type]

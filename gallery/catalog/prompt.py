"""Prompt parser and linter for Midjourney V7's native prompt syntax.

A prompt is `[image URLs] text --param value …` (providers.md §2.6). `lint()`
turns what a person typed into a structured `Prompt` plus the issues found;
`Prompt.render()` gives the normalised string that is sent upstream. Every
verdict is computed from the structure, not from the raw spelling, so a
rendered prompt always parses back to the same structure with no new issues.

Pure module: no Django, no I/O; it imports only `gallery.catalog.addresses`, as pure.
`gallery.catalog.operations` imports it, never the reverse, so operation facts reach
the linter only as arguments.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Literal
from urllib.parse import urlsplit

from gallery.catalog.addresses import check_address

MAX_PROMPT_LENGTH = 8192  # providers.md §2.5/§3.5, Vtrix `text` 1-8192 (§1.2)
MAX_IMAGE_PROMPTS = 20  # providers.md §2.6, under --iw
MAX_STYLE_REFERENCES = 20  # providers.md §2.6, --sref "max 20"
IMAGE_EXTENSIONS = (".png", ".gif", ".webp", ".jpg", ".jpeg")  # providers.md §2.5
SPEEDS = ("draft", "fast", "turbo")
# providers.md §2.6: "--oref … not for inpaint/pan/outpaint".
OREF_FORBIDDEN_OPERATIONS = frozenset({"mj-v7-inpaint", "mj-v7-pan", "mj-v7-outpaint"})
QUALITIES = (1, 2, 4)  # providers.md §2.6: --q is an enum 1, 2, 4; default 1
# Providers that neither document nor bill --q. reAPI's own page (SEED-004)
# leaves it out of its parameter table, and its billing rule is the (model,
# speed) rate, doubled for --oref, nothing else: --q 2 costs what --q 1 does
# there and may do nothing. evolink lists --q and says it "affects cost"
# (§2.6); Vtrix says nothing and is priced to err high. gallery.catalog.pricing reads
# this too, so the price and the linter never disagree.
QUALITY_NOT_BILLED_BY = frozenset({"reapi"})
PROVIDER_NAMES = {"evolink": "evolink", "reapi": "reAPI", "vtrix": "Vtrix"}


class Code(StrEnum):
    """Stable issue codes; the UI, the API and tests rely on these strings."""

    # whole prompt
    EMPTY_PROMPT = "empty_prompt"
    PROMPT_TOO_LONG = "prompt_too_long"
    INVALID_CHARACTER = "invalid_character"
    MISSING_TEXT = "missing_text"
    IMAGE_WITHOUT_TEXT = "image_without_text"
    TEXT_AFTER_PARAMS = "text_after_params"
    UNSUPPORTED_SYNTAX = "unsupported_syntax"
    # URLs
    INVALID_URL = "invalid_url"
    URL_NOT_PUBLIC = "url_not_public"
    UNSUPPORTED_IMAGE_TYPE = "unsupported_image_type"
    TOO_MANY_VALUES = "too_many_values"
    # one parameter
    UNKNOWN_PARAM = "unknown_param"
    UNSUPPORTED_PARAM = "unsupported_param"
    MALFORMED_PARAM = "malformed_param"
    DUPLICATE_PARAM = "duplicate_param"
    MISSING_VALUE = "missing_value"
    INVALID_VALUE = "invalid_value"
    INVALID_CHOICE = "invalid_choice"
    PARAM_OUT_OF_RANGE = "param_out_of_range"
    # cross-rules
    REQUIRES_SREF = "requires_sref"
    REQUIRES_IMAGE_PROMPT = "requires_image_prompt"
    REQUIRES_TEXT = "requires_text"
    SPEED_CONFLICT = "speed_conflict"
    CONFLICTING_PARAMS = "conflicting_params"
    NOT_ALLOWED = "not_allowed"
    # warnings
    VERSION_FLAG_REMOVED = "version_flag_removed"
    SPEED_FLAG_REMOVED = "speed_flag_removed"
    PARAM_IGNORED = "param_ignored"
    # request-level codes used by gallery.catalog.operations (kept here so there is one list)
    UNKNOWN_OPERATION = "unknown_operation"
    UNKNOWN_PROVIDER = "unknown_provider"
    UNSUPPORTED_OPERATION = "unsupported_operation"
    REQUIRED = "required"
    PARENT_NOT_COMPLETED = "parent_not_completed"
    PARENT_NOT_DRAFT = "parent_not_draft"
    UPSCALE_OF_UPSCALE = "upscale_of_upscale"
    RETEXTURE_ONLY_UPSCALE = "retexture_only_upscale"
    NO_SUCH_IMAGE = "no_such_image"
    PROVIDER_MISMATCH = "provider_mismatch"


Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    """One finding. `param` names what is at fault: a canonical flag such as
    "--s", "prompt" for the prompt as a whole, "image_prompt", or a request
    field ("task_id", "scale", …) when it comes from the operation catalog."""

    code: Code
    param: str
    message: str
    severity: Severity = "error"


class PromptError(ValueError):
    """The prompt (or request) cannot be sent; `issues` says why."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("; ".join(issue.message for issue in self.issues) or "invalid prompt")


# --- parameter table ---------------------------------------------------------

ParamKind = Literal["int", "decimal", "ratio", "choice", "flag", "keywords", "sref", "oref"]
# How the create bar's parameter panel offers a parameter; "" keeps it out of
# the panel (typed in the prompt only, or set by other means such as references).
Control = Literal["", "ratio", "slider", "number", "choice", "toggle"]


@dataclass(frozen=True)
class PromptParam:
    """A prompt parameter as documented in providers.md §2.6 (and SEED-004)."""

    name: str  # canonical flag without dashes, as rendered
    field: str  # attribute of `Prompt`
    kind: ParamKind
    aliases: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[int, ...] = ()
    default: str = ""
    label: str = ""  # its name for people, as the panel labels it
    hint: str = ""  # one line of help under its control
    control: Control = ""
    speeds: tuple[str, ...] = SPEEDS  # the speeds it works at (an error at others)
    ignored_at: tuple[str, ...] = ()  # speeds at which it is accepted but does nothing
    ignored_by: tuple[str, ...] = ()  # providers that accept it and may do nothing with it

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def names(self) -> tuple[str, ...]:
        """Every spelling the linter reads as this parameter."""
        return (self.name, *self.aliases)


# Order here is the order of the normalised string.
PARAMETERS: tuple[PromptParam, ...] = (
    # --aspect is Midjourney's long spelling of --ar; accepting it costs nothing.
    PromptParam(
        "ar",
        "aspect_ratio",
        "ratio",
        ("aspect",),
        default="1:1",
        label="Aspect ratio",
        hint="Width to height of the images, such as 16:9",
        control="ratio",
    ),
    PromptParam(
        "s",
        "stylize",
        "int",
        ("stylize",),
        0,
        1000,
        default="100",
        label="Stylize",
        hint="How strongly Midjourney's own look is applied",
        control="slider",
    ),
    PromptParam(
        "c",
        "chaos",
        "int",
        ("chaos",),
        0,
        100,
        default="0",
        label="Chaos",
        hint="How different the four images of a grid are from each other",
        control="slider",
    ),
    PromptParam("no", "no", "keywords", label="Negative prompt"),
    PromptParam(
        "seed",
        "seed",
        "int",
        (),
        0,
        4294967295,
        label="Seed",
        hint="The same seed and prompt give similar images; empty picks one at random",
        control="number",
        ignored_at=("turbo",),
    ),
    PromptParam(
        "w",
        "weird",
        "int",
        ("weird",),
        0,
        3000,
        default="0",
        label="Weird",
        hint="Quirky, unconventional results",
        control="slider",
    ),
    # §2.6 documents --exp as an integer 0-100 (Midjourney's UI offers steps of
    # 5/10/25/50/100, but the API guide states the full range).
    PromptParam(
        "exp",
        "exp",
        "int",
        (),
        0,
        100,
        default="0",
        label="Experimental",
        hint="More detail and dynamism, less faithful to the prompt",
        control="slider",
    ),
    PromptParam(
        "q",
        "quality",
        "choice",
        ("quality",),
        choices=QUALITIES,
        default="1",
        label="Quality",
        hint="Time spent on each image; the price beside Generate shows what it costs",
        control="choice",
        ignored_by=tuple(sorted(QUALITY_NOT_BILLED_BY)),
    ),
    PromptParam(
        "raw",
        "raw",
        "flag",
        label="Raw style",
        hint="Less of Midjourney's default styling, closer to the words",
        control="toggle",
    ),
    PromptParam(
        "tile",
        "tile",
        "flag",
        label="Tile",
        hint="Images that repeat seamlessly as a pattern",
        control="toggle",
        speeds=("fast", "turbo"),
    ),
    PromptParam("iw", "image_weight", "decimal", (), 0, 3, default="1", label="Image weight"),
    PromptParam("sref", "sref", "sref", label="Style reference"),
    PromptParam("sw", "style_weight", "int", (), 0, 1000, default="100", label="Style weight"),
    # §2.6/§3.5 list --sv as "enum 1-6"; every integer in 1-6 is a member.
    PromptParam("sv", "style_version", "int", (), 1, 6, default="4", label="Style version"),
    # providers.md §2.6: --oref only at fast speed.
    PromptParam("oref", "oref", "oref", label="Omni reference", speeds=("fast",)),
    PromptParam("ow", "omni_weight", "int", (), 1, 1000, default="100", label="Omni weight"),
)
PANEL: tuple[PromptParam, ...] = tuple(spec for spec in PARAMETERS if spec.control)
_BY_NAME: dict[str, PromptParam] = {}
for _spec in PARAMETERS:
    for _name in (_spec.name, *_spec.aliases):
        _BY_NAME[_name] = _spec


@dataclass(frozen=True)
class ReferenceRole:
    """What a reference image can be in a prompt, as the create bar's chips
    offer it: where its URL goes and which parameter weighs it."""

    name: str  # the value a chip sends ("image", "sref", "oref")
    label: str  # its name for people
    heading: str  # its chips' group, as the create bar heads it
    flag: str  # the flag its URLs follow; "" for image prompts, which lead the prompt
    weight: PromptParam  # --iw, --sw or --ow: one weight for every reference of the role


REFERENCE_ROLES: dict[str, ReferenceRole] = {
    "image": ReferenceRole("image", "Image prompt", "Image prompts", "", _BY_NAME["iw"]),
    "sref": ReferenceRole(
        "sref", "Style reference", "Style references", _BY_NAME["sref"].flag, _BY_NAME["sw"]
    ),
    # One URL only (the linter says so past one): hence the singular heading.
    "oref": ReferenceRole(
        "oref", "Omni reference", "Omni reference", _BY_NAME["oref"].flag, _BY_NAME["ow"]
    ),
}


def compose(text: str, references: Iterable[tuple[str, str]], weights: dict[str, str]) -> str:
    """The prompt Midjourney expects from the create bar's text and its chips:
    image-prompt URLs first, then the text, then each role's flag with its URLs
    in the chips' order and its weight (`a b text --iw 2 --sref c --sw 300
    --oref d --ow 50`). `references` are (role, URL) pairs; a weight is given
    only for a role that has a reference. Nothing is judged here: the linter
    checks the composed prompt like any typed one (how many, which ranges,
    which speeds), so its messages are the same whichever way a URL came."""
    urls: dict[str, list[str]] = {role: [] for role in REFERENCE_ROLES}
    for role, url in references:
        urls[role].append(url)
    parts = [*urls["image"], text.strip()]
    for role in REFERENCE_ROLES.values():
        if not urls[role.name]:
            continue
        if role.flag:
            parts.append(f"{role.flag} {' '.join(urls[role.name])}")
        weight = weights.get(role.name, "").strip()
        if weight:
            parts.append(f"{role.weight.flag} {weight}")
    return " ".join(part for part in parts if part)


_SPEED_HINT = "choose the speed (draft, fast or turbo) with the speed setting instead"
_REMOVED: dict[str, tuple[Code, str]] = {
    "v": (Code.VERSION_FLAG_REMOVED, "mjweb always uses Midjourney V7"),
    "version": (Code.VERSION_FLAG_REMOVED, "mjweb always uses Midjourney V7"),
    "niji": (Code.VERSION_FLAG_REMOVED, "Niji is not available; mjweb always uses Midjourney V7"),
    "fast": (Code.SPEED_FLAG_REMOVED, _SPEED_HINT),
    "turbo": (Code.SPEED_FLAG_REMOVED, _SPEED_HINT),
    "draft": (Code.SPEED_FLAG_REMOVED, _SPEED_HINT),
    "relax": (Code.SPEED_FLAG_REMOVED, "relax mode is not offered by the API; " + _SPEED_HINT),
}
_UNSUPPORTED: dict[str, str] = {
    "cref": "--cref (character reference) does not exist in V7; use --oref instead",
    "cw": "--cw belongs to --cref, which V7 does not have; use --oref with --ow instead",
    "stop": "--stop is not supported by the V7 API",
    "repeat": "--repeat is not supported; each request makes one grid, submit again for more",
    "r": "--r (repeat) is not supported; each request makes one grid, submit again for more",
    "p": "--p (personalization) is not supported by the V7 API",
    "personalize": "--personalize is not supported by the V7 API",
    "profile": "--profile (personalization) is not supported by the V7 API",
    "stealth": "--stealth is not supported by the API",
    "public": "--public is not supported by the API",
}
_UNKNOWN_HINTS: dict[str, str] = {"style": "for raw style write --raw"}
_ALL_NAMES = frozenset(_BY_NAME) | frozenset(_REMOVED) | frozenset(_UNSUPPORTED)

_URL_START = re.compile(r"https?://", re.IGNORECASE)
_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_RATIO = re.compile(r"(-?[0-9]+(?:\.[0-9]*)?):(-?[0-9]+(?:\.[0-9]*)?)")
_WEIGHTED = re.compile(r"(.+)::(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))", re.DOTALL)
_PERMUTATION = re.compile(r"\{[^{}]*\}")
_GLUED_FLAG = re.compile(r"\S--([A-Za-z]+)")
# Word processors turn "--" into an en or em dash; say so instead of "unknown text".
_DASHED_FLAG = re.compile(r"[\u2012\u2013\u2014\u2015\u2212]{1,2}([A-Za-z]+)")
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_LOCAL_TLDS = frozenset(
    {"localhost", "local", "localdomain", "internal", "intranet", "lan", "home", "corp", "arpa"}
)
_SHOWN = 40  # longest value quoted back in a message


def _show(value: str) -> str:
    return value if len(value) <= _SHOWN else value[: _SHOWN - 1] + "…"


def _small_int(digits: str, too_big: int) -> int:
    """int() of an ASCII `-?[0-9]+` string, or `too_big` past 20 significant
    digits: int() refuses strings over 4300 digits, leading zeros included."""
    negative = digits.startswith("-")
    significant = digits.lstrip("-").lstrip("0") or "0"
    if len(significant) > 20:
        return too_big
    return -int(significant) if negative else int(significant)


def _fmt_decimal(value: Decimal) -> str:
    # Decimal.normalize() rounds to the context precision; trimming the
    # exact fixed-point text keeps every digit the person typed.
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


# --- URLs --------------------------------------------------------------------


def check_url(url: str, *, trusted_prefixes: Iterable[str] = ()) -> tuple[Code, str] | None:
    """Why a URL the upstream will fetch is unacceptable, or None.

    DESIGN.md §3: a URL only handed to the upstream is checked without
    fetching it: http(s), a well-formed host that is neither a local name nor
    an IP literal in a non-public range; no DNS lookup. `trusted_prefixes`
    are the app's own public URLs (MJWEB_PUBLIC_URL), which may well be local
    in a demo.
    """
    for prefix in trusted_prefixes:
        if prefix and url.startswith(prefix.rstrip("/") + "/"):
            return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return Code.INVALID_URL, "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https"):
        return Code.INVALID_URL, "must start with http:// or https://"
    host = parts.hostname or ""
    if not host:
        return Code.INVALID_URL, "has no host name"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        # The SSRF guard's own classifier, so IPv6 forms that carry an IPv4
        # address (mapped, NAT64, 6to4, Teredo) are judged by what they carry.
        reason = check_address(address)
        if reason is None:
            return None
        return Code.URL_NOT_PUBLIC, f"points to {reason}"
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return Code.INVALID_URL, "has an invalid host name"
    labels = ascii_host.split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return Code.INVALID_URL, "has an invalid host name"
    if len(labels) < 2 or labels[-1] in _LOCAL_TLDS:
        return Code.URL_NOT_PUBLIC, "points to a local host name"
    if labels[-1].isdigit():
        # e.g. 127.1 or 10.0.1: numeric forms that resolvers read as IPs.
        return Code.URL_NOT_PUBLIC, "looks like a numeric (IP) address"
    return None


def _is_image_path(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return path.lower().endswith(IMAGE_EXTENSIONS)


# --- the structure -----------------------------------------------------------


@dataclass(frozen=True)
class StyleRef:
    """One --sref value: an image URL, a numeric style code or "random"."""

    value: str
    weight: Decimal | None = None

    def render(self) -> str:
        if self.weight is None:
            return self.value
        return f"{self.value}::{_fmt_decimal(self.weight)}"


@dataclass(frozen=True)
class Prompt:
    """A parsed, valid prompt. Unset parameters are None / empty / False."""

    text: str = ""
    image_urls: tuple[str, ...] = ()
    aspect_ratio: tuple[int, int] | None = None
    stylize: int | None = None
    chaos: int | None = None
    no: tuple[str, ...] = ()
    seed: int | None = None
    weird: int | None = None
    exp: int | None = None
    quality: int | None = None
    raw: bool = False
    tile: bool = False
    image_weight: Decimal | None = None
    sref: tuple[StyleRef, ...] = ()
    style_weight: int | None = None
    style_version: int | None = None
    oref: str | None = None
    omni_weight: int | None = None

    @property
    def params(self) -> dict[str, object]:
        """The parameters that are set, by canonical flag, in render order."""
        found: dict[str, object] = {}
        for spec in PARAMETERS:
            value = getattr(self, spec.field)
            if _is_set(value):
                found[spec.flag] = value
        return found

    def render(self) -> str:
        """The normalised prompt: images, text, then parameters in a fixed
        order with canonical names, single spaces, no removed flags."""
        parts: list[str] = [*self.image_urls]
        if self.text:
            parts.append(self.text)
        for spec in PARAMETERS:
            value = getattr(self, spec.field)
            if not _is_set(value):
                continue
            if spec.kind == "flag":
                parts.append(spec.flag)
                continue
            parts.append(f"{spec.flag} {_render_value(spec, value)}")
        return " ".join(parts)


def _is_set(value: object) -> bool:
    # Not `value in (None, (), False)`: 0 == False, and --s 0 is a real value.
    return value is not None and value is not False and value != ()


def _render_value(spec: PromptParam, value: object) -> str:
    if spec.kind == "ratio":
        width, height = value  # type: ignore[misc]
        return f"{width}:{height}"
    if spec.kind == "decimal":
        return _fmt_decimal(value)  # type: ignore[arg-type]
    if spec.kind == "keywords":
        return ", ".join(value)  # type: ignore[arg-type]
    if spec.kind == "sref":
        return " ".join(ref.render() for ref in value)  # type: ignore[attr-defined]
    return str(value)


@dataclass(frozen=True)
class LintResult:
    prompt: Prompt | None
    errors: tuple[Issue, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def issues(self) -> tuple[Issue, ...]:
        return self.errors + self.warnings

    @property
    def normalized(self) -> str | None:
        return self.prompt.render() if self.prompt is not None else None


# --- the parser --------------------------------------------------------------


class _Linter:
    def __init__(
        self, operation: str, speed: str | None, trusted: tuple[str, ...], provider: str | None
    ) -> None:
        self.operation = operation
        self.speed = speed or "fast"  # operations without a speed run as fast
        self.trusted = trusted
        self.provider = provider
        self.issues: list[Issue] = []
        self.values: dict[str, object] = {}
        self.mentioned: set[str] = set()  # canonical names seen, valid or not

    def error(self, code: Code, param: str, message: str) -> None:
        self.issues.append(Issue(code, param, message))

    def warn(self, code: Code, param: str, message: str) -> None:
        self.issues.append(Issue(code, param, message, "warning"))

    # -- pieces

    def check_words(self, words: Iterable[str], where: str) -> None:
        """Flags glued to a word or typed with a dash never reach the upstream."""
        for word in words:
            dashed = _DASHED_FLAG.fullmatch(word)
            if dashed and dashed.group(1).lower() in _ALL_NAMES:
                name = dashed.group(1).lower()
                self.error(
                    Code.MALFORMED_PARAM,
                    f"--{name}",
                    f"'{_show(word)}' starts with a dash, not two hyphens; write --{name}",
                )
                continue
            for glued in _GLUED_FLAG.finditer(word):
                name = glued.group(1).lower()
                if name in _ALL_NAMES:
                    self.error(
                        Code.MALFORMED_PARAM,
                        f"--{name}",
                        f"--{name} needs a space before it (in '{_show(word)}' {where})",
                    )
                    break

    def check_syntax(self, text: str, where: str) -> None:
        if _PERMUTATION.search(text):
            self.error(
                Code.UNSUPPORTED_SYNTAX,
                "{}",
                f"{{a, b}} permutations are not supported by the V7 API ({where})",
            )
        if "::" in text:
            self.error(
                Code.UNSUPPORTED_SYNTAX,
                "::",
                f":: multi-prompts and weights are not supported by V7 ({where})",
            )

    def url(self, url: str, param: str, what: str) -> bool:
        problem = check_url(url, trusted_prefixes=self.trusted)
        if problem is None:
            return True
        code, reason = problem
        self.error(code, param, f"The {what} '{_show(url)}' {reason}")
        return False

    def number(self, spec: PromptParam, raw: str) -> int | Decimal | None:
        pattern = _DECIMAL if spec.kind == "decimal" else _INT
        if not pattern.fullmatch(raw):
            kind = "a number" if spec.kind == "decimal" else "a whole number"
            self.error(
                Code.INVALID_VALUE, spec.flag, f"{spec.flag} must be {kind} (got '{_show(raw)}')"
            )
            return None
        if spec.kind == "decimal":
            value: int | Decimal = Decimal(raw)
        else:
            # Far outside every range (all minimums are >= 0): stand in with a
            # value that fails the checks below.
            value = _small_int(raw, -1)
        if spec.kind == "choice":
            if value not in spec.choices:
                choices = ", ".join(map(str, spec.choices))
                self.error(
                    Code.INVALID_CHOICE,
                    spec.flag,
                    f"{spec.flag} must be one of {choices} (got {_show(raw)})",
                )
                return None
            return value
        assert spec.minimum is not None and spec.maximum is not None
        if not spec.minimum <= value <= spec.maximum:
            self.out_of_range(spec, raw)
            return None
        return value

    def out_of_range(self, spec: PromptParam, raw: str) -> None:
        self.error(
            Code.PARAM_OUT_OF_RANGE,
            spec.flag,
            f"{spec.flag} must be between {spec.minimum} and {spec.maximum} (got {_show(raw)})",
        )

    def trailing(self, flag: str, shown: str, extra: list[str]) -> None:
        if extra:
            self.error(
                Code.TEXT_AFTER_PARAMS,
                flag,
                f"Text after the parameters is not allowed: '{_show(' '.join(extra))}' follows "
                f"{_show(shown)}; move it before the first parameter",
            )

    # -- one "--name values…" group

    def group(self, token: str, values: list[str]) -> None:
        name = token[2:].lower()
        if name in _REMOVED:
            code, reason = _REMOVED[name]
            # --v/--version carry a value, --niji only sometimes ("--niji 6"),
            # the speed flags never.
            taken = 0
            if values and (
                name in ("v", "version") or (name == "niji" and _DECIMAL.fullmatch(values[0]))
            ):
                taken = 1
            shown = " ".join([token, *values[:taken]])
            self.warn(code, f"--{name}", f"'{_show(shown)}' was removed: {reason}")
            self.trailing(f"--{name}", shown, values[taken:])
            return
        if name in _UNSUPPORTED:
            self.error(Code.UNSUPPORTED_PARAM, f"--{name}", _UNSUPPORTED[name])
            return
        spec = _BY_NAME.get(name)
        if spec is None:
            glued = re.fullmatch(r"([a-z]+)([^a-z].*)", name, re.DOTALL)
            if glued and glued.group(1) in _BY_NAME:
                flag = f"--{glued.group(1)}"
                self.error(
                    Code.MALFORMED_PARAM,
                    _BY_NAME[glued.group(1)].flag,
                    f"'{_show(token)}' needs a space between {flag} and its value",
                )
                return
            self.unknown(token)
            return
        if spec.name in self.mentioned:
            self.error(
                Code.DUPLICATE_PARAM, spec.flag, f"{spec.flag} is given more than once; keep one"
            )
            return
        self.mentioned.add(spec.name)
        if spec.kind == "flag":
            self.values[spec.field] = True
            self.trailing(spec.flag, token, values)
            return
        if not values:
            self.error(Code.MISSING_VALUE, spec.flag, f"{spec.flag} needs a value")
            return
        if spec.kind == "keywords":
            self.keywords(spec, values)
        elif spec.kind == "sref":
            self.sref(spec, values)
        elif spec.kind == "oref":
            self.oref(spec, values)
        else:
            if spec.kind == "ratio":
                value: object = self.ratio(spec, values[0])
            else:
                value = self.number(spec, values[0])
            if value is not None:
                self.values[spec.field] = value
            self.trailing(spec.flag, f"{token} {values[0]}", values[1:])

    def unknown(self, token: str) -> None:
        name = token[2:]
        if not name:
            self.error(Code.UNKNOWN_PARAM, "--", "'--' must be followed by a parameter name")
            return
        flag = f"--{_show(name.lower())}"
        message = f"{flag} is not a Midjourney V7 parameter"
        hint = _UNKNOWN_HINTS.get(name.lower())
        if hint is None:
            close = difflib.get_close_matches(name.lower(), sorted(_BY_NAME), n=1, cutoff=0.75)
            hint = f"did you mean --{close[0]}?" if close else None
        self.error(Code.UNKNOWN_PARAM, flag, f"{message}; {hint}" if hint else message)

    def ratio(self, spec: PromptParam, raw: str) -> tuple[int, int] | None:
        match = _RATIO.fullmatch(raw)
        if not match:
            self.error(
                Code.INVALID_VALUE,
                spec.flag,
                f"{spec.flag} must be a ratio such as 16:9 (got '{_show(raw)}')",
            )
            return None
        sides = match.groups()
        if not all(_INT.fullmatch(side) for side in sides):
            self.error(
                Code.INVALID_VALUE,
                spec.flag,
                f"{spec.flag} takes whole numbers only, such as 16:9 (got {_show(raw)})",
            )
            return None
        # §2.6 allows "any positive integer ratio"; _small_int's stand-in of 0
        # makes a side too long to read fail as well.
        width, height = _small_int(sides[0], 0), _small_int(sides[1], 0)
        if width <= 0 or height <= 0:
            self.error(
                Code.PARAM_OUT_OF_RANGE,
                spec.flag,
                f"{spec.flag} sides must be positive whole numbers of at most 20 digits "
                f"(got {_show(raw)})",
            )
            return None
        return width, height

    def keywords(self, spec: PromptParam, values: list[str]) -> None:
        keywords = tuple(
            " ".join(part.split()) for part in " ".join(values).split(",") if part.strip()
        )
        if not keywords:
            self.error(Code.MISSING_VALUE, spec.flag, f"{spec.flag} needs at least one keyword")
            return
        ok = True
        for keyword in keywords:
            for word in keyword.split():
                if word.startswith("--"):
                    ok = False
                    self.error(
                        Code.INVALID_VALUE,
                        spec.flag,
                        f"{spec.flag} keywords cannot start with '--' (got '{_show(word)}')",
                    )
            self.check_words(keyword.split(), f"after {spec.flag}")
        self.check_syntax(", ".join(keywords), f"in {spec.flag}")
        if ok:
            self.values[spec.field] = keywords

    def sref(self, spec: PromptParam, values: list[str]) -> None:
        refs: list[StyleRef] = []
        ok = True
        weight: Decimal | None
        for index, token in enumerate(values):
            weighted = _WEIGHTED.fullmatch(token)
            value, weight = token, None
            if weighted:
                value, weight = weighted.group(1), Decimal(weighted.group(2))
            if _URL_START.match(value):
                ok = self.url(value, spec.flag, "--sref URL") and ok
            elif value.isascii() and value.isdigit():
                pass
            elif value.lower() == "random":
                value = "random"
            elif refs or not ok:
                self.trailing(spec.flag, f"{spec.flag} {' '.join(values[:index])}", values[index:])
                break
            else:
                self.error(
                    Code.INVALID_VALUE,
                    spec.flag,
                    f"--sref takes image URLs, style codes or 'random' (got '{_show(token)}')",
                )
                return
            refs.append(StyleRef(value, weight))
        if len(refs) > MAX_STYLE_REFERENCES:
            self.error(
                Code.TOO_MANY_VALUES,
                spec.flag,
                f"--sref takes at most {MAX_STYLE_REFERENCES} references (got {len(refs)})",
            )
            return
        if ok and refs:
            self.values[spec.field] = tuple(refs)

    def oref(self, spec: PromptParam, values: list[str]) -> None:
        first, extra = values[0], values[1:]
        if not _URL_START.match(first):
            self.error(
                Code.INVALID_VALUE,
                spec.flag,
                f"--oref takes one image URL (got '{_show(first)}')",
            )
            return
        if any(_URL_START.match(token) for token in extra):
            self.error(
                Code.TOO_MANY_VALUES,
                spec.flag,
                f"--oref takes exactly one image URL (got {1 + len(extra)} values)",
            )
            return
        if self.url(first, spec.flag, "--oref URL"):
            self.values[spec.field] = first
        self.trailing(spec.flag, f"--oref {first}", extra)

    # -- the whole prompt

    def run(self, raw: str) -> Prompt | None:
        tokens = raw.split()
        index = 0
        images: list[str] = []
        while index < len(tokens) and _URL_START.match(tokens[index]):
            images.append(tokens[index])
            index += 1
        words: list[str] = []
        while index < len(tokens) and not tokens[index].startswith("--"):
            words.append(tokens[index])
            index += 1
        while index < len(tokens):
            token = tokens[index]
            index += 1
            values: list[str] = []
            while index < len(tokens) and not tokens[index].startswith("--"):
                values.append(tokens[index])
                index += 1
            self.group(token, values)

        text = " ".join(words)
        self.check_words(words, "in the text")
        self.check_syntax(text, "in the text")
        for url in images:
            if self.url(url, "image_prompt", "image prompt") and not _is_image_path(url):
                self.error(
                    Code.UNSUPPORTED_IMAGE_TYPE,
                    "image_prompt",
                    f"The image prompt '{_show(url)}' must end in " + ", ".join(IMAGE_EXTENSIONS),
                )
        if len(images) > MAX_IMAGE_PROMPTS:
            self.error(
                Code.TOO_MANY_VALUES,
                "image_prompt",
                f"At most {MAX_IMAGE_PROMPTS} image prompts are allowed (got {len(images)})",
            )
        self.cross_rules(text, images)
        if any(issue.severity == "error" for issue in self.issues):
            return None
        prompt = Prompt(text=text, image_urls=tuple(images), **self.values)  # type: ignore[arg-type]
        length = len(prompt.render())
        if length > MAX_PROMPT_LENGTH:
            self.error(
                Code.PROMPT_TOO_LONG,
                "prompt",
                f"The prompt is {length} characters long; the limit is {MAX_PROMPT_LENGTH}",
            )
            return None
        return prompt

    def speed_rules(self) -> None:
        """What the catalog says each parameter does at this speed."""
        for spec in PARAMETERS:
            if spec.name not in self.mentioned:
                continue
            if self.speed not in spec.speeds:
                only = f"only works at {spec.speeds[0]} speed (the speed is {self.speed})"
                rule = only if len(spec.speeds) == 1 else f"does not work at {self.speed} speed"
                self.error(Code.SPEED_CONFLICT, spec.flag, f"{spec.flag} {rule}")
            elif self.speed in spec.ignored_at:
                self.warn(
                    Code.PARAM_IGNORED,
                    spec.flag,
                    f"{spec.flag} has no effect at {self.speed} speed",
                )

    def cross_rules(self, text: str, images: list[str]) -> None:
        mentioned, values = self.mentioned, self.values
        if not text and not images:
            self.error(
                Code.MISSING_TEXT,
                "prompt",
                "The prompt has no description; write what you want before the parameters",
            )
        elif not text and len(images) == 1:
            self.error(
                Code.IMAGE_WITHOUT_TEXT,
                "prompt",
                "One image prompt needs a text description too (or use two or more images)",
            )
        has_words = bool(text) or len(images) < 2  # otherwise reported just above
        for name in ("sw", "sv"):
            if name in mentioned and "sref" not in mentioned:
                self.error(Code.REQUIRES_SREF, f"--{name}", f"--{name} only works with --sref")
        if "iw" in mentioned and not images:
            self.error(
                Code.REQUIRES_IMAGE_PROMPT,
                "--iw",
                "--iw weighs image prompts; put an image URL at the start of the prompt",
            )
        # providers.md §2.6: --sref and --oref both need a text prompt.
        for name in ("sref", "oref"):
            if name in mentioned and not has_words:
                self.error(
                    Code.REQUIRES_TEXT, f"--{name}", f"--{name} needs a text description too"
                )
        self.speed_rules()
        if "oref" in mentioned:
            if self.operation in OREF_FORBIDDEN_OPERATIONS:
                self.error(
                    Code.NOT_ALLOWED,
                    "--oref",
                    f"--oref cannot be used with {self.operation} (inpaint, pan or zoom out)",
                )
            if values.get("quality") == 4:
                self.error(Code.CONFLICTING_PARAMS, "--q", "--q 4 cannot be combined with --oref")
        if "ow" in mentioned and "oref" not in mentioned:
            self.warn(Code.PARAM_IGNORED, "--ow", "--ow has no effect without --oref")
        quality = values.get("quality")
        if self.provider in QUALITY_NOT_BILLED_BY and quality not in (None, 1):
            name = PROVIDER_NAMES.get(self.provider, self.provider)
            self.warn(
                Code.PARAM_IGNORED,
                "--q",
                f"{name} does not document --q and charges the same for every quality; "
                f"--q {quality} may have no effect there",
            )


def lint(
    text: str,
    *,
    operation: str = "mj-v7",
    speed: str | None = "fast",
    trusted_url_prefixes: Iterable[str] = (),
    provider: str | None = None,
) -> LintResult:
    """Parse and check a prompt; never raises for any input.

    `operation` and `speed` come from the request (gallery.catalog.operations passes
    them): --oref and --tile depend on them. `speed=None` means the operation
    has no speed setting and runs as fast. `provider`, when given, adds what
    that provider does differently (reAPI and --q).
    """
    if not isinstance(text, str):
        return _failed(Issue(Code.INVALID_VALUE, "prompt", "The prompt must be text"))
    stripped = text.strip()
    if not stripped:
        return _failed(Issue(Code.EMPTY_PROMPT, "prompt", "The prompt is empty"))
    if len(stripped) > MAX_PROMPT_LENGTH:
        return _failed(
            Issue(
                Code.PROMPT_TOO_LONG,
                "prompt",
                f"The prompt is {len(stripped)} characters long; the limit is {MAX_PROMPT_LENGTH}",
            )
        )
    for char in stripped:
        if unicodedata.category(char) in ("Cc", "Cs") and not char.isspace():
            return _failed(
                Issue(
                    Code.INVALID_CHARACTER,
                    "prompt",
                    f"The prompt contains an invalid character (U+{ord(char):04X})",
                )
            )
    linter = _Linter(operation, speed, tuple(trusted_url_prefixes), provider)
    prompt = linter.run(stripped)
    errors = tuple(issue for issue in linter.issues if issue.severity == "error")
    warnings = tuple(issue for issue in linter.issues if issue.severity == "warning")
    return LintResult(prompt if not errors else None, errors, warnings)


def _failed(issue: Issue) -> LintResult:
    return LintResult(None, (issue,))


def parse(
    text: str,
    *,
    operation: str = "mj-v7",
    speed: str | None = "fast",
    trusted_url_prefixes: Iterable[str] = (),
) -> Prompt:
    """Like `lint`, but returns the prompt or raises `PromptError`."""
    result = lint(text, operation=operation, speed=speed, trusted_url_prefixes=trusted_url_prefixes)
    if result.prompt is None:
        raise PromptError(result.errors)
    return result.prompt


def mentions_oref(text: str) -> bool:
    """Whether a prompt carries --oref, even one that does not lint cleanly:
    pricing doubles on it and must not be fooled by an unrelated error."""
    return isinstance(text, str) and any(token.lower() == "--oref" for token in text.split())


def quality_of(text: str) -> int:
    """The --q a prompt asks for (1 when none), even in a prompt that does not
    lint cleanly: pricing multiplies by it and must not be fooled by an
    unrelated error. A value the linter refuses counts as 1 (the job is
    refused anyway); of two, the higher, so a quote never comes out low."""
    if not isinstance(text, str):
        return 1
    tokens = text.split()
    found = 1
    for flag, value in pairwise(tokens):
        if flag.lower() in ("--q", "--quality") and _INT.fullmatch(value):
            quality = _small_int(value, -1)
            if quality in QUALITIES:
                found = max(found, quality)
    return found

"""The operation catalog: one declarative description of the twelve V7 operations.

Forms, the team API and the provider adapters read these facts from here
instead of repeating them: which model id each provider uses, what an
operation needs (a parent job, a source image, a prompt), its parameters with
their enums, ranges and defaults, and which follow-ups a parent allows.
`validate()` checks a `Request` against the catalog and returns the same
`Issue`s as the prompt linter, which it also runs on the prompt.

Sources: DESIGN.md §2, providers.md §2.5 (evolink), §3.5 (reAPI, same ids and
fields), §1.2 (Vtrix). Pure module: no Django.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Literal

from gallery.catalog.prompt import Code, Issue, check_url, lint


@dataclass(frozen=True)
class Request:
    """A validated, provider-neutral request: what the adapters translate.

    It mirrors evolink's request body, which is the canonical shape of the
    whole product (the team API speaks it too): `operation` is the evolink
    model id, `params` holds the `model_params` other than `task_id`.
    """

    operation: str  # "mj-v7", "mj-v7-upscale", ... (evolink model ids)
    provider: str  # "evolink" | "reapi" | "vtrix"
    prompt: str = ""  # the normalised prompt string; "" when the operation takes none
    image_urls: tuple[str, ...] = ()  # sources for remove-bg / retexture / upload-paint
    parent_task_id: str | None = None  # the provider's task id of the parent job
    image_number: int | None = None  # 0-3, which image of the parent
    speed: str | None = None  # "draft" | "fast" | "turbo", None when not applicable
    # type, mode, direction, scale, mask, canvas, img_pos
    params: dict[str, Any] = field(default_factory=dict)
    callback_url: str | None = None

    @property
    def spec(self) -> Operation:
        """The catalog entry; KeyError for an unknown operation."""
        return OPERATIONS[self.operation]

    def effective_speed(self) -> str | None:
        """The speed the upstream will use: the operation's default when none
        is given, fast when the speed only applies with a prompt and there is
        none (providers.md §2.5), None for operations without a speed."""
        spec = self.spec
        if not spec.speeds:
            return None
        if spec.speed_needs_prompt and not _has_prompt(self):
            return spec.default_speed
        return self.speed or spec.default_speed

    def resolved_params(self) -> dict[str, Any]:
        """`params` with every documented default filled in (what adapters send)."""
        resolved = {p.name: p.default for p in self.spec.params if p.default is not None}
        resolved.update(self.params)
        return resolved


def _has_prompt(request: Request) -> bool:
    return isinstance(request.prompt, str) and bool(request.prompt.strip())


PROVIDERS: tuple[str, ...] = ("evolink", "reapi", "vtrix")

Source = Literal["prompt", "parent", "image"]  # where the input image(s) come from
PromptRule = Literal["required", "optional", "absent"]
ParamKind = Literal["choice", "number", "mask", "canvas", "img_pos"]


@dataclass(frozen=True)
class ParamSpec:
    """One `model_params` entry other than task_id / image_number / speed."""

    name: str
    kind: ParamKind
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    default: Any = None
    # Vtrix sends enums as integers (providers.md §1.2): value -> code.
    vtrix_codes: Mapping[str, int] = field(default_factory=dict)
    label: str = ""


_NOTHING: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class ButtonSpec:
    """One button of an operation's web form. `key` names it for the
    template; `params` are what it sends, and what its price is quoted with
    (the price of Pan and Zoom out does not depend on direction or scale, so
    one figure stands for the group); a `titled` button is named as the job it
    makes ("Upscale (Creative)"), any other by the operation's label."""

    key: str
    params: Mapping[str, Any] = field(default_factory=lambda: _NOTHING)
    titled: bool = False


@dataclass(frozen=True)
class Operation:
    id: str  # evolink/reAPI model id
    label: str  # the UI's button name (DESIGN.md §5)
    source: Source
    prompt: PromptRule
    speeds: tuple[str, ...] = ()  # allowed `speed` values; () when it has none
    speed_needs_prompt: bool = False  # speed only takes effect with a prompt
    params: tuple[ParamSpec, ...] = ()
    models: Mapping[str, str] = field(default_factory=dict)  # provider -> its model id
    max_image_urls: int = 0  # for source == "image": exactly this many
    # The web form: its name on its page, which says where its answer goes.
    form: str = ""
    on_image_page: bool = False  # offered on an image's page (upload & paint starts from a file)
    buttons: tuple[ButtonSpec, ...] = ()
    # Number parameters the form offers as presets plus a typed custom value
    # (`custom_<name>`); the others fall back to their default when blank.
    custom_fields: tuple[str, ...] = ()
    # Stand-ins for what the person still has to fill in (a mask, a canvas),
    # so that only the rules about the image, and the price, decide whether a
    # button is on before anything is drawn.
    stand_ins: Mapping[str, Any] = field(default_factory=lambda: _NOTHING)
    # The parameter whose value is the price variant (the upscaler type);
    # None: the variant is the effective speed, or flat without one.
    price_param: str | None = None

    @property
    def needs_parent(self) -> bool:
        return self.source == "parent"

    @property
    def needs_image(self) -> bool:
        return self.source == "image"

    @property
    def default_speed(self) -> str | None:
        return "fast" if "fast" in self.speeds else None

    def param(self, name: str) -> ParamSpec | None:
        return next((p for p in self.params if p.name == name), None)


IMAGE_NUMBERS = (0, 1, 2, 3)  # providers.md §2.5: image_number enum 0-3, default 0
EDIT_SPEEDS = ("fast", "turbo")  # providers.md §2.5: edits take fast|turbo, never draft
# Vtrix insists on mask polygon sizes of 500-4096 px (providers.md §1.2,
# midjourney_inpaint); evolink's own example uses 200, so only Vtrix checks it.
VTRIX_MASK_SIZE = (500, 4096)
# No provider documents a largest canvas, placement or mask frame. This is the
# canvas editor's limit, far above any V7 image (2048 px after an upscale), and
# it keeps every number of the geometry small before anything computes with it.
MAX_SIDE = 8192
# The ranges of canvas {width, height} and img_pos {width, height, x, y}: the
# image may be placed partly off the canvas, never further than a whole side.
BOX_RANGES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "width": (1, MAX_SIDE),
        "height": (1, MAX_SIDE),
        "x": (-MAX_SIDE, MAX_SIDE),
        "y": (-MAX_SIDE, MAX_SIDE),
    }
)
# A mask's points lie in its frame, give or take: evolink's own example has
# points at 250 in a 200 px frame, so they are bounded by the largest side only.
MASK_POINT_RANGE = (0, MAX_SIDE)
MAX_MASK_AREAS = 100
MAX_MASK_NUMBERS = 4000  # all areas' points together; a freehand stroke is simplified to far fewer


def _mask(required: bool) -> ParamSpec:
    return ParamSpec("mask", "mask", required=required, label="Mask")


_CANVAS = ParamSpec("canvas", "canvas", required=True, label="Canvas")
_IMG_POS = ParamSpec("img_pos", "img_pos", required=True, label="Image position")
# A drawn area and a placed image, in place of what the editors will send.
_STAND_IN_MASK = MappingProxyType(
    {"mask": {"areas": [{"width": 1024, "height": 1024, "points": [0, 0, 0, 512, 512, 512]}]}}
)
_STAND_IN_PLACEMENT = MappingProxyType(
    {
        "canvas": {"width": 1024, "height": 1024},
        "img_pos": {"width": 512, "height": 512, "x": 256, "y": 256},
    }
)


def _button(key: str, **params: Any) -> ButtonSpec:
    return ButtonSpec(key, MappingProxyType(params))


def _titled(key: str, **params: Any) -> ButtonSpec:
    return ButtonSpec(key, MappingProxyType(params), titled=True)


def _models(evolink_id: str, vtrix_id: str | None) -> Mapping[str, str]:
    # reAPI uses evolink's ids verbatim (providers.md §3.5, SEED-004).
    models = {"evolink": evolink_id, "reapi": evolink_id}
    if vtrix_id is not None:
        models["vtrix"] = vtrix_id
    return MappingProxyType(models)


# Vtrix (providers.md §1.2) documents pages for diffusion, upscale, variation,
# remix, inpaint, outpaint and edit only. midjourney_pan / midjourney_enhance
# appear on its successor SeaCloud but have no Vtrix page, and remove-bg,
# retexture and upload-paint appear nowhere: all five are unsupported on Vtrix.
_CATALOG: tuple[Operation, ...] = (
    Operation(
        "mj-v7",
        "Generate",
        "prompt",
        "required",
        speeds=("draft", "fast", "turbo"),
        models=_models("mj-v7", "midjourney_diffusion"),
    ),
    Operation(
        "mj-v7-variation",
        "Vary",
        "parent",
        "optional",
        speeds=EDIT_SPEEDS,
        speed_needs_prompt=True,
        params=(
            ParamSpec(
                "type",
                "choice",
                choices=("subtle", "strong"),
                default="subtle",
                vtrix_codes=MappingProxyType({"subtle": 0, "strong": 1}),
                label="Variation",
            ),
        ),
        models=_models("mj-v7-variation", "midjourney_variation"),
        form="vary",
        on_image_page=True,
        buttons=(_titled("vary_subtle", type="subtle"), _titled("vary_strong", type="strong")),
    ),
    Operation(
        "mj-v7-upscale",
        "Upscale",
        "parent",
        "absent",
        params=(
            ParamSpec(
                "type",
                "choice",
                choices=("standard", "creative"),
                default="standard",
                vtrix_codes=MappingProxyType({"standard": 0, "creative": 1}),
                label="Upscaler",
            ),
        ),
        models=_models("mj-v7-upscale", "midjourney_upscale"),
        form="upscale",
        on_image_page=True,
        buttons=(
            _titled("upscale_standard", type="standard"),
            _titled("upscale_creative", type="creative"),
        ),
        price_param="type",
    ),
    Operation(
        "mj-v7-remix",
        "Remix",
        "parent",
        "required",
        speeds=EDIT_SPEEDS,
        params=(
            ParamSpec(
                "mode",
                "choice",
                choices=("strong", "subtle"),
                default="strong",
                vtrix_codes=MappingProxyType({"strong": 0, "subtle": 1}),
                label="Remix",
            ),
        ),
        models=_models("mj-v7-remix", "midjourney_remix"),
        form="remix",
        on_image_page=True,
        buttons=(_button("remix", mode="strong"),),
    ),
    Operation(
        "mj-v7-enhance",
        "Enhance",
        "parent",
        "absent",
        models=_models("mj-v7-enhance", None),
        form="enhance",
        on_image_page=True,
        buttons=(_button("enhance"),),
    ),
    Operation(
        "mj-v7-pan",
        "Pan",
        "parent",
        "optional",
        speeds=EDIT_SPEEDS,
        speed_needs_prompt=True,
        params=(
            ParamSpec(
                "direction",
                "choice",
                choices=("down", "right", "up", "left"),
                default="down",
                # Legnext's codes (providers.md §1.2); unused while Vtrix lacks pan.
                vtrix_codes=MappingProxyType({"down": 0, "right": 1, "up": 2, "left": 3}),
                label="Direction",
            ),
            ParamSpec(
                "scale",
                "number",
                minimum=Decimal("1.1"),
                maximum=Decimal("3"),
                default=1.5,  # a JSON number, as adapters send it
                label="Pan scale",
            ),
        ),
        models=_models("mj-v7-pan", None),
        form="pan",
        on_image_page=True,
        buttons=(_button("pan", direction="left"),),
    ),
    Operation(
        "mj-v7-outpaint",
        "Zoom out",
        "parent",
        "optional",
        speeds=EDIT_SPEEDS,
        speed_needs_prompt=True,
        params=(
            ParamSpec(
                "scale",
                "number",
                minimum=Decimal("1.1"),
                maximum=Decimal("2"),
                default=1.5,
                label="Zoom",
            ),
        ),
        models=_models("mj-v7-outpaint", "midjourney_outpaint"),
        form="zoom",
        on_image_page=True,
        buttons=(_button("zoom", scale=2),),
        custom_fields=("scale",),
    ),
    Operation(
        "mj-v7-inpaint",
        "Vary region",
        "parent",
        "optional",
        speeds=EDIT_SPEEDS,
        speed_needs_prompt=True,
        params=(_mask(required=True),),
        models=_models("mj-v7-inpaint", "midjourney_inpaint"),
        form="region",
        on_image_page=True,
        buttons=(_button("vary_region"),),
        stand_ins=_STAND_IN_MASK,
    ),
    Operation(
        "mj-v7-edit",
        "Edit",
        "parent",
        "required",
        speeds=EDIT_SPEEDS,
        params=(_CANVAS, _IMG_POS, _mask(required=False)),
        models=_models("mj-v7-edit", "midjourney_edit"),
        form="edit",
        on_image_page=True,
        buttons=(_button("edit"),),
        stand_ins=_STAND_IN_PLACEMENT,
    ),
    Operation(
        "mj-v7-remove-bg",
        "Remove background",
        "image",
        "absent",
        models=_models("mj-v7-remove-bg", None),
        form="removebg",
        on_image_page=True,
        buttons=(_button("remove_bg"),),
        max_image_urls=1,
    ),
    Operation(
        "mj-v7-retexture",
        "Retexture",
        "image",
        "required",
        speeds=EDIT_SPEEDS,
        models=_models("mj-v7-retexture", None),
        form="retexture",
        on_image_page=True,
        buttons=(_button("retexture"),),
        max_image_urls=1,
    ),
    Operation(
        "mj-v7-upload-paint",
        "Upload & paint",
        "image",
        "required",
        speeds=EDIT_SPEEDS,
        params=(_mask(required=True), _CANVAS, _IMG_POS),
        models=_models("mj-v7-upload-paint", None),
        form="uploadpaint",
        buttons=(_button("upload_paint"),),
        stand_ins=MappingProxyType({**_STAND_IN_MASK, **_STAND_IN_PLACEMENT}),
        max_image_urls=1,
    ),
)

OPERATIONS: Mapping[str, Operation] = MappingProxyType({op.id: op for op in _CATALOG})


def supports(provider: str, operation: str) -> bool:
    op = OPERATIONS.get(operation)
    return op is not None and provider in op.models


def model_id(provider: str, operation: str) -> str:
    """The provider's name for an operation; KeyError when it has none."""
    return OPERATIONS[operation].models[provider]


# --- titles ------------------------------------------------------------------------

# Choice values whose button name is not the value capitalised: the catalog
# sends "standard", the upscale button has always said "Subtle".
_CHOICE_WORDS: Mapping[str, str] = MappingProxyType({"standard": "Subtle"})


def image_page_operations() -> tuple[str, ...]:
    """The edits an image's page offers, in the catalog's order."""
    return tuple(op.id for op in _CATALOG if op.on_image_page)


def button_label(op: Operation, button: ButtonSpec) -> str:
    """A button's name: the job it makes, or the operation's label."""
    return title(op.id, button.params) if button.titled else op.label


def step_title(operation: str, params: Mapping[str, Any] | None, speed: str | None) -> str:
    """What a job did, as a step of a lineage: its title, and for a
    generation (untitled on its card) "Draft" or "Generate"."""
    if operation == "mj-v7":
        return "Draft" if speed == "draft" else label(operation)
    return title(operation, params)


def label(operation: str) -> str:
    """The operation's name for people ("Upscale"); an unknown id as it is."""
    spec = OPERATIONS.get(operation)
    return spec.label if spec else operation


def title(operation: str, params: Mapping[str, Any] | None = None) -> str:
    """What a job did, in the words of the button that made it: "Upscale
    (Creative)", "Pan left ×1.5", "Zoom out ×2", "Remove background". A base
    generation has none ("": its prompt is its title). The one place that
    turns (operation, params) into words: cards, the job and image pages, and
    the stored `Job.title` read it."""
    spec = OPERATIONS.get(operation)
    if spec is None:
        return operation
    if operation == "mj-v7":
        return ""
    given = params or {}

    def value(name: str) -> Any:
        param = spec.param(name)
        default = param.default if param else None
        found = given.get(name)
        return default if found in (None, "") else found

    if operation in ("mj-v7-upscale", "mj-v7-variation", "mj-v7-remix"):
        choice = str(value("mode" if operation == "mj-v7-remix" else "type"))
        return f"{spec.label} ({_CHOICE_WORDS.get(choice, choice.capitalize())})"
    if operation == "mj-v7-pan":
        return f"{spec.label} {value('direction')} ×{_scale(value('scale'))}"
    if operation == "mj-v7-outpaint":
        return f"{spec.label} ×{_scale(value('scale'))}"
    return spec.label


def _scale(value: object) -> str:
    """1.5 → "1.5", 2 / 2.0 / "2" → "2": a factor as a person writes it."""
    number = _as_decimal(value)
    if number is None:
        return str(value)
    return f"{number.normalize():f}"


# --- parents -------------------------------------------------------------------


@dataclass(frozen=True)
class ParentFacts:
    """What validation needs to know about the job an edit starts from."""

    provider: str
    operation: str
    speed: str | None = None
    image_count: int = 4  # images it returned (moderation can leave fewer)
    completed: bool = True


def _parent_issues(op: Operation, provider: str, parent: ParentFacts) -> list[Issue]:
    issues: list[Issue] = []
    if not parent.completed:
        issues.append(
            Issue(
                Code.PARENT_NOT_COMPLETED,
                "task_id",
                "The parent job has not completed yet; wait until it has images",
            )
        )
    # Task ids belong to the provider that made them (DESIGN.md §2).
    if parent.provider != provider:
        issues.append(
            Issue(
                Code.PROVIDER_MISMATCH,
                "provider",
                f"The parent job was made by {parent.provider}; its edits must go to "
                f"{parent.provider} too (not {provider})",
            )
        )
    if op.id == "mj-v7-enhance" and not (parent.operation == "mj-v7" and parent.speed == "draft"):
        issues.append(
            Issue(Code.PARENT_NOT_DRAFT, "task_id", "Enhance only works on draft generations")
        )
    if op.id == "mj-v7-upscale" and parent.operation == "mj-v7-upscale":
        issues.append(
            Issue(Code.UPSCALE_OF_UPSCALE, "task_id", "An upscaled image cannot be upscaled again")
        )
    if parent.operation == "mj-v7-retexture" and op.id != "mj-v7-upscale":
        issues.append(
            Issue(
                Code.RETEXTURE_ONLY_UPSCALE,
                "task_id",
                "A retextured image can only be upscaled",
            )
        )
    return issues


def follow_ups(parent: ParentFacts) -> tuple[str, ...]:
    """The operations a parent allows, in catalog order (for the image's buttons)."""
    return tuple(
        op.id
        for op in _CATALOG
        if op.needs_parent
        and parent.provider in op.models
        and not _parent_issues(op, parent.provider, parent)
    )


# --- validation ------------------------------------------------------------------


def validate(
    request: Request,
    parent: ParentFacts | None = None,
    *,
    trusted_url_prefixes: Iterable[str] = (),
) -> list[Issue]:
    """Every problem with `request`, errors and warnings (see `Issue.severity`).

    `parent` describes the job named by `parent_task_id` when the caller has
    looked it up. `trusted_url_prefixes` are the app's own public URLs, which
    pass the public-address check (see `gallery.catalog.prompt.check_url`).
    """
    op = OPERATIONS.get(request.operation)
    if op is None:
        known = ", ".join(OPERATIONS)
        return [
            Issue(
                Code.UNKNOWN_OPERATION,
                "operation",
                f"Unknown operation '{request.operation}'; use one of {known}",
            )
        ]
    if request.provider not in PROVIDERS:
        return [
            Issue(
                Code.UNKNOWN_PROVIDER,
                "provider",
                f"Unknown provider '{request.provider}'; use one of {', '.join(PROVIDERS)}",
            )
        ]
    if request.provider not in op.models:
        return [
            Issue(
                Code.UNSUPPORTED_OPERATION,
                "operation",
                f"{request.provider} does not offer {op.label} ({op.id})",
            )
        ]
    trusted = tuple(trusted_url_prefixes)
    issues: list[Issue] = []
    issues += _check_speed(op, request)
    issues += _check_prompt(op, request, trusted)
    issues += _check_sources(op, request, trusted)
    issues += _check_params(op, request, trusted)
    if op.needs_parent and parent is not None:
        issues += _parent_issues(op, request.provider, parent)
        number = request.image_number if isinstance(request.image_number, int) else 0
        if number in IMAGE_NUMBERS and number >= parent.image_count:
            issues.append(
                Issue(
                    Code.NO_SUCH_IMAGE,
                    "image_number",
                    f"The parent job has {parent.image_count} image(s); "
                    f"image {number} does not exist",
                )
            )
    return issues


def normalized(request: Request, *, trusted_url_prefixes: Iterable[str] = ()) -> Request:
    """`request` with its prompt replaced by the normalised string sent
    upstream (removed flags dropped, canonical names and order). Unchanged
    when the prompt does not lint cleanly or the operation takes none."""
    op = OPERATIONS.get(request.operation)
    if op is None or op.prompt == "absent" or not _has_prompt(request):
        return request
    result = lint(
        request.prompt,
        operation=op.id,
        speed=request.effective_speed(),
        trusted_url_prefixes=trusted_url_prefixes,
    )
    if result.normalized is None:
        return request
    return dataclasses.replace(request, prompt=result.normalized)


def _check_speed(op: Operation, request: Request) -> list[Issue]:
    speed = request.speed
    if speed is None:
        return []
    if not op.speeds:
        # Scripts written for evolink send speed everywhere; it is harmless.
        return [
            Issue(
                Code.PARAM_IGNORED,
                "speed",
                f"{op.label} has no speed setting; '{speed}' is ignored",
                "warning",
            )
        ]
    if speed not in op.speeds:
        return [
            Issue(
                Code.INVALID_CHOICE,
                "speed",
                f"speed must be one of {', '.join(op.speeds)} for {op.label} (got '{speed}')",
            )
        ]
    if op.speed_needs_prompt and not _has_prompt(request) and speed != op.default_speed:
        return [
            Issue(
                Code.PARAM_IGNORED,
                "speed",
                f"{op.label} uses the speed only with a prompt; it runs at fast",
                "warning",
            )
        ]
    return []


def _check_prompt(op: Operation, request: Request, trusted: tuple[str, ...]) -> list[Issue]:
    prompt = request.prompt
    if not isinstance(prompt, str):
        return [Issue(Code.INVALID_VALUE, "prompt", "The prompt must be text")]
    if not prompt.strip():
        if op.prompt == "required":
            return [Issue(Code.REQUIRED, "prompt", f"{op.label} needs a prompt")]
        return []
    if op.prompt == "absent":
        return [Issue(Code.NOT_ALLOWED, "prompt", f"{op.label} does not take a prompt")]
    result = lint(
        prompt,
        operation=op.id,
        speed=request.effective_speed(),
        trusted_url_prefixes=trusted,
        provider=request.provider,
    )
    return list(result.issues)


def _check_sources(op: Operation, request: Request, trusted: tuple[str, ...]) -> list[Issue]:
    issues: list[Issue] = []
    if op.needs_parent:
        if not request.parent_task_id:
            issues.append(
                Issue(Code.REQUIRED, "task_id", f"{op.label} needs the task id of a parent job")
            )
        number = request.image_number
        if number is not None and (
            isinstance(number, bool) or not isinstance(number, int) or number not in IMAGE_NUMBERS
        ):
            issues.append(
                Issue(
                    Code.INVALID_CHOICE,
                    "image_number",
                    f"image_number must be 0, 1, 2 or 3 (got {number!r})",
                )
            )
    else:
        if request.parent_task_id:
            issues.append(
                Issue(Code.NOT_ALLOWED, "task_id", f"{op.label} does not start from a parent job")
            )
        if request.image_number is not None:
            issues.append(
                Issue(Code.NOT_ALLOWED, "image_number", f"{op.label} takes no image_number")
            )
    urls = request.image_urls
    if op.needs_image:
        if not urls:
            issues.append(Issue(Code.REQUIRED, "image_urls", f"{op.label} needs a source image"))
        elif len(urls) > op.max_image_urls:
            issues.append(
                Issue(
                    Code.TOO_MANY_VALUES,
                    "image_urls",
                    f"{op.label} takes exactly {op.max_image_urls} source image (got {len(urls)})",
                )
            )
        for url in urls:
            issues += _url_issues(url, "image_urls", "source image", trusted)
    elif urls:
        issues.append(
            Issue(
                Code.NOT_ALLOWED,
                "image_urls",
                f"{op.label} takes no source image; image prompts go at the start of the prompt",
            )
        )
    return issues


def _url_issues(url: object, param: str, what: str, trusted: tuple[str, ...]) -> list[Issue]:
    if not isinstance(url, str):
        return [Issue(Code.INVALID_URL, param, f"The {what} must be a URL")]
    problem = check_url(url, trusted_prefixes=trusted)
    if problem is None:
        return []
    code, reason = problem
    shown = url if len(url) <= 40 else url[:39] + "…"
    return [Issue(code, param, f"The {what} '{shown}' {reason}")]


def _check_params(op: Operation, request: Request, trusted: tuple[str, ...]) -> list[Issue]:
    params = request.params
    if not isinstance(params, Mapping):
        return [Issue(Code.INVALID_VALUE, "params", "model_params must be an object")]
    issues: list[Issue] = []
    for name in params:
        if op.param(name) is None:
            issues.append(
                Issue(Code.NOT_ALLOWED, str(name), f"{op.label} takes no parameter '{name}'")
            )
    for spec in op.params:
        value = params.get(spec.name)
        if value is None:
            if spec.required:
                issues.append(Issue(Code.REQUIRED, spec.name, f"{op.label} needs {spec.name}"))
            continue
        if spec.kind == "choice":
            if value not in spec.choices:
                issues.append(
                    Issue(
                        Code.INVALID_CHOICE,
                        spec.name,
                        f"{spec.name} must be one of {', '.join(spec.choices)} (got {value!r})",
                    )
                )
        elif spec.kind == "number":
            issues += _number_issues(spec, value)
        elif spec.kind == "mask":
            issues += mask_issues(value, request.provider, trusted)
        else:
            issues += _box_issues(spec.name, value, with_offset=spec.kind == "img_pos")
    if not issues:  # each shape is sound: now how they sit together
        issues += _placement_issues(params)
    return issues


def _placement_issues(params: Mapping) -> list[Issue]:
    """What the shapes say together: a picture placed wholly off its canvas,
    or a mask drawn as a line, would be paid for and come back as nothing."""
    issues: list[Issue] = []
    canvas, placed = params.get("canvas"), params.get("img_pos")
    if canvas and placed:
        apart = (
            placed["x"] >= canvas["width"]
            or placed["y"] >= canvas["height"]
            or placed["x"] + placed["width"] <= 0
            or placed["y"] + placed["height"] <= 0
        )
        if apart:
            message = (
                f"The image ({placed['width']}×{placed['height']} at {placed['x']}, "
                f"{placed['y']}) lies outside the {canvas['width']}×{canvas['height']} canvas; "
                "place at least part of it on the canvas"
            )
            issues.append(Issue(Code.PARAM_OUT_OF_RANGE, "img_pos", message))
    areas = (params.get("mask") or {}).get("areas") or ()
    for index, area in enumerate(areas):
        if _polygon_area(area["points"]) < 1:
            message = f"mask.areas[{index}] has no area: draw a shape, not a line or a dot"
            issues.append(Issue(Code.INVALID_VALUE, "mask", message))
    return issues


def _polygon_area(points: list) -> Decimal:
    """The shoelace formula over the flat x1, y1, x2, y2, … list."""
    xs = [Decimal(str(n)) for n in points[0::2]]
    ys = [Decimal(str(n)) for n in points[1::2]]
    twice = sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs)))
    return abs(twice) / 2


def _as_decimal(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    try:
        # Via str(): 1.1 (float) must compare equal to Decimal("1.1").
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _number_issues(spec: ParamSpec, value: object) -> list[Issue]:
    number = _as_decimal(value)
    if number is None:
        return [Issue(Code.INVALID_VALUE, spec.name, f"{spec.name} must be a number")]
    assert spec.minimum is not None and spec.maximum is not None
    if not spec.minimum <= number <= spec.maximum:
        return [
            Issue(
                Code.PARAM_OUT_OF_RANGE,
                spec.name,
                f"{spec.name} must be between {spec.minimum} and {spec.maximum} (got {value})",
            )
        ]
    return []


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _box_issues(name: str, value: object, *, with_offset: bool) -> list[Issue]:
    keys = ("width", "height", "x", "y") if with_offset else ("width", "height")
    example = "{width, height, x, y}" if with_offset else "{width, height}"
    if not isinstance(value, Mapping):
        return [Issue(Code.INVALID_VALUE, name, f"{name} must be an object {example}")]
    issues: list[Issue] = []
    for key in value:
        if key not in keys:
            issues.append(Issue(Code.NOT_ALLOWED, name, f"{name} has no field '{key}'"))
    for key in keys:
        low, high = BOX_RANGES[key]
        rule = f"{name}.{key} must be a whole number from {low} to {high}"
        if key not in value:
            issues.append(Issue(Code.REQUIRED, name, f"{name} needs {key}"))
        elif not _is_int(value[key]):
            issues.append(Issue(Code.INVALID_VALUE, name, rule))
        elif not low <= value[key] <= high:
            issues.append(Issue(Code.PARAM_OUT_OF_RANGE, name, rule))
    return issues


def mask_issues(
    value: object, provider: str | None = None, trusted: tuple[str, ...] = ()
) -> list[Issue]:
    """providers.md §2.5: `{areas: [{width, height, points}]}` or `{url}`, not both.

    The one check of a mask's shape, before anything reads its numbers: the
    image page runs it with `provider` None (the shape and the bounds only)
    before it fits a mask to Vtrix's sizes; `validate()` runs it again on what
    is sent, with Vtrix's own size rule.
    """
    if not isinstance(value, Mapping) or ("areas" in value) == ("url" in value):
        return [
            Issue(
                Code.INVALID_VALUE,
                "mask",
                "mask must be either {areas: [...]} (polygons) or {url: ...} (a mask image)",
            )
        ]
    issues = [
        Issue(Code.NOT_ALLOWED, "mask", f"mask has no field '{key}'")
        for key in value
        if key not in ("areas", "url")
    ]
    if "url" in value:
        return issues + _url_issues(value["url"], "mask", "mask image", trusted)
    areas = value["areas"]
    if not isinstance(areas, list | tuple) or not areas:
        return [*issues, Issue(Code.INVALID_VALUE, "mask", "mask.areas must be a non-empty list")]
    if len(areas) > MAX_MASK_AREAS or _point_count(areas) > MAX_MASK_NUMBERS:
        message = "The mask has too many areas or points; draw simpler shapes"
        return [*issues, Issue(Code.TOO_MANY_VALUES, "mask", message)]
    for index, area in enumerate(areas):
        issues += _area_issues(f"mask.areas[{index}]", area, provider)
    return issues


def _point_count(areas: list | tuple) -> int:
    return sum(
        len(points)
        for area in areas
        if isinstance(area, Mapping) and isinstance(points := area.get("points"), list | tuple)
    )


def _area_issues(where: str, area: object, provider: str | None) -> list[Issue]:
    if not isinstance(area, Mapping):
        return [Issue(Code.INVALID_VALUE, "mask", f"{where} must be an object")]
    issues = [
        Issue(Code.NOT_ALLOWED, "mask", f"{where} has no field '{key}'")
        for key in area
        if key not in ("width", "height", "points")
    ]
    low, high = VTRIX_MASK_SIZE if provider == "vtrix" else (1, MAX_SIDE)
    for key in ("width", "height"):
        size = area.get(key)
        rule = f"{where}.{key} must be a whole number from {low} to {high}"
        if not _is_int(size):
            issues.append(Issue(Code.INVALID_VALUE, "mask", rule))
        elif not low <= size <= high:
            issues.append(Issue(Code.PARAM_OUT_OF_RANGE, "mask", f"{rule} (got {size})"))
    points = area.get("points")
    first, last = MASK_POINT_RANGE
    if (
        not isinstance(points, list | tuple)
        or len(points) < 6
        or len(points) % 2
        or not all(
            (number := _as_decimal(p)) is not None and first <= number <= last for p in points
        )
    ):
        issues.append(
            Issue(
                Code.INVALID_VALUE,
                "mask",
                f"{where}.points must be a flat list x1, y1, x2, y2, … of at least 3 points, "
                f"each a number from {first} to {last}",
            )
        )
    return issues

"""The team API's shapes as pydantic schemas: what a request may be and what an
answer is. django-ninja validates requests against them and builds the
OpenAPI document (`gallery.api.openapi.build`) from them.

Every name, choice and bound here is read from the catalog
(`gallery.catalog.operations`, `gallery.catalog.prompt`) or from `gallery.api.translate`, never
re-typed.
The split of work: a schema refuses what the catalog cannot be handed (a
string where an object goes, a number out of every operation's range, a word
no operation knows); which fields a given operation needs, and each
operation's own ranges, stay with the catalog, which judges the web form's
requests too and names the offending parameter in the 400.
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gallery.catalog import operations, permutations, tables
from gallery.catalog.operations import OPERATIONS, PROVIDERS
from gallery.catalog.prompt import MAX_PROMPT_LENGTH, Code
from gallery.studio.models.jobs import Job
from gallery.teams.models.teams import Role

# --- the wire vocabulary: evolink's words, which gallery.api.translate speaks ---------------------

TASK_ID_PREFIX = "task-unified-mjw-"

ERROR_TYPES: Mapping[str, str] = {
    "invalid_request": "invalid_request_error",
    "unauthorized": "authentication_error",
    "insufficient_quota": "insufficient_quota",
    "model_access_denied": "invalid_request_error",
    "task_not_found": "invalid_request_error",
    "not_found": "invalid_request_error",
    "url_expired": "invalid_request_error",
    "method_not_allowed": "invalid_request_error",
    "rate_limit_exceeded": "rate_limit_error",
    "internal_error": "api_error",
}
ERROR_STATUS: Mapping[str, int] = {
    "invalid_request": 400,
    "unauthorized": 401,
    "insufficient_quota": 402,
    "model_access_denied": 403,
    "task_not_found": 404,
    "not_found": 404,
    "url_expired": 410,
    "method_not_allowed": 405,
    "rate_limit_exceeded": 429,
    "internal_error": 500,
}

MAX_IMAGE_URLS = 20  # the catalog allows one; past this the list is not even looked at
MAX_CALLBACK_URL = 2048  # evolink's limit (providers.md §2.3)

BATCH_NOT_IN_API = (
    "The API makes one task per request: permutation braces {a, b} and --repeat are "
    "expanded only in the web create bar. Send one request per prompt."
)

STATUSES: Mapping[str, str] = {
    Job.Status.AWAITING: "pending",  # task_info.pending_reason says why
    Job.Status.QUEUED: "pending",
    Job.Status.SUBMITTING: "processing",
    Job.Status.RUNNING: "processing",
    Job.Status.INGESTING: "processing",  # images are being stored; results come with "completed"
    Job.Status.COMPLETED: "completed",
    Job.Status.FAILED: "failed",
    Job.Status.CANCELLED: "failed",  # evolink has no "cancelled"; its error code says so
}
# evolink's task error codes (providers.md §2.2) for the pipeline's error kinds.
TASK_ERROR_CODES: Mapping[str, str] = {
    "invalid_request": "invalid_parameters",
    "content_policy": "content_policy_violation",
    "auth": "service_error",
    "access_denied": "service_error",
    "insufficient_quota": "service_error",
    "rate_limited": "resource_exhausted",
    "unavailable": "service_unavailable",
    "not_found": "resource_not_found",
    "ambiguous": "service_error",
}


MODELS: tuple[str, ...] = tuple(OPERATIONS)


def choices(name: str) -> tuple[str, ...]:
    """Every value the catalog allows for a choice parameter, across operations."""
    seen: dict[str, None] = {}
    for op in OPERATIONS.values():
        spec = op.param(name)
        seen.update(dict.fromkeys(spec.choices if spec else ()))
    return tuple(seen)


def _scale_range() -> tuple[float, float]:
    specs = [s for op in OPERATIONS.values() if (s := op.param("scale"))]
    return (
        float(min(s.minimum for s in specs if s.minimum is not None)),
        float(max(s.maximum for s in specs if s.maximum is not None)),
    )


def per_operation(name: str) -> str:
    """Which operations take parameter `name`, and what each allows."""
    parts = []
    for op in OPERATIONS.values():
        if spec := op.param(name):
            allowed = " | ".join(spec.choices) or f"{spec.minimum}-{spec.maximum}"
            default = f", default {spec.default}" if spec.default is not None else ""
            parts.append(f"{op.id}: {allowed}{default}")
    return "; ".join(parts) + "."


SPEEDS: tuple[str, ...] = tuple(dict.fromkeys(s for op in OPERATIONS.values() for s in op.speeds))
SCALE_MIN, SCALE_MAX = _scale_range()
BOX = operations.BOX_RANGES
POINT_MIN, POINT_MAX = operations.MASK_POINT_RANGE

Uri = Annotated[str, Field(json_schema_extra={"format": "uri"})]
Side = Annotated[int, Field(ge=BOX["width"][0], le=BOX["width"][1])]
Offset = Annotated[int, Field(ge=BOX["x"][0], le=BOX["x"][1])]


class Shape(BaseModel):
    """A request object: JSON types as sent (no "1" for 1), nothing else in it."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


# --- the request ----------------------------------------------------------------------


class Canvas(Shape):
    """mj-v7-edit and mj-v7-upload-paint: the canvas in pixels."""

    width: Side
    height: Side


class ImgPos(Shape):
    """mj-v7-edit and mj-v7-upload-paint: where the source image sits on the canvas."""

    width: Side
    height: Side
    x: Offset
    y: Offset


class MaskArea(Shape):
    width: Side
    height: Side
    points: list[Annotated[float, Field(ge=POINT_MIN, le=POINT_MAX)]] = Field(
        min_length=6,
        max_length=operations.MAX_MASK_NUMBERS,
        description=f"At most {operations.MAX_MASK_NUMBERS} numbers in all areas together.",
    )


class MaskAreas(Shape):
    """Polygons: points is a flat x1, y1, x2, y2, … list."""

    areas: list[MaskArea] = Field(min_length=1, max_length=operations.MAX_MASK_AREAS)


class MaskUrl(Shape):
    """A mask image URL (white is repainted)."""

    url: Uri


def _optional(kind: Any, description: str, **bounds: Any) -> Any:
    """An optional field: absent, null or `kind`."""
    return Annotated[kind | None, Field(description=description, **bounds)]


class ModelParams(Shape):
    """The operation's parameters; which ones each model takes is in the model table. Any
    other name is refused with a 400 naming it."""

    # Other names are kept and handed to the catalog, which names the unknown one in its
    # 400: the document says none may be added, and none is.
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    task_id: _optional(
        str,
        "For edits: the mjweb task id (task-unified-mjw-…) of a completed task in your team, "
        "from this API or the gallery.",
    ) = None
    image_number: _optional(
        Literal[operations.IMAGE_NUMBERS],
        "For edits: which image of the parent grid (default 0).",
    ) = None
    speed: _optional(
        Literal[SPEEDS], "draft only for mj-v7; edits take fast or turbo (default fast)."
    ) = None
    type: _optional(Literal[choices("type")], per_operation("type")) = None
    mode: _optional(Literal[choices("mode")], per_operation("mode")) = None
    direction: _optional(Literal[choices("direction")], per_operation("direction")) = None
    scale: _optional(float, per_operation("scale"), ge=SCALE_MIN, le=SCALE_MAX) = None
    mask: _optional(
        MaskAreas | MaskUrl,
        "Polygons (points is a flat x1, y1, x2, y2, … list) or a mask image URL "
        "(white is repainted), not both.",
    ) = None
    canvas: _optional(Canvas, "mj-v7-edit and mj-v7-upload-paint: the canvas in pixels.") = None
    img_pos: _optional(
        ImgPos,
        "mj-v7-edit and mj-v7-upload-paint: where the source image sits on the canvas.",
    ) = None

    _sent: dict[str, Any] = PrivateAttr(default_factory=dict)

    @field_validator("image_number", mode="before")
    @classmethod
    def a_json_integer(cls, value: Any) -> Any:
        # The choice alone would take True and 0.0, which equal 1 and 0 in Python.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise PydanticCustomError("literal_error", "Input should be an integer: 0, 1, 2 or 3")
        return value

    @model_validator(mode="wrap")
    @classmethod
    def keep_as_sent(cls, data: Any, handler: Any) -> "ModelParams":
        params = handler(data)
        params._sent = dict(data) if isinstance(data, dict) else {}
        return params

    def catalog_params(self) -> dict[str, Any]:
        """The operation's parameters as the client sent them (2 stays 2, not 2.0, in the
        upstream request), unknown names included: the catalog judges them. task_id,
        image_number and speed are not among them: they choose the parent and the speed."""
        source = ("task_id", "image_number", "speed")
        return {k: v for k, v in self._sent.items() if k not in source and v is not None}


class ImageGenerationRequest(Shape):
    """evolink's create request. Unknown top-level fields are ignored, as evolink does."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(
        min_length=1,
        max_length=64,
        # The catalog judges the name (its 400 says which it knows), as for the web form.
        json_schema_extra={"enum": list(MODELS)},
        description="The operation, as evolink names it. Which fields each one needs is in the "
        "model table of the docs page.",
    )
    prompt: _optional(
        str,
        "Native Midjourney V7 syntax: [image URLs] text --param value. Required for mj-v7, "
        "remix, edit, retexture and upload-paint; optional for variation, pan, outpaint and "
        "inpaint; not allowed for the rest. One request makes one task: permutation braces "
        "{a, b} and --repeat (which the web create bar expands into several jobs) are refused "
        "with 400 invalid_request, param prompt; send one request per prompt.",
        # The prompt linter judges the length (of the stripped prompt, as for the web form),
        # with the 422 that names the limit; the document states the same limit.
        json_schema_extra={"maxLength": MAX_PROMPT_LENGTH},
    ) = None
    image_urls: _optional(
        list[Uri],
        "Exactly one public http(s) image URL for mj-v7-remove-bg, mj-v7-retexture and "
        "mj-v7-upload-paint; not allowed otherwise.",
        max_length=MAX_IMAGE_URLS,
    ) = None
    model_params: ModelParams | None = None
    callback_url: _optional(
        Uri,
        "https URL mjweb POSTs the task body to when the task is completed, failed or cancelled "
        "and billed: 10 s per attempt, retried after 1 s, 2 s and 4 s, any 2xx is success. "
        "Private and local addresses are refused.",
        # Longer is refused by api.check_callback_url, with the rest of evolink's URL rules.
        json_schema_extra={"maxLength": MAX_CALLBACK_URL},
    ) = None
    provider: _optional(
        Literal[PROVIDERS],
        "Which aggregator runs the task. Default: the first in the team's provider order, or "
        "for an edit the provider that made its parent. A new generation or direct-image task "
        "its provider could not take moves to the next provider in that order, re-priced.",
    ) = None

    @field_validator("prompt")
    @classmethod
    def one_task_per_request(cls, prompt: str | None) -> str | None:
        if prompt and permutations.uses_batch_syntax(prompt):
            raise PydanticCustomError(str(Code.UNSUPPORTED_SYNTAX), BATCH_NOT_IN_API)
        return prompt

    @property
    def params(self) -> ModelParams:
        return self.model_params or ModelParams()


# --- the answers ------------------------------------------------------------------------

TASK_ERROR_NAMES = sorted(
    {*TASK_ERROR_CODES.values(), "request_cancelled", "generation_timeout", "unknown_error"}
)


class TaskInfo(BaseModel):
    can_cancel: bool = Field(description="Whether it can still be cancelled (in the gallery).")
    estimated_time: int = Field(
        ge=0, description="Seconds, the provider's estimate once it has one."
    )
    pending_reason: str | None = Field(
        None,
        description="Why a pending task waits for a team admin's approval (its credits are "
        "reserved); absent when it does not.",
    )


class TaskError(BaseModel):
    code: Literal[tuple(TASK_ERROR_NAMES)]
    message: str
    type: Literal["task_error"]


class Usage(BaseModel):
    billing_rule: Literal["per_call"]
    credits_reserved: int = Field(
        ge=0, description="Credits held for the task (1 credit = $0.001)."
    )
    credits_charged: int | None = Field(
        ge=0,
        description="What it finally cost: the reservation when completed, 0 when failed or "
        "cancelled (refunded), null while in flight.",
    )
    user_group: str


class Task(BaseModel):
    """evolink's task object. The create answer, the poll answer and the callback body are all
    this."""

    id: str = Field(pattern=rf"^{TASK_ID_PREFIX}[1-9][0-9]*$")
    object: Literal["image.generation.task"]
    model: Literal[MODELS]
    status: Literal[tuple(dict.fromkeys(STATUSES.values()))] = Field(
        description="pending: waiting to be sent (also while it waits in line behind your "
        "in-flight cap); processing: the provider is working, or mjweb is storing the images; "
        "completed: results are ready; failed: see error (a cancelled task is failed with "
        "request_cancelled)."
    )
    progress: int = Field(ge=0, le=100)
    created: int = Field(description="Unix time.")
    type: Literal["image"]
    provider: Literal[PROVIDERS]
    task_info: TaskInfo
    results: list[Uri] = Field(
        max_length=len(operations.IMAGE_NUMBERS),
        description="mjweb's own copies of the images, in grid order, once completed. A plain "
        "GET fetches them, so keep the URLs private. They are short-lived "
        "(MJWEB_API_FILE_URL_SECONDS, an hour by default; then 410 url_expired): read the task "
        "again for fresh ones. Moderation can leave fewer than four.",
    )
    error: TaskError | None
    usage: Usage


class Limits(BaseModel):
    monthly: int | None
    monthly_remaining: int | None = Field(ge=0)
    team_monthly: int | None
    team_monthly_remaining: int | None = Field(ge=0)
    max_in_flight: int = Field(ge=0)
    requests_per_window: int = Field(ge=1)
    window_seconds: int = Field(ge=1)


class Balance(BaseModel):
    object: Literal["balance"]
    team: str
    user: str
    role: Literal[tuple(Role.values)]
    credits: int = Field(ge=0, description="Spendable now.")
    reserved: int = Field(
        ge=0, description="Held by tasks in flight (already taken out of credits)."
    )
    spent_this_month: int
    in_flight: int = Field(ge=0)
    limits: Limits


def _inline(model: type[BaseModel]) -> WithJsonSchema:
    """`model`'s schema written out where it is used, not a reference: the error
    envelope reads as one piece in the document."""
    return WithJsonSchema(model.model_json_schema())


class Issue(BaseModel):
    code: str = Field(
        description="The validator's code, e.g. param_out_of_range, image_without_text, "
        "parent_not_draft."
    )
    param: str
    message: str


class ErrorBody(BaseModel):
    code: Literal[tuple(ERROR_STATUS)]
    message: str
    type: Literal[tuple(sorted(set(ERROR_TYPES.values())))]
    param: str | None = Field(
        description="The offending request field, header or prompt flag (e.g. prompt, task_id, "
        "--ar, Idempotency-Key)."
    )
    issues: list[Annotated[Issue, _inline(Issue)]] = Field(
        default_factory=list, description="Every problem found, for 400s from validation."
    )


class ErrorResponse(BaseModel):
    """evolink's error envelope; `param` and `issues` are mjweb's additions."""

    error: Annotated[ErrorBody, _inline(ErrorBody)]


# --- batches -----------------------------------------------------------------------------


class BatchRowRequest(Shape):
    """One row of a batch: the columns of a pasted table (gallery/catalog/tables.py)."""

    prompt: str = Field(max_length=tables.MAX_CELL, description="Midjourney syntax, one job.")
    aspect_ratio: str | None = Field(
        None, max_length=20, description="Appended as --ar, e.g. 16:9."
    )
    speed: Literal[tables.SPEEDS] | None = Field(None, description="fast when absent.")
    provider: Literal[PROVIDERS] | None = Field(
        None, description="The first of the team's provider order when absent."
    )
    project: str | None = Field(
        None,
        max_length=120,
        description="The name of an open project of the team; else the token's project, if any.",
    )
    reference_url: str | None = Field(
        None, max_length=2048, description="An image URL put before the prompt."
    )
    repeat: int = Field(1, ge=1, le=tables.MAX_REPEAT, description="Jobs of this row.")
    name: str | None = Field(None, max_length=120, description="A label kept with its jobs.")


class BatchRequest(Shape):
    name: str = Field(min_length=1, max_length=80, description="Its results' collection too.")
    cap: int = Field(
        ge=1,
        le=10**9,
        description="Credits the batch may reserve in all; rows past it are not run.",
    )
    rows: list[BatchRowRequest] = Field(min_length=1, max_length=tables.MAX_ROWS)


class BatchCreated(BaseModel):
    object: Literal["batch"]
    id: int
    name: str
    status: Literal["running", "paused", "capped", "finished", "cancelled"]
    cap: int = Field(ge=1)
    rows: int = Field(ge=1)
    jobs: int = Field(ge=1, description="Jobs its rows stand for (repeats counted).")
    total_credits: int = Field(ge=0, description="What they would cost in all, by today's prices.")
    url: str = Field(description="The batch's page on the site: rows, progress, pause, cancel.")

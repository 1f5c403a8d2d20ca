"""Every number, date, month and id a form or query string takes, fed what no
number field sends: huge and tiny exponents, hundreds of nines, NaN and
infinities, digits of other scripts, signs, underscores, hex, whitespace,
empty and very long strings. Every answer is a 4xx (a page filter answers the
page with the error in place, still a 4xx), and each comes back within a
second: "1e999999999" once held a worker for minutes.

The table FIELDS lists (route name, method, field) for every numeric input of
gallery/views, found by reading each request.GET / request.POST / data.get()
and form class there; the meta-test at the end fails when a Form class in
gallery gains a numeric field that the table does not list. A field that may
legitimately take one of the values (a blank optional field, a negative
adjustment) says so in `accepts`; for those only "no 5xx, within a second"
is asserted.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django import forms
from django.test import Client
from django.urls import reverse

import gallery
from gallery.models import (
    ApiToken,
    Budget,
    BudgetRequest,
    Collection,
    CreditAccount,
    Membership,
)
from gallery.net.fields import WholeNumberField
from tests.factories import finished_job, fund

pytestmark = pytest.mark.django_db

# Generous: the point is seconds, not minutes. The machine running CI may be
# busy; a request that does real work on refused input would take far longer.
SECONDS = 1.0

NUMBERS: dict[str, str] = {
    "huge exponent": "1e999999999",
    "400 nines": "9" * 400,
    "tiny exponent": "1e-999999",
    "exponent": "1E5",
    "exponent zero": "5e0",
    "NaN": "NaN",
    "nan": "nan",
    "Infinity": "Infinity",
    "-inf": "-inf",
    "Arabic-Indic digits": "\u0661\u0662\u0663",
    "fullwidth digits": "\uff11\uff12",
    "superscript two": "\u00b2",
    "negative": "-5",
    "minus zero": "-0",
    "underscore": "1_000",
    "thousands comma": "1,000",
    "hex": "0x10",
    "inner space": "1 000",
    "no-break space": "\u00a05",
    "whitespace only": " \t ",
    "empty": "",
    "very long": "1" * 20_000,
    "long leading zeros": "0" * 70 + "1",
}
DATES: dict[str, str] = {
    **NUMBERS,
    "30 February": "2026-02-30",
    "month 13": "2026-13-01",
    "year 9999": "9999-12-31",
    "year 1999": "1999-12-31",
    "fullwidth date": "\uff12\uff10\uff12\uff16-01-01",
    "short date": "2026-2-3",
    "compact date": "20260203",
    "week date": "2026-W05-1",
}
MONTHS: dict[str, str] = {
    **NUMBERS,
    "year 10000 at its end": "9999-12",
    "month 13": "2026-13",
    "month zero": "0000-00",
    "year 1999": "1999-12",
    "fullwidth month": "\uff12\uff10\uff12\uff16-01",
    "short month": "2026-1",
    "with a day": "2026-01-01",
}
# The gallery's page cursor: a time in microseconds and a job number, "-" between.
CURSORS: dict[str, str] = {
    **NUMBERS,
    "three parts": "1796313058123456-1-2",
    "year 33658": "999999999999999999-1",
    "year 1969": "-1-1",
    "a fraction of a microsecond": "1796313058123456.5-1",
    "job zero": "1796313058123456-0",
    "400-digit job": "1796313058123456-" + "9" * 400,
    "exponent time": "1e15-1",
    "superscript job": "1796313058123456-\u00b2",
}
OPTIONAL = frozenset({"empty"})


@dataclass(frozen=True)
class Field:
    route: str  # URL name
    method: str  # "GET" or "POST"
    name: str  # the field
    good: str  # a value it takes, so a refusal is the value's doing ("{board}": the world's)
    base: dict[str, str] = field(default_factory=dict)  # the rest of a valid request
    values: dict[str, str] = field(default_factory=lambda: NUMBERS)
    accepts: frozenset[str] = frozenset()  # values of `values` it may legitimately take
    form: tuple[str, str] | None = None  # (Form class, field) it is declared as
    args: str = "slug"  # what the URL names: "slug", "image", "member" or "job"
    htmx: bool = False

    @property
    def id(self) -> str:
        return f"{self.route}:{self.method}:{self.name}:{self.base.get('operation', '')}"


PAN = {"operation": "mj-v7-pan", "form": "pan", "direction": "left"}
ZOOM = {"operation": "mj-v7-outpaint", "form": "zoom"}
RECT = {"operation": "mj-v7-inpaint", "form": "region"} | {
    "rect_x": "0",
    "rect_y": "0",
    "rect_width": "10",
    "rect_height": "10",
}
CANVAS = {"operation": "mj-v7-edit", "form": "edit", "prompt": "sky"} | {
    "canvas_width": "600",
    "canvas_height": "400",
    "img_width": "96",
    "img_height": "64",
    "img_x": "0",
    "img_y": "0",
}
# (the form's other fields, the field, a value it takes, fuzz values it takes)
EDIT_FORMS: list[tuple[dict[str, str], str, str, frozenset[str]]] = [
    (PAN, "scale", "2", OPTIONAL),  # blank: the catalog's default, 1.5
    (ZOOM, "scale", "2", frozenset()),
    (ZOOM | {"scale": "custom"}, "custom_scale", "1.5", frozenset()),
    (RECT, "rect_x", "3", OPTIONAL),  # blank: 0
    (RECT, "rect_y", "3", OPTIONAL),
    (RECT, "rect_width", "20", frozenset()),
    (RECT, "rect_height", "20", frozenset()),
    (CANVAS, "canvas_width", "500", frozenset()),
    (CANVAS, "canvas_height", "500", frozenset()),
    (CANVAS, "img_width", "90", frozenset()),
    (CANVAS, "img_height", "60", frozenset()),
    (CANVAS, "img_x", "7", frozenset({"negative"})),  # the image may hang off the canvas
    (CANVAS, "img_y", "7", frozenset({"negative"})),
]
MEMBER = {"args": "member"}
FIELDS: list[Field] = [
    # The image page: the live price and the edit itself, for every numeric field.
    *(
        Field("image-price", "GET", name, good, base, accepts=ok, args="image")
        for base, name, good, ok in EDIT_FORMS
    ),
    *(
        Field("edit-image", "POST", name, good, base, accepts=ok, args="image", htmx=True)
        for base, name, good, ok in EDIT_FORMS
    ),
    # The gallery: its date filters, and its live updates' event numbers and filters.
    Field("gallery", "GET", "since", "2026-02-28", {"q": "cat"}, DATES, OPTIONAL),
    Field("gallery", "GET", "until", "2026-02-28", {}, DATES, OPTIONAL),
    Field("live-poll", "GET", "after", "1", {"page": "gallery"}, accepts=OPTIONAL),
    Field("live-poll", "GET", "since", "2026-02-28", {"after": "0"}, DATES, OPTIONAL),
    Field("live-stream", "GET", "last", "1", {"page": "gallery"}, accepts=OPTIONAL),
    # Its pages: the cursor of "Load older jobs".
    Field("gallery", "GET", "before", "1796313058123456-1", {}, CURSORS, OPTIONAL),
    Field("gallery", "GET", "before", "1796313058123456-1", {}, CURSORS, OPTIONAL, htmx=True),
    # Credits: the ledger filter and pages, the dashboard, the CSV.
    Field(
        "my-credits", "GET", "month", "2026-02", {}, MONTHS, OPTIONAL, ("LedgerFilterForm", "month")
    ),
    Field("my-credits", "GET", "page", "1", accepts=OPTIONAL),
    Field("spend", "GET", "month", "2026-02", {}, MONTHS, OPTIONAL),
    Field("spend-csv", "GET", "month", "2026-02", {}, MONTHS, OPTIONAL),
    # The admins' credit actions, and the month their page returns to.
    Field(
        "grant-credits",
        "POST",
        "amount",
        "5",
        {"reason": "x"},
        form=("GrantForm", "amount"),
        **MEMBER,
    ),
    Field(
        "adjust-credits",
        "POST",
        "amount",
        "5",
        {"reason": "fuzz"},
        accepts=frozenset({"negative"}),  # takes credits away
        form=("AdjustForm", "amount"),
        **MEMBER,
    ),
    Field(
        "set-limits",
        "POST",
        "monthly_limit",
        "5",
        {"max_in_flight": "4"},
        accepts=OPTIONAL,  # blank: no limit
        form=("LimitsForm", "monthly_limit"),
        **MEMBER,
    ),
    Field(
        "set-limits",
        "POST",
        "max_in_flight",
        "4",
        {"monthly_limit": ""},
        form=("LimitsForm", "max_in_flight"),
        **MEMBER,
    ),
    Field("grant-credits", "POST", "month", "2026-02", {"amount": "1"}, MONTHS, OPTIONAL, **MEMBER),
    Field(
        "team-limit",
        "POST",
        "monthly_limit",
        "5",
        accepts=OPTIONAL,
        form=("TeamLimitForm", "monthly_limit"),
    ),
    Field("team-limit", "POST", "month", "2026-02", {"monthly_limit": "5"}, MONTHS, OPTIONAL),
    # A token's lifetime; a job's collection.
    Field(
        "create-token",
        "POST",
        "expires_in_days",
        "30",
        {"name": "fuzz"},
        accepts=OPTIONAL,  # blank: until revoked
        form=("TokenForm", "expires_in_days"),
    ),
    Field("collect-job", "POST", "collection", "{board}", args="job"),
    # A batch's spending cap, asked for when it starts.
    Field(
        "batch-new",
        "POST",
        "cap",
        "100",
        {"name": "fuzz", "table": "prompt\na red fox", "action": "start"},
        form=("BatchForm", "cap"),
    ),
    # Budgets, approvals and requests for more (issue 20).
    Field(
        "set-budget",
        "POST",
        "limit",
        "100",
        {"applies_to": "team", "period": "month"},
        form=("BudgetForm", "limit"),
    ),
    Field(
        "set-approvals",
        "POST",
        "approval_above",
        "100",
        accepts=OPTIONAL,  # blank: no price needs approval
        form=("ApprovalsForm", "approval_above"),
    ),
    Field(
        "ask-for-more",
        "POST",
        "amount",
        "10",
        {"budget": "{budget}"},
        form=("AskForMoreForm", "amount"),
    ),
    Field(
        "ask-for-more",
        "POST",
        "budget",
        "{budget}",
        {"amount": "10"},
        form=("AskForMoreForm", "budget"),
    ),
    Field(
        "grant-request",
        "POST",
        "amount",
        "10",
        {"until": "2999-12-31"},
        form=("RaiseForm", "amount"),
        args="asked",
    ),
    Field("grant-request", "POST", "until", "2999-12-31", {"amount": "10"}, DATES, args="asked"),
]


@pytest.fixture
def world(alice, bob, carol, team, settings):
    """alice (admin) with credits and two images (evolink and Vtrix), bob's
    membership for the admins' actions, a board, and carol in another team."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    fund(alice, team, 5000)
    CreditAccount.objects.filter(membership__user=alice).update(max_in_flight=50)
    image = finished_job(alice, team, images=1).images.get()
    vtrix = finished_job(alice, team, provider="vtrix", images=1).images.get()
    board = Collection.objects.create(team=team, owner=alice, name="Board")
    member = Membership.objects.get(user=bob, team=team)
    budget = Budget.objects.create(team=team, limit=10_000)
    asked = BudgetRequest.objects.create(budget=budget, membership=member, amount=5)
    return {
        "budget": budget.pk,
        "asked": asked.pk,
        "image": image.pk,
        "vtrix": vtrix.pk,
        "member": member.pk,
        "job": image.job_id,
        "board": board.pk,
    }


def url_of(spec: Field, world: dict) -> str:
    if spec.args == "slug":
        return reverse(spec.route, args=["acme"])
    return reverse(spec.route, args=["acme", world[spec.args]])


def send(client: Client, spec: Field, url: str, value: str):
    data = {**spec.base, spec.name: value}
    if spec.method == "POST":
        data.setdefault("client_request_id", "0123456789abcdef0123456789abcdef")
    headers = {"HX-Request": "true"} if spec.htmx else {}
    send_ = client.get if spec.method == "GET" else client.post
    started = time.monotonic()
    response = send_(url, data, headers=headers)
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)  # a CSV is only done when streamed
    return response, time.monotonic() - started


@pytest.mark.parametrize("spec", FIELDS, ids=lambda spec: spec.id)
def test_every_odd_number_is_a_4xx_within_a_second(world, alice_client, spec: Field):
    url = url_of(spec, world)
    # A base value naming the world ("{budget}") is that object's id.
    base = {k: v.format(**world) if v[:1] == "{" else v for k, v in spec.base.items()}
    spec = dataclasses.replace(spec, base=base)
    good, took = send(alice_client, spec, url, spec.good.format(**world))
    assert good.status_code < 400 and took <= SECONDS, (spec.id, good.status_code)
    wrong = []
    for label, value in spec.values.items():
        response, took = send(alice_client, spec, url, value)
        status = response.status_code
        refused = 400 <= status < 500
        if took > SECONDS or status >= 500 or not (refused or label in spec.accepts):
            wrong.append(f"{label!r}: {status} in {took:.2f} s")
    assert not wrong, f"{spec.id}: " + "; ".join(wrong)


# --- masks: JSON whose areas are not what the catalog describes ------------------------------

MASKS: dict[str, str] = {
    "a list": "[1, 2]",
    "areas of numbers": json.dumps({"areas": [1, 2]}),
    "polygons of strings": json.dumps({"areas": [["1", "2", "3", "4", "5", "6"]]}),
    "points a number": json.dumps({"areas": [{"width": 9, "height": 9, "points": 5}]}),
    "points of strings": json.dumps({"areas": [{"width": 9, "height": 9, "points": ["a"] * 6}]}),
    "huge points": '{"areas": [{"width": 9, "height": 9, "points": [1e999, 0, 1, 0, 1, 1]}]}',
    "NaN points": '{"areas": [{"width": 9, "height": 9, "points": [NaN, 0, 1, 0, 1, 1]}]}',
    "400-digit points": json.dumps(
        {"areas": [{"width": 9, "height": 9, "points": [10**400, 0, 1, 0, 1, 1]}]}
    ),
    "huge frame": json.dumps({"areas": [{"width": 10**30, "height": 9, "points": [0] * 6}]}),
    "float frame": json.dumps({"areas": [{"width": 9.5, "height": 9, "points": [0] * 6}]}),
    "negative frame": json.dumps({"areas": [{"width": -9, "height": 9, "points": [0] * 6}]}),
    "too many areas": json.dumps({"areas": [{"width": 9, "height": 9, "points": [0] * 6}] * 500}),
    "too many points": json.dumps({"areas": [{"width": 9, "height": 9, "points": [0] * 5000}]}),
    "nested deep": "[" * 100_000 + "]" * 100_000,
    "areas an object": json.dumps({"areas": {"0": {}}}),
    "no areas": json.dumps({"areas": []}),
    "a string": json.dumps("everything"),
}


@pytest.mark.parametrize("provider", ["image", "vtrix"])
@pytest.mark.parametrize(("route", "method"), [("image-price", "GET"), ("edit-image", "POST")])
def test_every_malformed_mask_is_a_400_within_a_second(
    world, alice_client, provider, route, method
):
    good = json.dumps({"areas": [{"width": 96, "height": 64, "points": [0, 0, 50, 0, 50, 40]}]})
    region = {"operation": "mj-v7-inpaint", "form": "region"}
    spec = Field(route, method, "mask", good, region, htmx=True)
    url = reverse(route, args=["acme", world[provider]])
    assert send(alice_client, spec, url, good)[0].status_code < 400
    wrong = []
    for label, mask in MASKS.items():
        response, took = send(alice_client, spec, url, mask)
        if response.status_code != 400 or took > SECONDS:
            wrong.append(f"{label!r}: {response.status_code} in {took:.2f} s")
    assert not wrong, "; ".join(wrong)


# --- the team API's JSON numbers ----------------------------------------------------------------

JSON_NUMBERS: dict[str, str] = {
    "huge exponent": "1e999999999",
    "400 nines": "9" * 400,
    "4000 nines": "9" * 4000,
    "tiny exponent": "1e-999999",
    "exponent": "1E5",
    "exponent zero": "5e0",
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "negative": "-5",
    "minus zero": "-0",
    "true": "true",
    **{f"the string {label}": json.dumps(value) for label, value in NUMBERS.items()},
}
V = "__value__"  # where the value goes, as raw JSON text
BOX = {"width": 9, "height": 9}
AREA = {"width": 9, "height": 9, "points": [0, 0, 5, 0, 5, 5]}
# (what the field is, model, model_params with V for the field, a value it
# takes, values of JSON_NUMBERS it may legitimately take)
API_FIELDS: list[tuple[str, str, dict, str, frozenset[str]]] = [
    ("image_number", "mj-v7-upscale", {"image_number": V}, "0", frozenset({"minus zero"})),
    ("pan scale", "mj-v7-pan", {"scale": V}, "2", frozenset()),
    ("zoom scale", "mj-v7-outpaint", {"scale": V}, "1.5", frozenset()),
    (
        "canvas width",
        "mj-v7-edit",
        {"canvas": {**BOX, "width": V}, "img_pos": {**BOX, "x": 0, "y": 0}},
        "600",
        frozenset(),
    ),
    (
        "img_pos x",
        "mj-v7-edit",
        {"canvas": BOX, "img_pos": {**BOX, "x": V, "y": 0}},
        "3",
        frozenset({"negative", "minus zero"}),  # the image may hang off the canvas
    ),
    (
        "mask width",
        "mj-v7-inpaint",
        {"mask": {"areas": [{**AREA, "width": V}]}},
        "600",
        frozenset(),
    ),
    (
        "mask point",
        "mj-v7-inpaint",
        {"mask": {"areas": [{**AREA, "points": [V, 0, 5, 0, 5, 5]}]}},
        "1",
        # Points are JSON numbers from 0 to 8192: these are 0, 0.0 and 5.0.
        frozenset({"minus zero", "tiny exponent", "exponent zero"}),
    ),
]


@pytest.mark.parametrize(
    ("what", "model", "params", "good", "accepts"), API_FIELDS, ids=[f[0] for f in API_FIELDS]
)
def test_every_odd_json_number_in_the_api_is_a_4xx_within_a_second(
    world, alice, team, settings, monkeypatch, what, model, params, good, accepts
):
    settings.MJWEB_API_RATE_LIMIT = 100_000
    monkeypatch.setattr("gallery.studio.pipeline.async_task", lambda *a, **k: None)
    token = ApiToken.issue(Membership.objects.get(user=alice, team=team), "fuzz")[1]
    client = Client(headers={"Authorization": f"Bearer {token}"})
    body = {"model": model, "model_params": {"task_id": f"task-unified-mjw-{world['job']}"}}
    body["model_params"].update(params)
    if model == "mj-v7-edit":
        body["prompt"] = "a wide bay"
    template = json.dumps(body)

    def create(value: str):
        raw = template.replace(json.dumps(V), value, 1)
        return client.post("/api/v1/images/generations", raw, content_type="application/json")

    # The body is right: with a good value it makes a job.
    assert create(good).status_code == 200, create(good).content
    wrong = []
    for label, value in JSON_NUMBERS.items():
        started = time.monotonic()
        status = create(value).status_code
        took = time.monotonic() - started
        if took > SECONDS or status >= 500 or not (400 <= status < 500 or label in accepts):
            wrong.append(f"{label!r}: {status} in {took:.2f} s")
    assert not wrong, f"{what}: " + "; ".join(wrong)


# --- the table covers every numeric form field --------------------------------------------------


def gallery_forms() -> Iterator[type[forms.BaseForm]]:
    """Every Form class defined in a gallery module (each module imported first)."""
    for module in pkgutil.walk_packages(gallery.__path__, "gallery."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    pending = [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("gallery."):
            yield cls


def test_every_numeric_form_field_is_in_the_table_and_strictly_bounded():
    numeric = (forms.IntegerField, forms.DecimalField, forms.FloatField)
    found = {
        (cls.__name__, name): form_field
        for cls in gallery_forms()
        for name, form_field in cls.base_fields.items()
        if isinstance(form_field, numeric)
    }
    tabled = {spec.form for spec in FIELDS if spec.form}
    assert set(found) <= tabled, f"numeric form fields missing from FIELDS: {set(found) - tabled}"
    assert len(found) >= 6  # the credit forms and the token form, at least
    for where, form_field in found.items():
        assert isinstance(form_field, WholeNumberField), where
        assert form_field.min_value is not None and form_field.max_value is not None, where
        assert -(2**63) < form_field.min_value <= form_field.max_value < 2**63, where


def test_every_route_in_the_table_exists():
    world = {"image": 1, "vtrix": 2, "member": 3, "job": 4, "board": 5, "budget": 6, "asked": 7}
    for spec in FIELDS:
        assert url_of(spec, world).startswith("/t/acme/"), spec.id

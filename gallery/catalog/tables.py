"""A batch as a table: CSV or TSV with a header row, one job (or `repeat`) per row,
or the team API's list of rows (`from_records`).

Columns (any order, case-blind; the first row names them):

    prompt          required: the prompt in Midjourney syntax
    aspect ratio    optional: "16:9", appended as --ar (also: aspect, ar)
    speed           optional: draft, fast or turbo (fast when empty)
    provider        optional: evolink, reapi or vtrix (the site's when empty)
    project         optional: the name of an open project of the team (checked by studio.batches)
    reference url   optional: an image URL put before the prompt (also: reference)
    repeat          optional: how many jobs of this row, 1 to MAX_REPEAT (also: count)
    name            optional: a free label kept with the row's jobs

Pure: the rules of each cell are checked here; the prompt itself is linted
and priced by the catalog (operations.validate, pricing) per row, later.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from gallery.catalog.operations import PROVIDERS
from gallery.catalog.prompt import check_url

MAX_ROWS = 500
MAX_REPEAT = 10
MAX_CELL = 6000
SPEEDS = ("draft", "fast", "turbo")
ALIASES = {
    "prompt": "prompt",
    "aspect ratio": "aspect ratio",
    "aspect": "aspect ratio",
    "ar": "aspect ratio",
    "speed": "speed",
    "provider": "provider",
    "project": "project",
    "reference url": "reference url",
    "reference": "reference url",
    "repeat": "repeat",
    "count": "repeat",
    "name": "name",
}
COLUMNS = ("prompt", "aspect ratio", "speed", "provider", "project", "reference url", "repeat")
COLUMNS = (*COLUMNS, "name")
_RATIO = re.compile(r"^[1-9]\d{0,2}:[1-9]\d{0,2}$")


@dataclass(frozen=True)
class Row:
    number: int  # the table's line, the header being line 1
    prompt: str
    aspect: str = ""
    speed: str = ""
    provider: str = ""
    project: str = ""
    reference: str = ""
    repeat: int = 1
    name: str = ""

    @property
    def composed(self) -> str:
        """The prompt as sent: the reference first, the aspect ratio last."""
        text = f"{self.reference} {self.prompt}" if self.reference else self.prompt
        return f"{text} --ar {self.aspect}" if self.aspect else text


@dataclass(frozen=True)
class Problem:
    number: int  # 0: the table as a whole
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Row {self.number}" if self.number else "The table"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


def parse(text: str) -> tuple[list[Row], list[Problem]]:
    """The table's good rows and, apart, each bad cell's column and rule. A
    problem with the header (no prompt column, an unknown one) is the table's."""
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line.strip()]
    if not lines:
        return [], [Problem(0, "", "It is empty: paste a header row and one row per job")]
    delimiter = "\t" if "\t" in lines[0] else ","
    reader = csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)
    header = [cell.strip().lower().replace("_", " ") for cell in next(reader)]
    if problems := _header_problems(header):
        return [], problems
    columns = [ALIASES[name] for name in header]
    rows, problems = [], []
    for number, cells in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            problems.append(Problem(0, "", f"It has more than {MAX_ROWS} rows; split it"))
            break
        row, found = _row(number, dict(zip(columns, (c.strip() for c in cells), strict=False)))
        if len(cells) > len(columns):
            found.append(
                Problem(number, "", f"It has {len(cells)} cells; the header names {len(columns)}")
            )
        if found:
            problems.extend(found)
        else:
            rows.append(row)
    return rows, problems


def from_records(records: list[dict]) -> tuple[list[Row], list[Problem]]:
    """The team API's rows (JSON objects keyed by column, `aspect_ratio` or
    `aspect ratio` alike), checked by the same rules; row n is the n-th object."""
    rows, problems = [], []
    for number, record in enumerate(records, start=1):
        cells = {ALIASES.get(k.replace("_", " ").lower(), k): str(v) for k, v in record.items()}
        row, found = _row(number, {k: v.strip() for k, v in cells.items()})
        problems.extend(found)
        if not found:
            rows.append(row)
    return rows, problems


def _header_problems(header: list[str]) -> list[Problem]:
    known = ", ".join(COLUMNS)
    problems = [
        Problem(0, name or "(blank)", f"Unknown column; the columns are: {known}")
        for name in header
        if name not in ALIASES
    ]
    named = [ALIASES.get(name) for name in header]
    for column in sorted({c for c in named if c and named.count(c) > 1}):
        problems.append(Problem(0, column, "This column is named twice"))
    if "prompt" not in named:
        problems.append(Problem(0, "prompt", "The header row must name a prompt column"))
    return problems


def _row(number: int, cells: dict[str, str]) -> tuple[Row, list[Problem]]:
    problems: list[Problem] = []

    def refuse(column: str, message: str) -> None:
        problems.append(Problem(number, column, message))

    for column, value in cells.items():
        if len(value) > MAX_CELL:
            refuse(column, f"At most {MAX_CELL} characters (this cell has {len(value)})")
    prompt = cells.get("prompt", "")
    if not prompt:
        refuse("prompt", "A prompt is required")
    aspect = cells.get("aspect ratio", "")
    if aspect and not _RATIO.match(aspect):
        refuse("aspect ratio", f'Write it as width:height, such as 16:9 (got "{aspect[:20]}")')
    elif aspect and {"--ar", "--aspect"} & set(prompt.split()):
        refuse("aspect ratio", "The prompt has its own --ar; give the aspect ratio once")
    speed = cells.get("speed", "").lower()
    if speed and speed not in SPEEDS:
        refuse("speed", f'One of {", ".join(SPEEDS)} (got "{speed[:20]}")')
    provider = cells.get("provider", "").lower()
    if provider and provider not in PROVIDERS:
        refuse("provider", f'One of {", ".join(PROVIDERS)} (got "{provider[:20]}")')
    reference = cells.get("reference url", "")
    if reference and (why := check_url(reference)):
        refuse("reference url", f"The URL {why[1]}")
    repeat = _repeat(cells.get("repeat", ""), refuse)
    row = Row(
        number,
        prompt,
        aspect,
        speed,
        provider,
        cells.get("project", ""),
        reference,
        repeat,
        cells.get("name", "")[:120],
    )
    return row, problems


def _repeat(raw: str, refuse) -> int:
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPEAT:
        refuse("repeat", f'A whole number from 1 to {MAX_REPEAT} (got "{raw[:20]}")')
        return 1
    return int(raw)

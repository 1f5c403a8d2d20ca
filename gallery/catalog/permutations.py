"""Midjourney's batch syntax: permutation braces and --repeat, expanded into
one prompt per job before the linter sees any of them.

The rules, as Midjourney documents its "Permutation Prompts" and --repeat
(mjweb's own choices are marked *):

1. `{a, b, c}` anywhere in the prompt stands for each option in turn: in the
   text, in a parameter's value (`--ar {1:1, 16:9}`) or as parameters
   (`--s 50 {--raw, --tile}`). The prompt becomes one job per option.
2. Several groups combine: one job per combination, the first group varying
   slowest. `a {red, blue} bird --ar {1:1, 16:9}` makes 4 jobs, in the order
   red 1:1, red 16:9, blue 1:1, blue 16:9.
3. Groups nest: an option may hold groups of its own.
   `a {bird {on a pier, in a tree}, cat}` makes 3 jobs. *At most MAX_DEPTH
   levels deep.
4. Only the commas directly inside a group separate its options; each option
   is trimmed of the spaces around it. An empty option stands for nothing
   (`a {, very} big dog`), and the doubled space it leaves is closed up.
   *Empty braces (`{}`, `{ }`) are refused: they are almost always a typo.
5. A backslash makes the next `{`, `}`, `,` or `\\` plain text, wherever it
   stands: `{red\\, white, blue}` has two options, "red, white" and "blue".
   A backslash before any other character is kept as typed. *Escapes are
   read only in a prompt that uses braces or --repeat. *A plain-text
   brace pair still reaches the linter, which refuses `{…}`: the V7 API
   takes no braces.
6. `--repeat N` or `--r N` runs each combination N times (so repeats
   multiply permutations). *It stands outside the braces, once, with a whole
   number from 1 to the cap.
7. *At most MJWEB_BATCH_CAP jobs come from one prompt (default 40:
   Midjourney's limit for a permutation in fast mode on its largest plans).
   Past it the prompt is refused, naming the count and the cap.
8. Malformed input is refused naming the problem and where it is: a `{` never
   closed, a `}` with no `{`, empty braces, braces nested too deep, a
   --repeat without a value, with a bad one, twice, or inside braces.

A prompt with none of this syntax comes back exactly as typed, as one job.

Pure module: no Django, no I/O; it imports only `gallery.catalog.prompt`'s issue codes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from gallery.catalog.prompt import Code, Issue

DEFAULT_CAP = 40
MAX_DEPTH = 5
# Counting stops here: a prompt of thirty groups has a billion combinations,
# and the error only needs to say it is far too many.
COUNT_CEILING = 1_000_000
ESCAPABLE = "{},\\"

# `--repeat`/`--r` as a whole word (not `--raw`), then its value if any.
_REPEAT = re.compile(r"(?<!\S)--(repeat|r)(?![^\s])(?:[ \t]+(?!--)(\S+))?", re.IGNORECASE)
_SPACES = re.compile(r"[ \t]{2,}")
_BATCH_HINT = re.compile(r"(?<!\S)--(?:repeat|r)(?![^\s])", re.IGNORECASE)


class BatchError(ValueError):
    """The batch syntax is malformed or makes too many jobs; `issue` says why."""

    def __init__(self, code: Code, param: str, message: str) -> None:
        super().__init__(message)
        self.issue = Issue(code, param, message)
        self.message = message


@dataclass(frozen=True)
class Group:
    options: tuple[tuple[Part, ...], ...]
    at: int  # 1-based position of its "{", for messages


Part = str | Group


@dataclass(frozen=True)
class Expansion:
    """What one prompt stands for: the prompt of each job, repeats included,
    in order; `combinations` × `repeat` of them."""

    prompts: tuple[str, ...]
    combinations: int = 1
    repeat: int = 1
    uses_syntax: bool = False  # braces or --repeat were used (even if one job results)

    @property
    def count(self) -> int:
        return len(self.prompts)


def expand(text: str, *, cap: int = DEFAULT_CAP) -> Expansion:
    """The jobs `text` stands for; BatchError when it is malformed or makes
    more than `cap` jobs. Never expands past the cap: the count comes first."""
    parts = _parse(text)
    groups = [p for p in parts if isinstance(p, Group)]
    parts, repeat = _take_repeat(parts, cap)
    if not groups and repeat is None:
        return Expansion((text,))
    _no_repeat_inside(groups)
    times = repeat or 1
    combinations = _count_seq(parts)
    total = min(combinations * times, COUNT_CEILING)
    if total > cap:
        shown = f"More than {COUNT_CEILING:,}" if total >= COUNT_CEILING else f"{total}"
        how = _how_many(combinations, times)
        raise BatchError(
            Code.TOO_MANY_VALUES,
            "{}",
            f"{shown} jobs{how}: at most {cap} jobs can come from one prompt; "
            "remove some options or lower --repeat",
        )
    prompts = [_tidy(p) for p in _expand_seq(parts)]
    return Expansion(
        tuple(p for p in prompts for _ in range(times)), combinations, times, uses_syntax=True
    )


def uses_batch_syntax(text: str) -> bool:
    """Whether `text` asks for a batch: a brace group or a --repeat/--r flag.
    A stray brace alone is not a batch: such prompts are judged as before."""
    if not isinstance(text, str):
        return False
    if _BATCH_HINT.search(text):
        return True
    try:
        return any(isinstance(p, Group) for p in _parse(text))
    except BatchError:
        return False  # a stray brace is text, as it always was; the linter judges it


def job_request_id(client_request_id: str, index: int, *, limit: int = 64) -> str:
    """Job `index` (0-based) of a batch's id, derived from the one the create
    bar sent, so a replayed batch finds its jobs instead of making them again.
    Fits `limit` characters: a long id is replaced by a digest of it."""
    if not client_request_id:
        return ""
    suffix = f"#{index + 1}"
    base = client_request_id
    if len(base) + len(suffix) > limit:
        base = hashlib.sha256(base.encode()).hexdigest()[: limit - len(suffix)]
    return base + suffix


# --- parsing -------------------------------------------------------------------------


def _parse(text: str) -> tuple[Part, ...]:
    """The prompt as plain text and groups. Iterative, so no input can
    exhaust the stack."""
    tree = _Tree()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPABLE:
            tree.buf.append(text[i + 1])
            i += 2
            continue
        if ch == "{":
            tree.open(i + 1)
        elif ch == "}":
            tree.close(i + 1)
        elif ch == "," and tree.stack:
            tree.next_option()
        else:
            tree.buf.append(ch)
        i += 1
    return tree.finish()


class _Tree:
    """A parse in progress: the parts read so far and the groups still open.
    Positions (`at`) are 1-based characters, for messages."""

    def __init__(self) -> None:
        self.root: list[Part] = []
        # Each open group: its options so far, the list it belongs to, its position.
        self.stack: list[tuple[list[list[Part]], list[Part], int]] = []
        self.current = self.root
        self.buf: list[str] = []

    def flush(self) -> None:
        if self.buf:
            self.current.append("".join(self.buf))
            self.buf.clear()

    def open(self, at: int) -> None:
        self.flush()
        if len(self.stack) >= MAX_DEPTH:
            raise BatchError(
                Code.UNSUPPORTED_SYNTAX,
                "{}",
                f"The {{ at character {at} opens a group {MAX_DEPTH + 1} levels deep; "
                f"braces nest at most {MAX_DEPTH} deep",
            )
        options: list[list[Part]] = [[]]
        self.stack.append((options, self.current, at))
        self.current = options[0]

    def close(self, at: int) -> None:
        if not self.stack:
            raise BatchError(
                Code.UNSUPPORTED_SYNTAX,
                "{}",
                f"The }} at character {at} closes nothing: there is no {{ before it "
                "(write \\} for a plain brace)",
            )
        self.flush()
        options, parent, opened = self.stack.pop()
        if len(options) == 1 and not "".join(str(p) for p in options[0]).strip():
            raise BatchError(
                Code.UNSUPPORTED_SYNTAX,
                "{}",
                f"The braces at character {opened} are empty: put the options inside, "
                "separated by commas",
            )
        parent.append(Group(tuple(tuple(o) for o in options), opened))
        self.current = parent

    def next_option(self) -> None:
        self.flush()
        options = self.stack[-1][0]
        options.append([])
        self.current = options[-1]

    def finish(self) -> tuple[Part, ...]:
        if self.stack:
            raise BatchError(
                Code.UNSUPPORTED_SYNTAX,
                "{}",
                f"The {{ at character {self.stack[-1][2]} is never closed: add a }} after "
                "its options (write \\{ for a plain brace)",
            )
        self.flush()
        return tuple(self.root)


def _take_repeat(parts: tuple[Part, ...], cap: int) -> tuple[tuple[Part, ...], int | None]:
    """The parts without their --repeat flag, and its value (None when absent).
    The flag is looked for in the plain text outside the braces."""
    found: int | None = None
    out: list[Part] = []
    for index, part in enumerate(parts):
        if isinstance(part, Group):
            out.append(part)
            continue
        kept: list[str] = []
        last = 0
        for match in _REPEAT.finditer(part):
            flag, value = f"--{match.group(1).lower()}", match.group(2)
            if found is not None:
                raise BatchError(
                    Code.DUPLICATE_PARAM, "--repeat", f"{flag} is given more than once; keep one"
                )
            at_end = not part[match.end() :].strip()
            if value is None and at_end and index + 1 < len(parts):
                raise BatchError(
                    Code.INVALID_VALUE,
                    "--repeat",
                    f"{flag} takes one whole number, not braces: "
                    "it repeats every combination the same number of times",
                )
            found = _repeat_value(flag, value, cap)
            kept.append(part[last : match.start()])
            last = match.end()
        kept.append(part[last:])
        out.append("".join(kept))
    return tuple(out), found


def _repeat_value(flag: str, value: str | None, cap: int) -> int:
    rule = f"a whole number from 1 to {cap}"
    if value is None:
        raise BatchError(Code.MISSING_VALUE, "--repeat", f"{flag} needs a value: {rule}")
    if not value.isascii() or not value.isdigit():
        raise BatchError(
            Code.INVALID_VALUE, "--repeat", f"{flag} must be {rule} (got '{value[:40]}')"
        )
    number = int(value[:12])
    if not 1 <= number <= cap or len(value) > 12:
        raise BatchError(
            Code.PARAM_OUT_OF_RANGE, "--repeat", f"{flag} must be {rule} (got {value[:40]})"
        )
    return number


def _no_repeat_inside(groups: list[Group]) -> None:
    pending = list(groups)
    while pending:
        group = pending.pop()
        for option in group.options:
            for part in option:
                if isinstance(part, Group):
                    pending.append(part)
                elif match := _BATCH_HINT.search(part):
                    raise BatchError(
                        Code.INVALID_VALUE,
                        "--repeat",
                        f"{match.group(0)} must stand outside the braces (in the group at "
                        f"character {group.at}): it repeats every combination",
                    )


# --- counting and expanding ------------------------------------------------------------


def _count_seq(parts: tuple[Part, ...]) -> int:
    total = 1
    for part in parts:
        if isinstance(part, Group):
            total = min(total * _count_group(part), COUNT_CEILING)
    return total


def _count_group(group: Group) -> int:
    return min(sum(_count_seq(option) for option in group.options), COUNT_CEILING)


def _expand_seq(parts: tuple[Part, ...]) -> list[str]:
    texts = [""]
    for part in parts:
        if isinstance(part, Group):
            choices = [s.strip() for option in part.options for s in _expand_seq(option)]
            texts = [t + c for t in texts for c in choices]
        else:
            texts = [t + part for t in texts]
    return texts


def _tidy(text: str) -> str:
    """Close up the spaces an empty option or a removed --repeat leaves."""
    return _SPACES.sub(" ", text).strip()


def _how_many(combinations: int, times: int) -> str:
    if times == 1:
        return ""
    shown = f"more than {COUNT_CEILING:,}" if combinations >= COUNT_CEILING else combinations
    return f" ({shown} combinations × --repeat {times})"

"""Usernames that look like another's are refused (UTS #39 confusables).

"alice" spelled with a Cyrillic a (U+0430), "b0b" with a zero or "rnallory" for "mallory"
would let a newcomer pass for a colleague in member lists, the gallery's
"by" filter and the spend page. A new name is compared with every existing
one by its skeleton: NFD, each character replaced by its prototype from
Unicode's confusables table, NFD again. Names are stored NFKC-normalised
(Django does it), so the table (gallery/teams/data/confusables.txt, made by
bin/confusables-table) keeps only the characters an NFKC name can hold.

Case: the table maps capital I to l but leaves i alone, so one skeleton of the
casefolded name and one of the name as typed are both kept, each casefolded;
two names look alike when they share either.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

TABLE = Path(__file__).parent / "data" / "confusables.txt"
MESSAGE = "This name looks like an existing member's name; choose another."


@cache
def _prototypes() -> dict[int, str]:
    table: dict[int, str] = {}
    for line in TABLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            source, *target = line.split()
            table[int(source, 16)] = "".join(chr(int(code, 16)) for code in target)
    return table


def skeleton(text: str) -> str:
    """UTS #39's skeleton(X): NFD, every character to its prototype, NFD again."""
    mapped = unicodedata.normalize("NFD", text).translate(_prototypes())
    return unicodedata.normalize("NFD", mapped)


def _keys(name: str) -> set[str]:
    name = unicodedata.normalize("NFKC", name)
    return {skeleton(name).casefold(), skeleton(name.casefold()).casefold()}


def looks_alike(a: str, b: str) -> bool:
    return not _keys(a).isdisjoint(_keys(b))


def check_distinct(username: str, *, exclude_pk: int | None = None) -> None:
    """ValidationError (code "lookalike") if `username` looks like an existing user's.

    Every username is compared: there are few, and a skeleton is microseconds.
    """
    keys = _keys(username)
    user_model = get_user_model()
    others = user_model._default_manager.exclude(pk=exclude_pk).values_list(
        user_model.USERNAME_FIELD, flat=True
    )
    if any(not keys.isdisjoint(_keys(other)) for other in others.iterator()):
        raise ValidationError(MESSAGE, code="lookalike")


class DistinctUsername:
    """For a user form (joining, the admin's add and change forms): the username
    is refused when it looks like another user's."""

    def clean_username(self) -> str | None:
        clean = getattr(super(), "clean_username", None)
        username = clean() if clean else self.cleaned_data.get("username")  # None: taken
        if username and (self.instance.pk is None or "username" in self.changed_data):
            check_distinct(username, exclude_pk=self.instance.pk)
        return username

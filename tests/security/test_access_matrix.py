"""Every URL the site and the API expose × every kind of visitor × GET and POST.

The routes are enumerated from the URL conf, so a new URL without a row here
fails. Each cell runs on a fresh client inside a transaction that is rolled
back, so no cell changes what the next one sees. Columns, in order: team admin
(alice, who owns the job), member (bob), viewer (dave), a member of another
team (carol), anonymous, and a revoked API token. Another team's objects
answer 404, never 403, so their existence is not confirmed.
"""

from __future__ import annotations

import pytest
from django.db import transaction
from django.urls import reverse

from tests.security.access_world import ROLES, build
from tests.teams.test_access import named_routes

pytestmark = pytest.mark.django_db

#   route: ("GET: admin member viewer stranger anonymous revoked", "POST: …")
EXPECTED = {
    "accept-invite": ("200 200 200 200 200 200", "302 302 302 302 200 200"),
    "adjust-credits": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "api-balance": ("401 401 401 401 401 401", "405 405 405 405 405 405"),
    "api-batches": ("405 405 405 405 405 405", "401 401 401 401 401 401"),
    "api-docs": ("200 200 200 200 302 302", "405 405 405 405 302 302"),
    "api-file": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "api-generations": ("405 405 405 405 405 405", "401 401 401 401 401 401"),
    "api-not-found": ("404 404 404 404 404 404", "404 404 404 404 404 404"),
    "api-openapi": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "api-task": ("401 401 401 401 401 401", "405 405 405 405 405 405"),
    # Team admins only; another team's log is not found.
    "audit": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    "audit-csv": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    # alice's finished job awaits nothing: "already decided", a 302 back to the page.
    "approve-job": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "approve-member": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "approvals": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    # No amount or note: a 400 in words for those who may create.
    "ask-for-more": ("405 405 405 405 302 302", "400 400 403 404 302 302"),
    "decline-job": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "decline-member": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "dismiss-request": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    # No amount or date: a 400 in words for the admin.
    "grant-request": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "set-approvals": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "read-notices": ("405 405 405 405 302 302", "302 302 302 404 302 302"),
    "add-project": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "archive-project": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "budgets": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    "remove-budget": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "set-budget": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "balance": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    # The selection bar's actions: no job selected is a 400 in words; viewers
    # may star (as one star) but not collect, and deleting is the single rule's.
    "bulk-collect": ("405 405 405 405 302 302", "404 404 403 404 302 302"),
    "bulk-delete": ("405 405 405 405 302 302", "400 400 400 404 302 302"),
    "bulk-restore": ("405 405 405 405 302 302", "400 400 400 404 302 302"),
    "bulk-star": ("405 405 405 405 302 302", "400 400 400 404 302 302"),
    "cancel-job": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "check-prompt": ("405 405 405 405 302 302", "200 200 403 404 302 302"),
    "collect-job": ("405 405 405 405 302 302", "404 404 403 404 302 302"),
    "collection": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "collections": ("200 200 200 404 302 302", "200 200 403 404 302 302"),
    "create-invite": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "create-job": ("405 405 405 405 302 302", "400 400 403 404 302 302"),
    "create-token": ("405 405 405 405 302 302", "400 400 400 404 302 302"),
    "delete-job": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "edit-image": ("405 405 405 405 302 302", "400 400 403 404 302 302"),
    # A batch is its member's and their admins' (alice's here); viewers run none.
    # Its control names no action: a 400 in words.
    "batch": ("200 404 404 404 302 302", "405 405 405 405 302 302"),
    "batch-control": ("405 405 405 405 302 302", "400 404 404 404 302 302"),
    "batch-new": ("200 200 403 404 302 302", "400 400 403 404 302 302"),
    # A ZIP export is only its asker's (alice's); no scope named is a 400 in words.
    "export": ("200 404 404 404 302 302", "405 405 405 405 302 302"),
    "export-download": ("200 404 404 404 302 302", "405 405 405 405 302 302"),
    "export-zip": ("405 405 405 405 302 302", "400 400 400 404 302 302"),
    "gallery": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "grant-credits": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "healthz": ("200 200 200 200 200 200", "200 200 200 200 200 200"),
    "home": ("302 302 302 302 302 302", "405 405 405 405 302 302"),
    "image": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "image-children": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "image-download": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    # No operation named: a 400 in words to those who may edit (issue 23).
    "image-price": ("400 400 200 404 302 302", "405 405 405 405 302 302"),
    "job-detail": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    # The test client is no ASGI server: the stream says "poll instead" (204).
    "live-poll": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "live-stream": ("204 204 204 404 302 302", "405 405 405 405 302 302"),
    "login": ("302 302 302 302 200 200", "302 302 302 302 200 200"),
    "logout": ("405 405 405 405 302 302", "302 302 302 302 302 302"),
    "media": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "members": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    # Admins see the team's waiting jobs, others only their own (issue 16).
    "team-queue": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    # No role named: a 400 in words for the admin; bob has credit history, so
    # removing him marks his row removed.
    "member-role": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "member-remove": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "my-credits": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "password_change": ("200 200 200 200 302 302", "200 200 200 200 302 302"),
    "password_change_done": ("200 200 200 200 302 302", "405 405 405 405 302 302"),
    # Only the member's own prompts: a viewer has none, a stranger's team is not found.
    "prompt-history": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "private-job": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    # Team admins only; with no provider configured here, any order is the order.
    "providers": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    "provider-order": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "provider-callback": ("405 405 405 405 405 405", "404 404 404 404 404 404"),
    "public-image": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    # Site staff only: the providers' accounts span every team.
    "reconcile": ("403 403 403 403 302 302", "405 405 405 405 302 302"),
    "restore-job": ("405 405 405 405 302 302", "404 404 404 404 302 302"),
    "revoke-invite": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "revoke-my-tokens": ("405 405 405 405 302 302", "302 302 302 404 302 302"),
    "revoke-share": ("405 405 405 405 302 302", "302 302 403 404 302 302"),
    "revoke-token": ("405 405 405 405 302 302", "302 302 404 404 302 302"),
    "set-limits": ("405 405 405 405 302 302", "400 403 403 404 302 302"),
    "share-image": ("405 405 405 405 302 302", "302 302 403 404 302 302"),
    "shared": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "shared-file": ("200 200 200 200 200 200", "405 405 405 405 405 405"),
    "spend": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    "spend-csv": ("200 403 403 404 302 302", "405 405 405 405 302 302"),
    "star-job": ("405 405 405 405 302 302", "302 302 302 404 302 302"),
    "team-limit": ("405 405 405 405 302 302", "302 403 403 404 302 302"),
    "tokens": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    "trash": ("200 200 200 404 302 302", "405 405 405 405 302 302"),
    # alice's deleted job: hers (and an admin's) to restore or purge, nobody else's.
    "trash-purge": ("405 405 405 405 302 302", "302 404 404 404 302 302"),
    "trash-restore": ("405 405 405 405 302 302", "302 404 404 404 302 302"),
    "trash-thumb": ("200 404 404 404 302 302", "405 405 405 405 302 302"),
    "upload-reference": ("405 405 405 405 302 302", "400 400 403 404 302 302"),
    # No upload named: a 400 in words to those who may create (issue 16).
    "upload-paint": ("400 400 403 404 302 302", "400 400 403 404 302 302"),
    "upload-paint-price": ("400 400 403 404 302 302", "405 405 405 405 302 302"),
}

# Which sample objects each route's URL names (the rest take the team slug).
ARGS = {
    "accept-invite": "invite_token",
    "provider-callback": "callback",
    "media": "media",
    "job-detail": "job",
    "cancel-job": "job",
    "star-job": "job",
    "delete-job": "job",
    "restore-job": "job",
    "private-job": "job",
    "collect-job": "job",
    "collection": "board",
    "export": "export",
    "batch": "batch",
    "batch-control": "batch",
    "export-download": "export",
    "share-image": "image",
    "revoke-share": "share_pk",
    "shared": "share",
    "shared-file": "share_file",
    "revoke-invite": "invite",
    "grant-credits": "member",
    "adjust-credits": "member",
    "set-limits": "member",
    "api-task": "task",
    "api-file": "file",
    "api-not-found": "rest",
    "revoke-token": "token",
    "image": "image",
    "edit-image": "image",
    "image-price": "image",
    "image-children": "image",
    "image-download": "image",
    "public-image": "public",
    "trash-restore": "trashed",
    "trash-purge": "trashed",
    "trash-thumb": "trashed",
    "member-role": "member",
    "member-remove": "member",
    "remove-budget": "budget",
    "approve-job": "job",
    "decline-job": "job",
    "approve-member": "member",
    "decline-member": "member",
    "grant-request": "asked",
    "dismiss-request": "asked",
    "archive-project": "project",
}
NO_ARGS = {
    "login",
    "logout",
    "password_change",
    "password_change_done",
    "home",
    "healthz",
    "api-generations",
    "api-batches",
    "api-balance",
    "api-openapi",
    "api-docs",
    "reconcile",
}


def test_every_route_has_a_row():
    assert sorted(set(named_routes()) - set(EXPECTED)) == []
    assert sorted(set(EXPECTED) - set(named_routes())) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_cell_answers_as_expected(name, alice, bob, carol, dave, team):
    world = build(alice, bob, carol, dave, team)
    kind = ARGS.get(name, "none" if name in NO_ARGS else "team")
    url = reverse(name, kwargs=world.kwargs[kind])
    actual = []
    for method in ("get", "post"):
        cells = []
        for role in ROLES:
            client = world.client(role)
            with transaction.atomic():
                cells.append(str(getattr(client, method)(url).status_code))
                transaction.set_rollback(True)
        actual.append(" ".join(cells))
    assert tuple(actual) == EXPECTED[name], f"{name} {url}"

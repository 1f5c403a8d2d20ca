"""The objects the access matrix visits, and a client per role."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client

from gallery.api.translate import file_name
from gallery.credits import ledger
from gallery.models import (
    ApiToken,
    Batch,
    Budget,
    BudgetRequest,
    Collection,
    Invite,
    Job,
    Membership,
    Project,
    ShareLink,
)
from gallery.studio import exports
from gallery.studio.public_urls import signed_url
from tests.factories import finished_job

ROLES = ("admin", "member", "viewer", "stranger", "anonymous", "revoked_token")


@dataclass
class World:
    kwargs: dict[str, dict]
    users: dict
    revoked_token: str

    def client(self, role: str) -> Client:
        """A fresh client per cell: a cell that signs out must not sign out the next."""
        if role == "anonymous":
            return Client()
        if role == "revoked_token":
            return Client(HTTP_AUTHORIZATION=f"Bearer {self.revoked_token}")
        client = Client()
        client.force_login(self.users[role])
        return client


def build(alice, bob, carol, dave, team) -> World:
    """alice (admin) owns a finished job and a deleted one, a ready ZIP
    export and a batch; bob is a member, dave a viewer, carol a stranger."""
    job = finished_job(alice, team, images=1)
    image = job.images.get()
    trashed = finished_job(alice, team, images=1)
    trashed.soft_delete()
    invite, invite_token = Invite.create(team=team, role="member", note="x", created_by=alice)
    board = Collection.objects.create(team=team, owner=alice, name="Board")
    share = ShareLink.objects.create(image=image, created_by=alice)
    bobs = Membership.objects.get(user=bob, team=team)
    ledger.grant(account=ledger.account_for(bobs), amount=100, by=alice)
    token, _ = ApiToken.issue(bobs, "script")
    revoked, revoked_plain = ApiToken.issue(bobs, "old")
    revoked.revoke(by=bob)
    public = signed_url(image.original.name).split("/p/", 1)[1]
    alices = Membership.objects.get(user=alice, team=team)
    export = exports.start(alices, "All jobs", exports.plan_for(Job.objects.visible_in(alices)))
    exports.build(export.pk)  # ready: alice's alone to download
    batch = Batch.objects.create(membership=alices, name="Spring", cap=100)
    project = Project.objects.create(team=team, name="Campaign")
    budget = Budget.objects.create(team=team, project=project, limit=1000)
    asked = BudgetRequest.objects.create(budget=budget, membership=bobs, amount=10)
    slug = {"slug": team.slug}
    kwargs = {
        "job": {**slug, "pk": job.pk},
        "trashed": {**slug, "pk": trashed.pk},
        "image": {**slug, "pk": image.pk},
        "invite": {**slug, "pk": invite.pk},
        "invite_token": {"token": invite_token},
        "board": {**slug, "pk": board.pk},
        "export": {**slug, "pk": export.pk},
        "batch": {**slug, "pk": batch.pk},
        "share_pk": {**slug, "pk": share.pk},
        "share": {"share": share.slug},
        "share_file": {"share": share.slug, "size": "full"},
        "member": {**slug, "pk": bobs.pk},
        "token": {**slug, "pk": token.pk},
        "media": {"name": image.thumbnail.name},
        "public": {"token": public.split("/", 1)[0], "name": public.split("/", 1)[1]},
        "callback": {"provider": "evolink", "job_id": job.pk, "token": "wrong"},
        "task": {"task_id": f"task-unified-mjw-{job.pk}"},
        "file": {"name": file_name(image, token.pk)},  # genuine: the name is the credential
        "rest": {"rest": "nowhere"},
        "budget": {**slug, "pk": budget.pk},
        "project": {**slug, "pk": project.pk},
        "asked": {**slug, "pk": asked.pk},
        "team": slug,
        "none": {},
    }
    users = {"admin": alice, "member": bob, "viewer": dave, "stranger": carol}
    return World(kwargs, users, revoked_plain)

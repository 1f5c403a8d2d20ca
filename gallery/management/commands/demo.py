"""Create (once) the demo teams and users that `make run` prints."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from gallery.credits import ledger
from gallery.models import Membership, Role, Team

# Known passwords are the point of a demo on loopback; `make serve` never runs this.
DEMO_USERS = {"alice": "alice-demo-pass", "bob": "bob-demo-pass", "carol": "carol-demo-pass"}
DEMO_CREDITS = 5000  # granted once per demo membership
DEMO_TEAMS = {
    "demo": ("Demo studio", {"alice": Role.ADMIN, "bob": Role.MEMBER}),
    "agency": ("Agency", {"carol": Role.ADMIN, "alice": Role.MEMBER}),
}


class Command(BaseCommand):
    help = "Create the demo teams and users if missing, and print how to sign in."

    @transaction.atomic
    def handle(self, *args, **opts) -> None:
        users = {}
        for username, password in DEMO_USERS.items():
            user, created = get_user_model().objects.get_or_create(username=username)
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
            users[username] = user
        for slug, (name, roles) in DEMO_TEAMS.items():
            team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": name})
            for username, role in roles.items():
                membership, _ = Membership.objects.get_or_create(
                    team=team, user=users[username], defaults={"role": role}
                )
                ledger.grant(
                    account=ledger.account_for(membership),
                    amount=DEMO_CREDITS,
                    by=users[username],
                    reason="Demo credits",
                    key=f"demo-grant:{membership.pk}",
                )
        self.stdout.write("Demo sign-ins (team 'demo': alice is admin, bob is a member;")
        self.stdout.write("alice is also in team 'agency', run by carol):")
        for username, password in DEMO_USERS.items():
            self.stdout.write(f"  {username:6} {password}")

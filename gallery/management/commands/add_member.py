"""python manage.py add_member TEAM USERNAME [--admin] [--password P] [--credits N] [--token]"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.text import slugify

from gallery.credits import ledger
from gallery.models import ApiToken, Membership, Role, Team
from gallery.teams import usernames


class Command(BaseCommand):
    help = "Create the team, the user and the membership as needed; optionally grant credits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="Team slug (created with this name if missing)")
        parser.add_argument("username")
        parser.add_argument("--admin", action="store_true", help="Make the user a team admin")
        parser.add_argument(
            "--viewer", action="store_true", help="Make the user a read-only viewer"
        )
        parser.add_argument("--password", help="Set this password (default: keep, or generate)")
        parser.add_argument("--credits", type=int, help="Grant this many credits")
        parser.add_argument("--token", action="store_true", help="Print a new personal API token")

    def handle(self, *args, **opts) -> None:
        if opts["admin"] and opts["viewer"]:
            raise CommandError("--admin and --viewer exclude each other")
        if opts["credits"] is not None and opts["credits"] <= 0:
            raise CommandError("--credits must be a positive number of credits")
        slug = slugify(opts["team"])
        if not slug:
            raise CommandError(f"{opts['team']!r} cannot be a team name")
        role = Role.ADMIN if opts["admin"] else Role.VIEWER if opts["viewer"] else None
        with transaction.atomic():
            team, made_team = Team.objects.get_or_create(slug=slug, defaults={"name": opts["team"]})
            user, made_user = self._user(opts["username"])
            password = opts["password"] or (secrets.token_urlsafe(12) if made_user else None)
            if password:
                user.set_password(password)
                user.save(update_fields=["password"])
            membership, made_member = Membership.objects.get_or_create(
                team=team, user=user, defaults={"role": role or Role.MEMBER}
            )
            if membership.removed_at is not None:  # removed earlier: the same row comes back
                membership.rejoin(role or membership.role)
            if role and membership.role != role:
                membership.role = role
                membership.save(update_fields=["role"])
            if opts["credits"] is not None:
                account = ledger.account_for(membership)
                ledger.grant(account=account, amount=opts["credits"], by=None, reason="add_member")
        self._report(team, user, membership, made_team, made_user, made_member, password, opts)

    def _user(self, username: str):
        """The user of this name, or a new one if the name is fit for sign-in and
        looks like no one else's; (user, made)."""
        user_model = get_user_model()
        name = user_model.normalize_username(username)  # NFKC, as sign-in reads it
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: name}).first()
        if user is not None:
            return user, False
        try:
            user_model._meta.get_field(user_model.USERNAME_FIELD).run_validators(name)
            usernames.check_distinct(name)
        except ValidationError as e:
            raise CommandError(f"{name!r}: {' '.join(e.messages)}") from None
        return user_model._default_manager.create(**{user_model.USERNAME_FIELD: name}), True

    def _report(self, team, user, membership, made_team, made_user, made_member, password, opts):
        out = self.stdout
        out.write(f"team {team.slug}: {'created' if made_team else 'exists'}")
        out.write(f"user {user.username}: {'created' if made_user else 'exists'}")
        out.write(f"membership: {membership.role} ({'created' if made_member else 'exists'})")
        if password and not opts["password"]:
            out.write(f"password: {password}")
        if opts["credits"] is not None:
            balance = ledger.account_for(membership).balance
            out.write(f"credits: granted {opts['credits']}, balance {balance}")
        if opts["token"]:
            # Shown once, like on the tokens page; only its digest is stored.
            _token, plain = ApiToken.issue(membership, "add_member")
            out.write(f"token: {plain}")

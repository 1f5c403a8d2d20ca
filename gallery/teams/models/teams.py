"""Teams, their members and invitations.

Every query for something a user may see starts from the user's memberships
(`Membership.objects.for_user(user)`), so no view can forget team scoping.
"""

from __future__ import annotations

import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from gallery.net.digests import secret_digest
from gallery.teams import audit
from gallery.teams.signals import membership_removed


def validate_time_zone(name: str) -> None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValidationError(f"{name!r} is not a known time zone, such as Europe/Berlin") from e


def configured_providers() -> list[str]:
    """Providers this installation has a key for, MJWEB_PROVIDER first."""
    names = [n for n, conf in settings.PROVIDERS.items() if conf.get("api_key")]
    return sorted(names, key=lambda n: n != settings.MJWEB_PROVIDER)


def token_hash(token: str) -> str:
    """An invite link's secret as stored (gallery.net.digests, the one way)."""
    return secret_digest(token)


class Team(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True)
    monthly_limit = models.BigIntegerField(
        null=True, blank=True, help_text="Most credits the whole team may spend in a month"
    )
    approval_above = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Jobs costing more than this many credits wait for an admin's approval",
    )
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Where the team's months and weeks begin and end (an IANA name)",
    )
    created = models.DateTimeField(default=timezone.now)
    # The providers new work goes to, first to last; empty means the default
    # (configured_providers()). A provider configured later joins at the end.
    provider_order = models.JSONField(default=list, blank=True)
    failover = models.BooleanField(
        default=True,
        help_text="Send a new generation that a provider could not take to the next one",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("gallery", args=[self.slug])

    def set_spending(self, *, monthly_limit: int | None, time_zone: str, by=None) -> None:
        """Change the team's monthly limit and time zone, with an audit line."""
        before = {"monthly_limit": self.monthly_limit, "time_zone": self.time_zone}
        after = {"monthly_limit": monthly_limit, "time_zone": time_zone}
        with transaction.atomic():
            self.monthly_limit, self.time_zone = monthly_limit, time_zone
            self.save(update_fields=["monthly_limit", "time_zone"])
            if before != after:
                audit.record(
                    self,
                    by,
                    audit.AuditAction.TEAM_LIMIT,
                    "the team's monthly limit",
                    {k: v for k, v in before.items() if after[k] != v},
                    {k: v for k, v in after.items() if before[k] != v},
                )

    def providers_in_order(self) -> list[str]:
        """The configured providers in this team's order."""
        configured = configured_providers()
        chosen = [p for p in self.provider_order if p in configured]
        return chosen + [p for p in configured if p not in chosen]

    def set_provider_order(self, order: list[str], *, failover: bool, by=None) -> None:
        known = configured_providers()
        if sorted(order) != sorted(known) or len(set(order)) != len(order):
            raise ValidationError(f"List each provider once: {', '.join(known)}")
        before = {"order": self.providers_in_order(), "failover": self.failover}
        after = {"order": list(order), "failover": failover}
        with transaction.atomic():
            self.provider_order, self.failover = list(order), failover
            Team.objects.filter(pk=self.pk).update(
                provider_order=self.provider_order, failover=failover
            )
            if before != after:
                audit.record(
                    self,
                    by,
                    audit.AuditAction.PROVIDER_ORDER,
                    "the team's provider order",
                    {k: v for k, v in before.items() if after[k] != v},
                    {k: v for k, v in after.items() if before[k] != v},
                )


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    VIEWER = "viewer", "Viewer"


class MembershipQuerySet(models.QuerySet["Membership"]):
    def for_user(self, user: settings.AUTH_USER_MODEL) -> MembershipQuerySet:
        """The memberships that let this user in: a removed one grants nothing."""
        if not user.is_authenticated:
            return self.none()
        return self.filter(user=user, user__is_active=True).current().select_related("team", "user")

    def current(self) -> MembershipQuerySet:
        return self.filter(removed_at__isnull=True)

    def former(self) -> MembershipQuerySet:
        return self.filter(removed_at__isnull=False)


class Membership(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created = models.DateTimeField(default=timezone.now)
    # A removed member keeps their jobs and ledger; the membership row stays
    # (the ledger refers to it) but grants nothing.
    removed_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team"),
            models.CheckConstraint(
                condition=Q(role__in=Role.values), name="membership_role_is_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_create(self) -> bool:
        """Viewers look; members and admins spend credits."""
        return self.role in (Role.ADMIN, Role.MEMBER)

    class CannotRemove(Exception):
        """Taking this member out would leave the team without an admin."""

    class CannotChangeRole(Exception):
        """An unknown role, or the team would be left without an admin."""

    def _is_last_admin(self) -> bool:
        """Whether no other current admin remains; run inside the transaction
        that holds the team row, so two admins demoting each other at once
        cannot both pass."""
        Team.objects.filter(pk=self.team_id).update(name=F("name"))  # a write: locks on any db
        others = Membership.objects.current().filter(team_id=self.team_id, role=Role.ADMIN)
        return self.is_admin and not others.exclude(pk=self.pk).exists()

    def change_role(self, role: str, *, by=None) -> None:
        """Make this member an admin, a member or a viewer; never the team's
        last admin anything else."""
        if role not in Role.values:
            raise Membership.CannotChangeRole("A role is admin, member or viewer.")
        with transaction.atomic():
            if role != Role.ADMIN and self._is_last_admin():
                raise Membership.CannotChangeRole(
                    f"{self.user} is the last admin of {self.team}; make someone else an "
                    "admin first."
                )
            Membership.objects.filter(pk=self.pk).update(role=role)
            if role != self.role:
                audit.record(
                    self.team_id,
                    by,
                    audit.AuditAction.ROLE,
                    f"{self.user.username}'s role",
                    {"role": self.role},
                    {"role": role},
                    subject=self.user,
                )
        self.role = role

    def remove(self, *, by=None) -> int:
        """Take this person out of the team; returns how many API tokens that revoked.

        Their tokens for this team are revoked in the same transaction, so no
        request acts for a non-member in between. A member whose credit account
        never moved a credit goes altogether, account and all. One with entries
        keeps the row, marked removed (the append-only ledger refers to it):
        it grants nothing (`for_user` leaves it out), their jobs and ledger
        stay, and their balance stays in their account, unspendable until an
        invite brings them back. The team's last admin cannot be removed.
        """
        if self.removed_at is not None:
            return 0
        with transaction.atomic():
            if self._is_last_admin():
                raise Membership.CannotRemove(
                    f"{self.user} is the last admin of {self.team}; make someone else an "
                    "admin first."
                )
            revoked = self.api_tokens.revoke_all(by=by)
            audit.record(
                self.team_id,
                by,
                audit.AuditAction.REMOVE,
                self.user.username,
                {"role": self.role},
                {"removed": True, "tokens_revoked": revoked},
                subject=self.user,
            )
            # CreditAccount through its relation: `credits` imports this module.
            accounts = self._meta.get_field("account").related_model.objects
            account = accounts.filter(membership=self).first()
            if account is not None and account.entries.exists():
                self.removed_at = timezone.now()
                Membership.objects.filter(pk=self.pk).update(removed_at=self.removed_at)
            else:
                if account is not None:
                    account.delete()
                self.delete()
            # In this transaction, last (the change feed's lock is taken last): the
            # member's open pages close exactly when the removal commits.
            membership_removed.send(Membership, membership=self)
        return revoked

    def rejoin(self, role: str) -> None:
        """A removed member comes back through a new invite: same row, so
        their account and its credits are theirs again."""
        Membership.objects.filter(pk=self.pk).update(removed_at=None, role=role)
        self.removed_at, self.role = None, role


class InviteQuerySet(models.QuerySet["Invite"]):
    def pending(self) -> InviteQuerySet:
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True).filter(
            expires_at__gt=timezone.now()
        )


class Invite(models.Model):
    """A one-time link that lets a new (or existing) person join a team.

    Only a hash of the token is stored: the link is shown once to the admin
    who made it, like a password.
    """

    LIFETIME = timedelta(days=7)

    team = models.ForeignKey(Team, models.CASCADE, related_name="invites")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    note = models.CharField(max_length=100, blank=True, help_text="Who it is for")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Invite to {self.team} as {self.role}"

    @classmethod
    def create(cls, *, team: Team, role: str, note: str, created_by) -> tuple[Invite, str]:
        """Make an invite; returns it with the plain token, which is not stored."""
        token = secrets.token_urlsafe(24)
        invite = cls.objects.create(
            team=team,
            role=role,
            note=note,
            created_by=created_by,
            token_hash=token_hash(token),
            expires_at=timezone.now() + cls.LIFETIME,
        )
        return invite, token

    @classmethod
    def find_pending(cls, token: str) -> Invite | None:
        return (
            cls.objects.pending()
            .select_related("team")
            .filter(token_hash=token_hash(token))
            .first()
        )

    def accept(self, user) -> Membership:
        """Join the team; each link admits one person, once."""
        existing = Membership.objects.filter(team=self.team, user=user).first()
        if existing and existing.removed_at is None:
            return existing
        with transaction.atomic():
            claimed = (
                Invite.objects.pending()
                .filter(pk=self.pk)
                .update(accepted_at=timezone.now(), accepted_by=user)
            )
            if not claimed:
                raise Invite.DoesNotExist("This invite link was already used, revoked or expired")
            if existing:  # removed earlier: the same row, with its account, comes back
                existing.rejoin(self.role)
                return existing
            return Membership.objects.create(team=self.team, user=user, role=self.role)

    def revoke(self) -> None:
        Invite.objects.filter(pk=self.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())

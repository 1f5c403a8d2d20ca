"""The change feed hears of changes made by domains below the studio (credits,
teams) and of sign-outs through signals, since those may not import the studio.
Connected by GalleryConfig.ready()."""

from __future__ import annotations

import hashlib

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.dispatch import receiver

from gallery.credits.models.credits import CreditAccount
from gallery.credits.signals import balance_changed
from gallery.studio.live.events import emit
from gallery.studio.models.live import LiveEvent
from gallery.teams.models.teams import Membership
from gallery.teams.signals import membership_removed


@receiver(balance_changed, dispatch_uid="live-balance")
def balance_moved(sender, *, account: CreditAccount, balance: int, **kwargs) -> None:
    if CreditAccount.membership.is_cached(account):
        team_id, user_id = account.membership.team_id, account.membership.user_id
    else:
        team_id, user_id = Membership.objects.values_list("team_id", "user_id").get(
            pk=account.membership_id
        )
    emit(team_id, LiveEvent.Kind.BALANCE, user_id=user_id, payload={"balance": balance})


@receiver(membership_removed, dispatch_uid="live-member-removed")
def member_removed(sender, *, membership: Membership, **kwargs) -> None:
    emit(membership.team_id, LiveEvent.Kind.MEMBER_REMOVED, user_id=membership.user_id)


@receiver(user_logged_out, dispatch_uid="live-session-ended")
def session_ended(sender, request, user, **kwargs) -> None:
    """Close that browser's streams in every team of the user's: the event names
    the session by a hash of its key (the key itself is a credential)."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if user is None or not key:
        return
    sid_hash = hashlib.sha256(key.encode()).hexdigest()
    # In team order, so two sign-outs lock the teams' sequence rows in one order.
    teams = sorted(
        Membership.objects.filter(user_id=user.pk).current().values_list("team_id", flat=True)
    )
    with transaction.atomic():
        for team_id in teams:
            emit(
                team_id,
                LiveEvent.Kind.SESSION_ENDED,
                user_id=user.pk,
                payload={"sid_hash": sid_hash},
            )

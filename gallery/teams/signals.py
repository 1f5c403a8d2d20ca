"""What the teams domain tells the rest of the site, without importing it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside Membership.remove's transaction, before the row is marked or deleted;
# kwarg `membership` (its team_id and user_id are still set).
membership_removed = Signal()

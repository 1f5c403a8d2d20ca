"""Teams, memberships and invites."""

"""Teams, memberships, roles, invites and sign-in."""

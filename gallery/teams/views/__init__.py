"""Sign-in, team members and invites; the access-checked lookups and error
pages every team view uses."""

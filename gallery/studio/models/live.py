"""The change feed every open page listens to (issue 18).

Each state change a page shows writes one LiveEvent in the transaction that makes
the change, numbered by a per-team sequence (`LiveSeq`). A page's stream remembers
the last number it showed and, after any cut, asks for everything after it, so no
change is missed. Whether a viewer may see an event is decided when it is sent,
from the rows as they are then, never from the event itself.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from gallery.teams.models.teams import Team


class LiveSeq(models.Model):
    """The last event number handed out in a team: one row per team, locked by the
    UPDATE that takes the next number until its transaction commits, so numbers are
    given in commit order and a reader never skips one that commits late."""

    # `team.live_seq`: a page's membership query fetches it along (select_related
    # "team__live_seq"), so drawing a page costs no query of its own for it.
    team = models.OneToOneField(Team, models.CASCADE, primary_key=True, related_name="live_seq")
    last = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"team {self.team_id} at #{self.last}"

    @classmethod
    def of_team(cls, team: Team) -> int:
        """`newest` for a team whose row may have come with it (select_related)."""
        try:
            return team.live_seq.last
        except cls.DoesNotExist:  # no event yet
            return 0

    @classmethod
    def newest(cls, team_id: int) -> int:
        """The team's newest event number (0 before its first): where a page
        drawn now starts listening, so no change after it is missed."""
        return cls.objects.filter(team_id=team_id).values_list("last", flat=True).first() or 0


class LiveEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created"
        STATUS = "status"
        PROGRESS = "progress"
        IMAGES = "images"
        QUEUE = "queue"
        DELETED = "deleted"
        RESTORED = "restored"
        HIDDEN = "hidden"
        SHOWN = "shown"
        STARRED = "starred"
        BALANCE = "balance"
        LOG = "log"
        MEMBER_REMOVED = "member-removed"
        SESSION_ENDED = "session-ended"

    team = models.ForeignKey(Team, models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # No constraint: an event outlives a purged job; the sender re-reads the job anyway.
    job = models.ForeignKey(
        "gallery.Job", models.DO_NOTHING, null=True, db_constraint=False, related_name="+"
    )
    # The one member the event is for (balance, star, session), or None for the team.
    user_id = models.BigIntegerField(null=True)
    payload = models.JSONField(default=dict)
    created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "seq"], name="one_event_per_seq")]
        indexes = [models.Index(fields=["created"], name="live_event_created")]

    def __str__(self) -> str:
        return f"{self.team_id}#{self.seq} {self.kind}"

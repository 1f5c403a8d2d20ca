"""Projects: what a team's work is for (a client, a campaign).

A job belongs to at most one project of its team; jobs from before projects
have none ("No project"). Budgets and the spend dashboard break down by it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from gallery.teams.models.teams import Team


class ProjectQuerySet(models.QuerySet["Project"]):
    def of_team(self, team_id: int) -> ProjectQuerySet:
        return self.filter(team_id=team_id)

    def open(self) -> ProjectQuerySet:
        """Projects new work may go to: an archived one keeps its jobs and history."""
        return self.filter(archived_at__isnull=True)


class Project(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="projects")
    name = models.CharField(max_length=80)
    created = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_project_name_per_team"),
            models.CheckConstraint(condition=~Q(name=""), name="project_has_a_name"),
        ]

    def __str__(self) -> str:
        return self.name

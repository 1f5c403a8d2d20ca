"""Projects: what a team's work is for (a client, a campaign).

A job belongs to at most one project of its team; jobs from before projects
have none ("No project"). Budgets and the spend dashboard break down by it.
"""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from gallery.teams import audit
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

    @classmethod
    def add(cls, team: Team, name: str, *, by=None) -> Project:
        with transaction.atomic():
            project = cls.objects.create(team=team, name=name)
            audit.record(
                team, by, audit.AuditAction.PROJECT_ADDED, f"project {name}", {}, {"name": name}
            )
        return project

    def archive(self, *, by=None) -> bool:
        """Take no new work; its jobs and spend stay. Whether this call did it."""
        now = timezone.now()
        with transaction.atomic():
            open_ = Project.objects.open().filter(pk=self.pk)
            if not open_.update(archived_at=now):
                return False
            audit.record(
                self.team_id,
                by,
                audit.AuditAction.PROJECT_ARCHIVED,
                f"project {self.name}",
                {"archived": False},
                {"archived": True},
            )
        self.archived_at = now
        return True

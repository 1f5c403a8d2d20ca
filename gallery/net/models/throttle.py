"""Attempt counters for throttling, kept in the database so that every web
process counts the same attempts and an increment is one conditional UPDATE."""

from __future__ import annotations

from django.db import models


class ThrottleCounter(models.Model):
    # One row per (key, window); `key` already holds the window's start.
    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"

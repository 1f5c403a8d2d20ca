"""The admin-edited price table behind every quote."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from gallery.catalog.pricing import PriceFigure, PriceKey


class PriceStatus(models.TextChoices):
    PUBLISHED = "published", "Published by the provider"
    ESTIMATE = "estimate", "Estimate"
    ADMIN = "admin", "Set by an admin"


class PriceQuerySet(models.QuerySet["Price"]):
    def as_mapping(self) -> dict[PriceKey, PriceFigure]:
        """The admin-edited table in the shape gallery.catalog.pricing.quote() takes,
        each row with its status: the seeded estimates stay estimates."""
        rows = self.values_list("provider", "operation", "variant", "usd", "status", "source")
        return {(row[0], row[1], row[2]): PriceFigure(*row) for row in rows}


class Price(models.Model):
    """USD per request for (provider, operation, variant), editable in the admin.

    Seeded from gallery.catalog.pricing's figures; an admin's edit marks the row as
    theirs, so nobody mistakes an estimate for a published price.
    """

    provider = models.CharField(max_length=20)
    operation = models.CharField(max_length=40)
    variant = models.CharField(max_length=20, help_text="speed, upscaler type, or 'flat'")
    usd = models.DecimalField("USD per request", max_digits=10, decimal_places=6)
    status = models.CharField(max_length=10, choices=PriceStatus.choices)
    source = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    objects = PriceQuerySet.as_manager()

    class Meta:
        ordering = ["provider", "operation", "variant"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "operation", "variant"], name="one_price_per_variant"
            ),
            models.CheckConstraint(condition=Q(usd__gte=0), name="price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.operation} {self.variant}: ${self.usd}"

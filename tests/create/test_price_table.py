from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client

from gallery.catalog.operations import Request
from gallery.catalog.pricing import price_figures, price_key, quote
from gallery.models import Price

pytestmark = [pytest.mark.django_db, pytest.mark.db_sensitive]


def test_the_migration_seeds_every_figure_with_its_status():
    figures = {f.key: f for f in price_figures()}
    rows = {(p.provider, p.operation, p.variant): p for p in Price.objects.all()}
    assert rows.keys() == figures.keys()
    for key, figure in figures.items():
        assert rows[key].usd == figure.usd
        assert rows[key].status == figure.status


def test_an_admin_edit_marks_the_price_as_set_by_an_admin():
    admin = User.objects.create_superuser("root", "root@example.org", "pw")
    client = Client()
    client.force_login(admin)
    price = Price.objects.get(provider="evolink", operation="mj-v7", variant="fast")
    response = client.post(
        f"/admin/gallery/price/{price.pk}/change/",
        {"provider": "evolink", "operation": "mj-v7", "variant": "fast", "usd": "0.1"},
    )
    assert response.status_code == 302
    price.refresh_from_db()
    assert (price.usd, price.status, price.source) == (Decimal("0.1"), "admin", "set by root")


def test_a_seeded_estimate_is_quoted_as_an_estimate_after_migrate():
    request = Request(operation="mj-v7-enhance", provider="evolink")
    row = Price.objects.get(
        provider="evolink", operation="mj-v7-enhance", variant=price_key(request)[2]
    )
    assert row.status == "estimate"
    assert quote(request, Price.objects.as_mapping()).estimate is True
    published = Request(operation="mj-v7", provider="reapi", speed="fast")
    assert quote(published, Price.objects.as_mapping()).estimate is False

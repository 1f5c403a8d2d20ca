"""The Django admin covers every model, and keeps the ledger append-only."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client

from gallery.credits import ledger
from gallery.models import LedgerEntry, Membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def root_client(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def test_every_gallery_model_is_registered():
    missing = [
        m.__name__
        for m in apps.get_app_config("gallery").get_models()
        if not admin.site.is_registered(m)
    ]
    assert missing == []


@pytest.mark.parametrize(
    "model", [m._meta.model_name for m in apps.get_app_config("gallery").get_models()]
)
def test_each_changelist_renders(root_client, alice, model):
    response = root_client.get(f"/admin/gallery/{model}/")
    assert response.status_code == 200
    assert "<title>" in response.content.decode()


def test_ledger_entries_cannot_be_changed_or_deleted_in_the_admin(root_client, alice, team):
    account = ledger.account_for(Membership.objects.get(user=alice, team=team))
    entry = ledger.grant(account=account, amount=10, by=alice)
    assert (
        root_client.post(
            f"/admin/gallery/ledgerentry/{entry.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    root_client.post(f"/admin/gallery/ledgerentry/{entry.pk}/change/", {"amount": 999})
    entry.refresh_from_db()
    assert entry.amount == 10
    assert LedgerEntry.objects.count() == 1

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from gallery.models import CreditAccount, Membership, Team

pytestmark = pytest.mark.db_sensitive


@pytest.mark.django_db
def test_it_creates_the_demo_once_and_prints_the_passwords_each_time():
    for _ in range(2):
        out = StringIO()
        call_command("demo", stdout=out)
        assert "alice  alice-demo-pass" in out.getvalue()
    assert Team.objects.count() == 2
    assert User.objects.count() == 3
    alice = User.objects.get(username="alice")
    assert alice.check_password("alice-demo-pass")
    roles = dict(Membership.objects.filter(user=alice).values_list("team__slug", "role"))
    assert roles == {"demo": "admin", "agency": "member"}
    assert Membership.objects.get(user__username="bob").role == "member"
    balances = CreditAccount.objects.values_list("balance", flat=True)
    assert list(balances) == [5000] * 4  # granted once, not on every run

"""Many workers at once ask to send a create to a provider marked down: one
probe per back-off goes through, however many ask."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import close_old_connections, connections
from django.utils import timezone

from gallery.studio import health
from gallery.studio.models.health import Outcome

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]


def test_sixteen_workers_asking_at_once_send_one_probe():
    now = timezone.now()
    for _ in range(health.DOWN_STREAK):
        health.record("evolink", "create", Outcome.SERVER_ERROR, latency=0.1, now=now)
    due = now + health.FIRST_BACKOFF + timedelta(seconds=1)

    def ask(_):
        close_old_connections()
        try:
            return health.allows_create("evolink", now=due)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(ask, range(16)))
    assert answers.count(True) == 1

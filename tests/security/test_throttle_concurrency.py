"""Many wrong passwords for one account at the same instant: no more than the
limit may reach the password check. Real threads, a barrier so they start
together, and a counting authentication backend to see how many got through;
run again on PostgreSQL, where concurrent transactions really overlap."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.test import Client

from gallery.api.views import api
from gallery.models import ThrottleCounter
from gallery.net import throttle
from gallery.teams import forms_auth
from tests.ledger.test_ledger_concurrency import in_thread
from tests.security import counting_backend

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_sensitive]

ATTEMPTS = 40


@pytest.fixture
def counting(settings):
    settings.AUTHENTICATION_BACKENDS = ["tests.security.counting_backend.CountingBackend"]
    counting_backend.reset()
    yield counting_backend
    counting_backend.reset()


def test_concurrent_wrong_passwords_for_one_account_check_at_most_the_limit(
    alice, counting, settings
):
    # Every thread may check at once: the race under test is the throttle's alone.
    settings.MJWEB_PASSWORD_CHECKS_PER_PROCESS = ATTEMPTS
    barrier = threading.Barrier(ATTEMPTS)

    @in_thread
    def attempt(n: int) -> int:
        client = Client(REMOTE_ADDR=f"10.7.{n // 200}.{n % 200}")  # a botnet: one address each
        barrier.wait()
        response = client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
        return response.status_code

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = list(pool.map(attempt, range(ATTEMPTS)))

    assert statuses == [200] * ATTEMPTS
    assert counting.checked == forms_auth.PER_ACCOUNT


def test_concurrent_hits_on_one_key_allow_exactly_the_limit():
    limit, barrier = 10, threading.Barrier(ATTEMPTS)

    @in_thread
    def hit(_n: int) -> bool:
        barrier.wait()
        return throttle.hit("race", limit=limit, window=900).allowed

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        allowed = list(pool.map(hit, range(ATTEMPTS)))

    assert allowed.count(True) == limit
    assert ThrottleCounter.objects.get().count == ATTEMPTS


def test_concurrent_token_guesses_from_a_failing_address_are_held_to_the_limit(db):
    def guess(n: int):
        client = Client(REMOTE_ADDR="10.20.0.1")
        return client.get("/api/v1/balance", headers={"Authorization": f"Bearer mjw_{n}"})

    assert guess(-1).status_code == 401  # the address's first failure
    barrier = threading.Barrier(ATTEMPTS)

    @in_thread
    def attempt(n: int) -> int:
        barrier.wait()
        return guess(n).status_code

    with ThreadPoolExecutor(max_workers=ATTEMPTS) as pool:
        statuses = list(pool.map(attempt, range(ATTEMPTS)))

    # 401: the token was looked up (and was no one's); 429: refused before.
    assert statuses.count(401) == api.AUTH_FAILURES_PER_ADDRESS - 1
    assert statuses.count(429) == ATTEMPTS - statuses.count(401)

"""Redis for real: with REDIS_URL set, the django-q2 broker and Django's cache
are a real redis-server (bin/with-redis starts a throwaway one; `make test`
runs these once under it). The cluster and the poller are real processes
(tests/pipeline/stack.py) on the test database, pointed at the simulator.

The server keeps nothing on disk, so a restart loses the tasks it held, as a
crash would: the job rows in the database are the truth, and the poller's
sweep queues again what the broker lost."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from io import StringIO
from types import SimpleNamespace

import pytest
import redis
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django_q.brokers import get_broker
from django_q.conf import Conf
from redis.backoff import NoBackoff
from redis.retry import Retry

from gallery.api.views import api as api_views
from gallery.models import ApiToken, Job, Membership
from tests.pipeline.test_cluster import create, funded_member, processes, wait_until_final

__all__ = ["funded_member", "processes"]  # fixtures

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs bin/with-redis"),
]


def server() -> redis.Redis:
    """A connection of our own, not the app's: what any other process would see."""
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def stop_redis() -> None:
    subprocess.run(["redis-cli", "-u", os.environ["REDIS_URL"], "shutdown", "nosave"], check=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            server().ping()
        except redis.ConnectionError:
            return
        time.sleep(0.05)
    raise AssertionError("redis-server did not stop")


def start_redis() -> None:
    subprocess.run(["redis-server", os.environ["MJWEB_REDIS_CONF"]], check=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if server().ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("redis-server did not start")


def test_the_settings_put_the_broker_and_the_cache_on_redis():
    assert type(get_broker()).__name__ == "Redis"
    cache.set("mjweb-probe", 41)
    assert server().get(cache.make_and_validate_key("mjweb-probe")) == b"41"


@pytest.mark.django_db(transaction=True)
def test_a_job_goes_through_the_real_cluster_on_the_redis_broker(processes, funded_member):
    broker = get_broker()
    broker.purge_queue()
    job = create(funded_member, "a lighthouse at dusk")
    assert broker.queue_size() == 1  # the submit task waits in Redis, not in the database
    processes.start()
    (job,) = wait_until_final([job], timeout=60)
    assert job.status == "completed", job.error_message
    assert job.images.filter(status="stored").count() == 4
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db
def test_the_api_rate_limit_counts_two_clients_together_in_redis(settings, alice, monkeypatch):
    settings.MJWEB_API_RATE_LIMIT, settings.MJWEB_API_RATE_WINDOW = 3, 60
    monkeypatch.setattr(api_views, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))
    plain = ApiToken.issue(Membership.objects.get(user=alice), "cli")[1]
    headers = {"Authorization": f"Bearer {plain}"}
    first, second = Client(), Client()
    codes = [c.get("/api/v1/balance", headers=headers).status_code for c in (first, second) * 2]
    assert codes == [200, 200, 200, 429]
    token = ApiToken.objects.get()
    key = cache.make_and_validate_key(f"api-rate:{token.pk}:{1_800_000_030 // 60}")
    assert int(server().get(key)) == 4  # the count is in Redis, for every web process


@pytest.mark.django_db(transaction=True)
def test_a_redis_restart_mid_run_loses_no_job(processes, funded_member, settings, alice):
    settings.MJWEB_QUEUE_RECHECK = 2  # how soon the sweep queues again what was lost
    broker = get_broker()
    broker.purge_queue()
    lost = create(funded_member, "a task the restart loses")
    assert broker.queue_size() == 1
    stop_redis()
    start_redis()
    assert broker.queue_size() == 0  # gone with the server, as in a crash
    processes.start()
    # Redis goes away again with the cluster running, and a member submits
    # while it is down: the request waits for it to come back.
    stop_redis()
    restart = threading.Timer(1.0, start_redis)
    restart.start()
    client = Client()
    client.force_login(alice)
    response = client.post("/t/acme/jobs/", {"prompt": "a job around the restart", "speed": "fast"})
    restart.join()
    assert response.status_code == 302, response.content[:500]
    around = Job.objects.get(prompt_raw="a job around the restart")
    final = wait_until_final([lost, around], timeout=90)
    assert [j.status for j in final] == ["completed", "completed"], [j.error_message for j in final]
    call_command("check_ledger", stdout=StringIO(), stderr=StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_job_made_while_redis_stays_down_is_accepted_and_runs_once_it_is_back(
    processes, funded_member, alice, monkeypatch, settings
):
    settings.MJWEB_QUEUE_RECHECK = 2  # how soon the sweep sends the job's task again
    monkeypatch.setitem(Conf.REDIS, "retry", Retry(NoBackoff(), 0))  # give up at once
    stop_redis()
    try:
        client = Client()
        client.force_login(alice)
        response = client.post("/t/acme/jobs/", {"prompt": "a job in an outage", "speed": "fast"})
    finally:
        start_redis()
    # The job commits before its task is sent; a broker that cannot be told
    # does not fail the request, and the poller's sweep sends the task again.
    assert response.status_code == 302
    job = Job.objects.get(prompt_raw="a job in an outage")
    processes.start()
    (job,) = wait_until_final([job], timeout=90)
    assert job.status == "completed", job.error_message


def test_redis_failing_inside_a_page_is_a_503_that_says_so_not_a_500():
    from django.test import RequestFactory
    from redis.exceptions import ConnectionError as RedisConnectionError

    from mjweb.middleware import RedisOutage

    request = RequestFactory().get("/t/acme/")
    answer = RedisOutage(lambda r: None).process_exception(
        request, RedisConnectionError("Error 111 connecting to 127.0.0.1:6379.")
    )
    assert answer.status_code == 503 and answer["Retry-After"] == "10"
    assert "The task queue (Redis) is not answering" in answer.content.decode()

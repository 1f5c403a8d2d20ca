"""The process hub (gallery/studio/live/hub.py) driven by hand: its passes run in
the test's thread (`tick`), a held stream runs on an asyncio loop with a fake
client, and what the client was sent is read back. No server, no clock."""

from __future__ import annotations

import asyncio

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from gallery.studio.live import events, hub
from gallery.studio.live.render import Page, View
from gallery.studio.models.jobs import Job
from gallery.studio.models.live import LiveEvent
from tests.factories import finished_job, in_flight_job, membership
from tests.loops import run_elsewhere

pytestmark = pytest.mark.django_db
Kind = LiveEvent.Kind


def emit(team, kind, **fields) -> LiveEvent:
    with transaction.atomic():
        return events.emit(team.pk, kind, **fields)


def session_for(user) -> str:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store.create()
    return store.session_key


class FakeClient:
    """The ASGI side of one held stream: what it was sent, and a way to leave."""

    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.gone = asyncio.Event()

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    async def receive(self) -> dict:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    @property
    def body(self) -> str:
        return b"".join(m["body"] for m in self.sent).decode()

    @property
    def finished(self) -> bool:
        return any(not m["more_body"] for m in self.sent)


class Loop:
    """An event loop run a step at a time: the ORM work (emit, the hub's pass)
    happens between steps in the test's own thread and database connection, as
    the hub's thread does beside the server's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def hold(self, token: str) -> tuple[FakeClient, asyncio.Task]:
        client = FakeClient()
        task = self.loop.create_task(hub.hold(token, client.send, client.receive))
        self.settle()
        return client, task

    def settle(self) -> None:
        """Run what is ready (call_soon_threadsafe callbacks, the streams' pumps)."""

        async def steps() -> None:
            for _ in range(20):
                await asyncio.sleep(0)

        run_elsewhere(self.loop.run_until_complete, steps())

    def leave(self, client: FakeClient, task: asyncio.Task) -> None:
        client.gone.set()
        run_elsewhere(self.loop.run_until_complete, task)


@pytest.fixture
def loop():
    made = Loop()
    yield made
    pending = asyncio.all_tasks(made.loop)
    for task in pending:
        task.cancel()
    if pending:

        async def wind_down() -> None:
            await asyncio.gather(*pending, return_exceptions=True)

        run_elsewhere(made.loop.run_until_complete, wind_down())
    made.loop.close()


def open_stream(test_hub, user, team, after=0) -> str:
    view = View(membership(user, team), Page("gallery"), {}, csrf_token="tok")
    return test_hub.subscribe(view, after=after, session_key=session_for(user))


BYE = "event: bye\ndata: \n\n"


def test_what_came_before_the_stream_was_held_goes_first_then_live_events(
    alice, bob, team, test_hub, loop
):
    token = open_stream(test_hub, bob, team)
    early = in_flight_job(alice, team, prompt="before hold")
    emit(team, Kind.CREATED, job_id=early.pk)
    test_hub.tick()  # rendered before the dispatcher reached hold: kept for it
    client, held = loop.hold(token)
    assert "event: live\nid: 1\n" in client.body and "before hold" in client.body
    later = in_flight_job(alice, team, prompt="after hold")
    emit(team, Kind.CREATED, job_id=later.pk)
    test_hub.tick()
    loop.settle()
    assert client.body.index("before hold") < client.body.index("after hold")
    assert "event: live\nid: 2\n" in client.body
    loop.leave(client, held)
    assert not client.finished  # the client left: nothing more is sent
    assert token not in test_hub.subs


def test_a_quiet_stream_gets_a_heartbeat(bob, team, test_hub, loop, monkeypatch):
    monkeypatch.setattr(hub, "HEARTBEAT_S", 0)
    client, held = loop.hold(open_stream(test_hub, bob, team))
    assert client.body.startswith(": hb\n\n")
    loop.leave(client, held)


def test_stop_ends_every_held_stream_with_bye(bob, dave, team, test_hub, loop):
    streams = [loop.hold(open_stream(test_hub, user, team)) for user in (bob, dave)]
    hub.stop()
    loop.settle()
    for client, held in streams:
        assert held.done() and client.body.endswith(BYE) and client.finished
    # a stream opened while stopping is told at once
    client, held = loop.hold(open_stream(test_hub, bob, team))
    assert held.done() and client.body == BYE and client.finished


def test_a_private_job_and_another_teams_events_are_never_pushed(
    alice, bob, carol, team, other_team, test_hub, loop
):
    bobs = loop.hold(open_stream(test_hub, bob, team))
    alices = loop.hold(open_stream(test_hub, alice, team))
    carols = loop.hold(open_stream(test_hub, carol, other_team))
    secret = in_flight_job(alice, team, private=True, prompt="the secret of alice")
    emit(team, Kind.CREATED, job_id=secret.pk)
    emit(team, Kind.PROGRESS, job_id=secret.pk)
    emit(team, Kind.BALANCE, user_id=alice.pk)
    marker = in_flight_job(alice, team, prompt="the public marker")
    emit(team, Kind.CREATED, job_id=marker.pk)
    test_hub.tick()
    loop.settle()
    bob_got, alice_got, carol_got = (client.body for client, _ in (bobs, alices, carols))
    assert "the public marker" in bob_got  # so bob's stream did get this pass
    assert "the secret of alice" not in bob_got and f"job-{secret.pk}" not in bob_got
    assert 'id="balance"' not in bob_got
    assert "the secret of alice" in alice_got and 'id="balance"' in alice_got
    assert carol_got == ""  # acme's events are not her team's
    for stream in (bobs, alices, carols):
        loop.leave(*stream)


def test_a_removed_member_or_an_ended_session_gets_bye_at_once(
    alice, bob, dave, team, test_hub, loop
):
    bobs = loop.hold(open_stream(test_hub, bob, team))
    daves_token = open_stream(test_hub, dave, team)
    daves_session = test_hub.subs[daves_token].session_key
    daves = loop.hold(daves_token)
    alices = loop.hold(open_stream(test_hub, alice, team))
    emit(team, Kind.MEMBER_REMOVED, user_id=bob.pk)
    emit(team, Kind.SESSION_ENDED, user_id=dave.pk, payload={"sid_hash": hub.sid_hash("other")})
    test_hub.tick()
    loop.settle()
    assert bobs[1].done() and bobs[0].body.endswith(BYE)
    assert not daves[1].done()  # another of dave's sessions ended, not this one
    ended = {"sid_hash": hub.sid_hash(daves_session)}
    emit(team, Kind.SESSION_ENDED, user_id=dave.pk, payload=ended)
    test_hub.tick()
    loop.settle()
    assert daves[1].done() and daves[0].body.endswith(BYE)
    assert not alices[1].done()
    loop.leave(*alices)


def test_the_periodic_check_ends_streams_whose_membership_or_session_went(
    alice, bob, dave, team, test_hub, loop
):
    bobs = loop.hold(open_stream(test_hub, bob, team))
    daves_token = open_stream(test_hub, dave, team)
    daves = loop.hold(daves_token)
    alices = loop.hold(open_stream(test_hub, alice, team))
    membership(bob, team).remove(by=alice)
    SessionStore(test_hub.subs[daves_token].session_key).delete()
    test_hub.recheck()
    loop.settle()
    assert bobs[1].done() and daves[1].done()
    assert bobs[0].body == daves[0].body == BYE
    assert not alices[1].done()
    loop.leave(*alices)


def test_a_subscription_never_held_is_dropped_by_the_check(bob, team, loop):
    now = [0.0]
    test_hub = hub.Hub(clock=lambda: now[0], threaded=False)
    view = View(membership(bob, team), Page("gallery"), {})
    token = test_hub.subscribe(view, after=0, session_key=session_for(bob))
    test_hub.recheck()
    assert not test_hub.subs[token].ended
    now[0] = hub.UNHELD_S
    test_hub.recheck()
    assert token not in test_hub.subs
    with CaptureQueriesContext(connection) as queries:
        test_hub.tick()
    assert len(queries) == 0  # and no stream left to read for


def test_a_pass_reads_once_for_every_stream_and_not_at_all_without_one(
    alice, bob, carol, dave, team, other_team, test_hub
):
    with CaptureQueriesContext(connection) as queries:
        test_hub.tick()
    assert len(queries) == 0
    for user, their_team in ((alice, team), (bob, team), (dave, team), (carol, other_team)):
        open_stream(test_hub, user, their_team)
    with CaptureQueriesContext(connection) as queries:
        test_hub.tick()
    assert len(queries) == 1 and "gallery_liveevent" in queries[0]["sql"].lower()


def test_a_stream_too_slow_to_keep_up_is_cut_without_bye(
    alice, bob, team, test_hub, loop, monkeypatch
):
    monkeypatch.setattr(hub, "QUEUE_LIMIT", 1)
    token = open_stream(test_hub, bob, team)
    queue: asyncio.Queue = asyncio.Queue()
    sub = test_hub.attach(token, loop.loop, queue)
    for _ in range(2):  # two messages waiting: the second finds the queue full
        job = in_flight_job(alice, team)
        emit(team, Kind.CREATED, job_id=job.pk)
        test_hub.tick()
    loop.settle()
    assert queue.qsize() == 2 and sub.cursor == 2
    client = FakeClient()
    pump = hub._pump(queue, client.send, loop.loop.create_future(), 1e12, loop.loop)
    assert run_elsewhere(loop.loop.run_until_complete, pump) is True
    assert "event: live\nid: 1" in client.body and "bye" not in client.body


def test_a_stream_ends_with_bye_when_its_time_is_up(bob, team, test_hub, loop, settings):
    settings.MJWEB_LIVE_MAX_STREAM_S = 0
    client, held = loop.hold(open_stream(test_hub, bob, team))
    assert held.done() and client.body == BYE and client.finished


@pytest.mark.db_sensitive
@pytest.mark.django_db(transaction=True)
def test_the_hubs_own_thread_pushes_a_committed_change_and_stops(
    alice, bob, team, loop, monkeypatch
):
    """The real thread, its own connection, and (on PostgreSQL) LISTEN/NOTIFY."""
    threaded = hub.Hub()
    monkeypatch.setattr(hub, "_hub", threaded)
    client, held = loop.hold(open_stream(threaded, bob, team))
    assert threaded.ready.wait(timeout=30)
    job = in_flight_job(alice, team, prompt="from the hub thread")
    emit(team, Kind.CREATED, job_id=job.pk)
    for _ in range(400):  # an upper bound on waiting, not a measure of speed
        if "from the hub thread" in client.body:
            break
        run_elsewhere(loop.loop.run_until_complete, asyncio.sleep(0.05))
    assert "from the hub thread" in client.body
    if connection.vendor == "postgresql":
        assert threaded.listener.woken >= 1  # woken by the commit's NOTIFY
    hub.stop()
    loop.settle()
    assert held.done() and client.body.endswith(BYE)
    threaded.thread.join(timeout=30)
    assert not threaded.thread.is_alive()


def teammates(team, count: int) -> list:
    from tests.conftest import add, make_user

    made = [make_user(f"mate{n}") for n in range(count)]
    for user in made:
        add(team, user, "member")
    return made


def deliveries(test_hub, loop, users, team) -> dict:
    """Hold a stream per user (each with its own CSRF token); their bodies after a pass."""
    held = {}
    for user in users:
        view = View(membership(user, team), Page("gallery"), {}, csrf_token=f"token-of-{user}")
        token = test_hub.subscribe(view, after=0, session_key=session_for(user))
        held[user.username] = loop.hold(token)
    return held


def test_teammates_who_see_the_same_share_one_drawing_each_with_their_own_token(
    alice, bob, dave, team, test_hub, loop
):
    few = deliveries(test_hub, loop, [bob, dave], team)
    job = finished_job(alice, team, images=2)
    emit(team, Kind.CREATED, job_id=job.pk)
    with CaptureQueriesContext(connection) as drawn_for_two:
        test_hub.tick()
    loop.settle()
    for name, (client, _) in few.items():
        assert f'value="token-of-{name}"' in client.body and hub.SENTINEL not in client.body
        other = "dave" if name == "bob" else "bob"
        assert f"token-of-{other}" not in client.body
    assert few["bob"][0].body.replace("bob", "x") == few["dave"][0].body.replace("dave", "x")

    for client, task in few.values():
        loop.leave(client, task)
    more = deliveries(test_hub, loop, [bob, dave, *teammates(team, 6)], team)
    with CaptureQueriesContext(connection) as drawn_for_eight:
        test_hub.tick()
    loop.settle()
    assert all(f"job-{job.pk}" in client.body for client, _ in more.values())
    assert len(drawn_for_eight) == len(drawn_for_two)  # drawn once, not per stream


def test_a_starrer_and_an_author_get_drawings_of_their_own(alice, bob, dave, team, test_hub, loop):
    from gallery.studio.models.organise import Star

    job = finished_job(alice, team, images=1)
    Star.objects.create(user=bob, job=job)
    streams = deliveries(test_hub, loop, [alice, bob, dave], team)
    emit(team, Kind.STATUS, job_id=job.pk)
    test_hub.tick()
    loop.settle()
    body = {name: client.body for name, (client, _) in streams.items()}
    assert 'aria-pressed="true"' in body["bob"]
    assert 'aria-pressed="false"' in body["dave"] and 'aria-pressed="false"' in body["alice"]
    Job.objects.filter(pk=job.pk).update(private=True)
    emit(team, Kind.HIDDEN, job_id=job.pk)
    test_hub.tick()
    loop.settle()
    assert f'<div id="job-{job.pk}" hx-swap-oob="delete"></div>' in streams["dave"][0].body
    assert "Private" in streams["alice"][0].body.split("id: 2")[-1]

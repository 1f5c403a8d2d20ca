"""The process's live hub: reads the change feed once for every stream the process
holds, renders each stream's fragments and hands the bytes to the stream's
coroutine on the event loop.

One hub per web process, started by its first subscription: a daemon thread with
its own database connection (Django's connections are per thread), so the event
loop never waits on the database. Between reads it sleeps:

- SQLite: a tick of MJWEB_LIVE_TICK_MS (50 ms) while any stream is open, one
  query per tick whatever the number of streams; with no stream, no query.
- PostgreSQL: on a dedicated psycopg connection LISTENing on `mjweb_live` (emit's
  NOTIFY arrives at commit), with a re-read every 5 s in case one was missed.
- Redis pub/sub is not used: a configured REDIS_URL changes nothing here.

Every 30 s the hub checks its streams' memberships and sessions; a removed
member or a signed-out session gets `bye` (at once when the event says so).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone

from gallery.studio.live.events import CHANNEL
from gallery.studio.live.render import Message, View, render
from gallery.studio.models.jobs import Job
from gallery.studio.models.live import LiveEvent
from gallery.studio.models.organise import Star
from gallery.teams.models.teams import Membership

log = logging.getLogger(__name__)

HEARTBEAT_S = 15.0  # under nginx's 60 s proxy_read_timeout
RECHECK_S = 30.0
UNHELD_S = 30.0  # a subscription whose response never reached `hold` is dropped
NOTIFY_WAIT_S = 5.0
QUEUE_LIMIT = 256  # messages waiting for a slow client; past that its stream ends
READ_LIMIT = 500  # events per read; the rest come on the next tick
BYE = b"event: bye\ndata: \n\n"
HEARTBEAT = b": hb\n\n"
# Drawn in place of a CSRF token in a drawing many streams share, then replaced
# by each stream's own token.
SENTINEL = "live-csrf-" + secrets.token_hex(16)
_CLOSE = object()  # end the stream without bye: the browser reconnects and replays
Kind = LiveEvent.Kind

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]


def sse(message: Message) -> bytes:
    """One message on the wire: its data split into `data:` lines."""
    lines = [f"event: {message.event}", f"id: {message.seq}"]
    lines += [f"data: {line}" for line in (message.data.splitlines() or [""])]
    return ("\n".join(lines) + "\n\n").encode()


def sid_hash(session_key: str) -> str:
    """How a `session-ended` event names a session (the key is a credential)."""
    return hashlib.sha256(session_key.encode()).hexdigest()


@dataclass(eq=False)
class Subscription:
    token: str
    view: View
    cursor: int  # the newest seq this stream has been sent
    session_key: str
    opened: float
    loop: asyncio.AbstractEventLoop | None = None
    queue: asyncio.Queue | None = None
    pending: list[Any] = field(default_factory=list)  # before `hold` took it up
    ended: bool = False

    @property
    def team_id(self) -> int:
        return self.view.membership.team_id

    @property
    def user_id(self) -> int:
        return self.view.membership.user_id


class Hub:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic, threaded: bool = True):
        self.clock = clock
        self.threaded = threaded
        self.subs: dict[str, Subscription] = {}
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.ready = threading.Event()  # the thread listens: no commit from now is missed
        self.listener: _Listener | None = None
        self.last_check = clock()

    # --- called from request threads and the event loop ---------------------------

    def subscribe(self, view: View, *, after: int, session_key: str) -> str:
        token = secrets.token_urlsafe(18)
        sub = Subscription(token, view, after, session_key, self.clock())
        with self.lock:
            self.subs[token] = sub
            if self.stopping:
                sub.pending.append(BYE)
            if self.threaded and self.thread is None:
                self.thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
                self.thread.start()
        self.wake.set()
        return token

    def attach(self, token: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue):
        """The stream's coroutine takes its subscription up; what came before is queued."""
        with self.lock:
            sub = self.subs.get(token)
            if sub is None or sub.ended:
                return None
            sub.loop, sub.queue = loop, queue
            pending, sub.pending = sub.pending, []
        for item in pending:
            queue.put_nowait(item)
        return sub

    def detach(self, token: str) -> None:
        with self.lock:
            sub = self.subs.pop(token, None)
            if sub is not None:
                sub.ended = True
        self.wake.set()

    def stop(self) -> None:
        """Every held stream ends with `bye` (the process is stopping)."""
        with self.lock:
            self.stopping = True
            subs = list(self.subs.values())
        for sub in subs:
            self._deliver(sub, BYE)
        self.wake.set()

    # --- the hub's thread ----------------------------------------------------------

    def tick(self) -> None:
        """One pass: read every subscribed team's new events in one query,
        render each stream's share, hand it over. No stream, no query."""
        with self.lock:
            subs = [s for s in self.subs.values() if not s.ended]
        if not subs:
            return
        if self.clock() - self.last_check >= RECHECK_S:
            self.recheck(subs)
        cursors: dict[int, int] = {}
        for sub in subs:
            cursors[sub.team_id] = min(sub.cursor, cursors.get(sub.team_id, sub.cursor))
        wanted = Q()
        for team_id, cursor in cursors.items():
            wanted |= Q(team_id=team_id, seq__gt=cursor)
        events = list(LiveEvent.objects.filter(wanted).order_by("team_id", "seq")[:READ_LIMIT])
        by_team: dict[int, list[LiveEvent]] = {}
        for event in events:
            by_team.setdefault(event.team_id, []).append(event)
        for team_id, team_events in by_team.items():
            team_subs = [s for s in subs if s.team_id == team_id]
            personal = _personal(team_events, team_subs)
            shared: dict[tuple, bytes] = {}  # one drawing per kind of gallery viewer
            for sub in team_subs:
                mine = [e for e in team_events if e.seq > sub.cursor]
                if mine:
                    self._send_events(sub, mine, shared, sub.user_id not in personal)

    def _send_events(
        self, sub: Subscription, events: list[LiveEvent], shared: dict, impersonal: bool
    ) -> None:
        for event in events:
            if event.user_id == sub.user_id and _ends(event, sub):
                self._end(sub)
                return
        key = _sharing_key(sub, events) if impersonal else None
        try:
            if key is None:
                data = sse(render(sub.view, events))
            else:
                if key not in shared:
                    shared[key] = sse(render(replace(sub.view, csrf_token=SENTINEL), events))
                # the stream's own token, never another viewer's
                data = shared[key].replace(SENTINEL.encode(), sub.view.csrf_token.encode())
        except Exception:  # one stream's failure must not stop the others'
            log.exception("live render failed for team %s", sub.team_id)
            self._end(sub, bye=False)
            return
        sub.cursor = events[-1].seq
        self._deliver(sub, data)

    def recheck(self, subs: list[Subscription] | None = None) -> None:
        """Streams whose membership was removed, whose session ended (signed out,
        expired, signed in again elsewhere) or that were never held: `bye`.
        Two queries for all streams; the memberships read give current roles."""
        self.last_check = now = self.clock()
        if subs is None:
            with self.lock:
                subs = [s for s in self.subs.values() if not s.ended]
        ids = {s.view.membership.pk for s in subs}
        current = {
            m.pk: m
            for m in Membership.objects.filter(pk__in=ids, user__is_active=True)
            .current()
            .select_related("team", "user")
        }
        sessions = dict(
            Session.objects.filter(
                session_key__in={s.session_key for s in subs}, expire_date__gt=timezone.now()
            ).values_list("session_key", "session_data")
        )
        for sub in subs:
            membership = current.get(sub.view.membership.pk)
            if sub.loop is None and now - sub.opened >= UNHELD_S:
                self.detach(sub.token)  # its response never reached hold: nobody to tell
            elif membership is None or not _signed_in(sessions, sub):
                self._end(sub)
            else:
                sub.view.membership = membership  # a changed role shows from now on

    def _end(self, sub: Subscription, *, bye: bool = True) -> None:
        self._deliver(sub, BYE if bye else _CLOSE)
        with self.lock:
            sub.ended = True

    def _deliver(self, sub: Subscription, item: Any) -> None:
        with self.lock:
            if sub.loop is None:
                sub.pending.append(item)
                return
            loop, queue = sub.loop, sub.queue
        with contextlib.suppress(RuntimeError):  # its loop has closed: nobody listens
            loop.call_soon_threadsafe(_put, queue, item)

    def _run(self) -> None:
        listener = self.listener = _Listener() if connection.vendor == "postgresql" else None
        try:
            if listener is not None:
                listener.connect()
            self.ready.set()
            self._loop(listener)
        finally:
            if listener is not None:
                listener.close()
            connection.close()

    def _loop(self, listener: _Listener | None) -> None:
        while True:
            try:
                with self.lock:
                    idle = not self.subs
                    if idle and self.stopping:
                        return  # every stream said bye: the process is going
                if idle:
                    self.wake.wait()  # no stream: no query until one opens
                    self.wake.clear()
                    continue
                if listener is not None:
                    listener.wait(NOTIFY_WAIT_S)
                else:
                    self.wake.wait(settings.MJWEB_LIVE_TICK_MS / 1000)
                    self.wake.clear()
                close_old_connections()
                self.tick()
            except Exception:
                log.exception("live hub pass failed; trying again")
                connection.close()
                if listener is not None:
                    listener.close()
                time.sleep(1)  # a database that is down is not asked 20 times a second


def _personal(events: list[LiveEvent], subs: list[Subscription]) -> set[int]:
    """The members for whom these events draw differently from their teammates:
    authors of a touched job or of the image it was made from (their private
    jobs, their parent thumbnails), starrers of one, and those an event is
    addressed to. Every other gallery viewer with the same filters, role and
    cursor sees the same bytes, drawn once. Two queries, however many streams."""
    touched = {e.job_id for e in events if e.job_id}
    personal = {e.user_id for e in events if e.user_id}
    if touched:
        for author, parent_author in Job.objects.with_ids(touched).values_list(
            "user_id", "parent__job__user_id"
        ):
            personal |= {author, parent_author}
        users = {s.user_id for s in subs}
        starred = Star.objects.filter(job_id__in=touched, user_id__in=users)
        personal |= set(starred.values_list("user_id", flat=True))
    return personal


def _sharing_key(sub: Subscription, events: list[LiveEvent]) -> tuple | None:
    """What a gallery drawing depends on besides the member: None where it
    depends on the member too (job and image pages, filters of one's own)."""
    view = sub.view
    if view.page.kind != "gallery" or view.filters.get("who") == "mine":
        return None
    if view.filters.get("starred"):
        return None
    filters = tuple(sorted(view.filters.items()))
    admin = view.membership.is_admin  # may restore others' deleted jobs
    return (events[0].seq, events[-1].seq, filters, view.newest_only, view.origin, admin)


def _ends(event: LiveEvent, sub: Subscription) -> bool:
    if event.kind == Kind.MEMBER_REMOVED:
        return True
    return event.kind == Kind.SESSION_ENDED and event.payload.get("sid_hash") == sid_hash(
        sub.session_key
    )


def _signed_in(sessions: dict[str, str], sub: Subscription) -> bool:
    data = sessions.get(sub.session_key)
    if data is None:
        return False
    return str(SessionStore().decode(data).get("_auth_user_id")) == str(sub.user_id)


def _put(queue: asyncio.Queue, item: Any) -> None:
    # Runs on the stream's loop. A client too slow to take QUEUE_LIMIT messages
    # is cut: it reconnects and replays from its Last-Event-ID.
    queue.put_nowait(_CLOSE if queue.qsize() >= QUEUE_LIMIT else item)


class _Listener:
    """PostgreSQL LISTEN on its own autocommit connection (psycopg 3): waiting
    for notifications blocks other statements on the connection it uses."""

    def __init__(self) -> None:
        self.conn = None
        self.woken = 0  # notifications heard, for the tests

    def connect(self) -> None:
        import psycopg

        params = connection.get_connection_params()
        self.conn = psycopg.connect(**params, autocommit=True)
        self.conn.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> None:
        if self.conn is None:
            self.connect()  # after an error: events meanwhile are read by the next pass
        for _ in self.conn.notifies(timeout=timeout, stop_after=1):
            self.woken += 1

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None


# --- the process's hub, and what the views and the ASGI dispatcher call -------------

_hub: Hub | None = None
_hub_lock = threading.Lock()


def get_hub() -> Hub:
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = Hub()
        return _hub


def subscribe(view: View, *, after: int, session_key: str) -> str:
    """Register a stream that has been sent everything up to seq `after`; the
    token goes to the dispatcher in the response's X-Mjweb-Stream header."""
    return get_hub().subscribe(view, after=after, session_key=session_key)


def stop() -> None:
    """End every stream this process holds with `bye` (on SIGTERM). Thread-safe."""
    if _hub is not None:
        _hub.stop()


async def hold(token: str, send: Send, receive: Receive) -> None:
    """Stream the subscription's messages, a heartbeat comment every
    HEARTBEAT_S, until the client goes, the hub says `bye`, or the stream has
    lasted MJWEB_LIVE_MAX_STREAM_S (the browser reconnects with its last id)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    hub = _hub
    sub = hub.attach(token, loop, queue) if hub is not None else None
    if sub is None:  # unknown or already ended: say so and close
        await _body(send, BYE)
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    deadline = loop.time() + settings.MJWEB_LIVE_MAX_STREAM_S
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        if await _pump(queue, send, gone, deadline, loop):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        gone.cancel()
        hub.detach(token)


async def _pump(queue, send: Send, gone, deadline: float, loop) -> bool:
    """Sends until the end; False when the client went (nothing more to send)."""
    while True:
        left = deadline - loop.time()
        if left <= 0:
            await _body(send, BYE)
            return True
        item = asyncio.ensure_future(queue.get())
        done, _ = await asyncio.wait(
            {item, gone}, timeout=min(HEARTBEAT_S, left), return_when=asyncio.FIRST_COMPLETED
        )
        if gone in done:
            item.cancel()
            return False
        if item not in done:
            item.cancel()
            await _body(send, HEARTBEAT)
            continue
        message = item.result()
        if message is _CLOSE:
            return True
        await _body(send, message)
        if message is BYE:
            return True


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass

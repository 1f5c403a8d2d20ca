"""Each provider's health, from what the pipeline saw of it, and its circuit.

    record(provider, call, outcome, ...)   one INSERT per create or status read
    outcome_of(exc)                        a ProviderError as an Outcome
    state_of(provider)                     healthy / degraded / down, now
    allows_create(provider)                closed circuit, or this caller won the probe
    report(providers)                      figures and chart points for the health page

State over the last WINDOW: *down* while the circuit is open (the last
DOWN_STREAK creates, or status reads, all failed as outages: 5xx, 429, no
answer); *degraded*
when at least MIN_CALLS calls were made and DEGRADED_SHARE of them failed
so, or the 95th latency percentile is over SLOW_MS; else *healthy* (no calls
is healthy: nothing seen is nothing wrong).

Every function reads the time from `clock()` unless given `now`, so tests
move time without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from gallery.providers import Kind, ProviderError
from gallery.studio.models.health import OUTAGE_OUTCOMES, Outcome, ProviderCall, ProviderCircuit
from gallery.studio.models.jobs import Job

HEALTHY, DEGRADED, DOWN = "healthy", "degraded", "down"
LABELS = {"evolink": "evolink", "reapi": "reAPI", "vtrix": "Vtrix"}  # names for people
WINDOW = timedelta(minutes=5)
KEEP = timedelta(hours=24)
PRUNE_EVERY = 500  # rows; the insert whose id is a multiple of it prunes
MIN_CALLS = 3
DOWN_STREAK = 3
DEGRADED_SHARE = 0.2
SLOW_MS = 10_000
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)
CHART_BUCKETS = 12  # of WINDOW * CHART_SPAN / CHART_BUCKETS each
CHART_SPAN = timedelta(hours=1)

clock: Callable[[], datetime] = timezone.now


def label(provider: str) -> str:
    return LABELS.get(provider, provider)


def outcome_of(exc: ProviderError) -> Outcome:
    """How a failed call counts: the provider's fault (an outage) or the request's."""
    if exc.kind is Kind.RATE_LIMITED or exc.http_status == 429:
        return Outcome.RATE_LIMITED
    if exc.http_status and exc.http_status >= 500:
        return Outcome.SERVER_ERROR
    if exc.kind in (Kind.UNAVAILABLE, Kind.AMBIGUOUS):
        return Outcome.UNREACHABLE if exc.http_status is None else Outcome.SERVER_ERROR
    return Outcome.CLIENT_ERROR


def record(
    provider: str,
    call: str,
    outcome: Outcome,
    *,
    latency: float,
    http_status: int | None = None,
    now: datetime | None = None,
) -> None:
    """Keep one call's outcome; an outage streak opens the circuit, a create
    that succeeds closes it (and the caller dispatches what waited)."""
    now = now or clock()
    row = ProviderCall.objects.create(
        provider=provider,
        call=call,
        outcome=outcome,
        http_status=http_status,
        latency_ms=max(0, round(latency * 1000)),
        at=now,
    )
    if row.pk % PRUNE_EVERY == 0:
        ProviderCall.objects.filter(at__lt=now - KEEP).delete()
    if outcome in OUTAGE_OUTCOMES and _outage_streak(provider, call):
        _open(provider, now)


def _outage_streak(provider: str, call: str) -> bool:
    """The last DOWN_STREAK calls of this kind all failed as outages. Creates
    and reads are counted apart: a storm of 429s on creates alone still opens
    the circuit while the reads of running jobs go through."""
    last = ProviderCall.objects.filter(provider=provider, call=call).order_by("-at", "-pk")
    outcomes = list(last.values_list("outcome", flat=True)[:DOWN_STREAK])
    return len(outcomes) == DOWN_STREAK and all(o in OUTAGE_OUTCOMES for o in outcomes)


def _open(provider: str, now: datetime) -> None:
    circuit, _ = ProviderCircuit.objects.get_or_create(provider=provider)
    ProviderCircuit.objects.filter(pk=circuit.pk, opened_at__isnull=True).update(
        opened_at=now,
        next_probe_at=now + FIRST_BACKOFF,
        backoff_seconds=int(FIRST_BACKOFF.total_seconds()),
    )


def close(provider: str) -> bool:
    """A create went through: the provider is back. Whether it had been down."""
    if not ProviderCircuit.objects.filter(provider=provider, opened_at__isnull=False).exists():
        return False
    return bool(
        ProviderCircuit.objects.filter(provider=provider, opened_at__isnull=False).update(
            opened_at=None, next_probe_at=None, backoff_seconds=0
        )
    )


def is_down(provider: str) -> bool:
    return ProviderCircuit.objects.filter(provider=provider, opened_at__isnull=False).exists()


def down_providers() -> set[str]:
    return set(
        ProviderCircuit.objects.filter(opened_at__isnull=False).values_list("provider", flat=True)
    )


def probe_due(provider: str, now: datetime | None = None) -> bool:
    now = now or clock()
    return ProviderCircuit.objects.filter(provider=provider, next_probe_at__lte=now).exists()


def allows_create(provider: str, now: datetime | None = None) -> bool:
    """Whether a create may go to `provider` now: its circuit is closed, or it
    is open, its back-off is over and this caller won the one probe (the next
    probe waits twice as long, up to MAX_BACKOFF)."""
    now = now or clock()
    circuit = ProviderCircuit.objects.filter(provider=provider, opened_at__isnull=False).first()
    if circuit is None:
        return True
    if circuit.next_probe_at is None or circuit.next_probe_at > now:
        return False
    backoff = min(circuit.backoff_seconds * 2, int(MAX_BACKOFF.total_seconds()))
    return bool(
        ProviderCircuit.objects.filter(
            pk=circuit.pk, opened_at__isnull=False, next_probe_at=circuit.next_probe_at
        ).update(next_probe_at=now + timedelta(seconds=backoff), backoff_seconds=backoff)
    )


def read_backoff(provider: str, delay: float) -> float:
    """A status read of a down provider's job waits longer (but is never dropped:
    the job's images are there when the provider returns)."""
    return min(delay * 4, 60.0) if is_down(provider) else delay


# --- figures ------------------------------------------------------------------------


@dataclass
class Health:
    provider: str
    state: str = HEALTHY
    calls: int = 0
    shares: dict[str, float] = field(default_factory=dict)  # outcome → share of calls, 0-1
    p50_ms: int | None = None
    p95_ms: int | None = None
    last_success: datetime | None = None
    down_since: datetime | None = None
    next_probe_at: datetime | None = None
    completion: dict[str, float] = field(default_factory=dict)  # speed → median seconds
    chart: list[tuple[float, float]] = field(default_factory=list)  # failure share, p95 s

    @property
    def healthy(self) -> bool:
        return self.state == HEALTHY

    @property
    def label(self) -> str:
        return label(self.provider)

    @property
    def rows(self) -> list[tuple[str, str]]:
        """The window's calls by outcome, as shares."""
        return [(o.label, f"{self.shares.get(o.value, 0) * 100:.0f}%") for o in Outcome]

    @property
    def bars(self) -> list[dict]:
        """The chart's bars, in a 240 × 48 box: one per CHART_SPAN / CHART_BUCKETS,
        as tall as the share of calls that failed as outages then."""
        minutes = int(CHART_SPAN.total_seconds() // 60 // CHART_BUCKETS)
        out = []
        for index, (share, p95) in enumerate(self.chart):
            height = round(share * 44, 1)
            ago = (CHART_BUCKETS - index) * minutes
            out.append(
                {
                    "x": index * 20 + 1,
                    "y": round(46 - height, 1),
                    "height": max(height, 0.5),
                    "title": f"{ago}–{ago - minutes} min ago: {share * 100:.0f}% failed, "
                    f"p95 {p95:.1f} s",
                }
            )
        return out


def _percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def state_of(provider: str, now: datetime | None = None) -> str:
    return states([provider], now=now)[provider]


def states(providers: Iterable[str], now: datetime | None = None) -> dict[str, str]:
    """Each provider's state alone, in two queries whatever their number (the
    create panel shows it on every page)."""
    now = now or clock()
    names = list(providers)
    down = set(
        ProviderCircuit.objects.filter(provider__in=names, opened_at__isnull=False).values_list(
            "provider", flat=True
        )
    )
    rows = ProviderCall.objects.filter(provider__in=names, at__gt=now - WINDOW, at__lte=now)
    seen: dict[str, list[tuple[str, int]]] = {p: [] for p in names}
    for provider, outcome, ms in rows.values_list("provider", "outcome", "latency_ms"):
        seen[provider].append((outcome, ms))
    return {p: DOWN if p in down else _window_state(seen[p]) for p in names}


def _window_state(rows: list[tuple[str, int]]) -> str:
    if len(rows) < MIN_CALLS:
        return HEALTHY
    failing = sum(1 for o, _ in rows if o in OUTAGE_OUTCOMES) / len(rows)
    slow = (_percentile([ms for _, ms in rows], 0.95) or 0) > SLOW_MS
    return DEGRADED if failing >= DEGRADED_SHARE or slow else HEALTHY


def report(
    providers: Iterable[str], now: datetime | None = None, *, chart: bool = True
) -> list[Health]:
    now = now or clock()
    circuits = {c.provider: c for c in ProviderCircuit.objects.filter(opened_at__isnull=False)}
    return [_health(p, now, circuits.get(p), chart=chart) for p in providers]


def _health(provider: str, now: datetime, circuit, *, chart: bool) -> Health:
    health = Health(provider)
    recent = ProviderCall.objects.filter(provider=provider, at__gt=now - WINDOW, at__lte=now)
    rows = list(recent.values_list("outcome", "latency_ms"))
    health.calls = len(rows)
    for outcome in Outcome:
        hits = sum(1 for o, _ in rows if o == outcome)
        health.shares[outcome.value] = hits / len(rows) if rows else 0.0
    latencies = [ms for _, ms in rows]
    health.p50_ms, health.p95_ms = _percentile(latencies, 0.5), _percentile(latencies, 0.95)
    last_ok = ProviderCall.objects.filter(provider=provider, outcome=Outcome.OK)
    health.last_success = last_ok.order_by("-at").values_list("at", flat=True).first()
    failing = sum(health.shares.get(o.value, 0) for o in OUTAGE_OUTCOMES)
    if circuit is not None:
        health.state, health.down_since = DOWN, circuit.opened_at
        health.next_probe_at = circuit.next_probe_at
    elif len(rows) >= MIN_CALLS and (failing >= DEGRADED_SHARE or (health.p95_ms or 0) > SLOW_MS):
        health.state = DEGRADED
    health.completion = _completion(provider, now)
    if chart:
        health.chart = _chart(provider, now)
    return health


def _completion(provider: str, now: datetime) -> dict[str, float]:
    """Median seconds from submit to completion of the last day's jobs, by speed."""
    done = Job.objects.filter(
        provider=provider,
        status=Job.Status.COMPLETED,
        finished_at__gt=now - KEEP,
        submitted_at__isnull=False,
    ).values_list("speed", "submitted_at", "finished_at")
    by_speed: dict[str, list[float]] = {}
    for speed, submitted, finished in done.order_by("-finished_at")[:500]:
        by_speed.setdefault(speed or "flat", []).append((finished - submitted).total_seconds())
    return {speed: sorted(times)[len(times) // 2] for speed, times in sorted(by_speed.items())}


def _chart(provider: str, now: datetime) -> list[tuple[float, float]]:
    """CHART_BUCKETS points over the last CHART_SPAN: (outage share 0-1, p95 seconds)."""
    step = CHART_SPAN / CHART_BUCKETS
    start = now - CHART_SPAN
    rows = ProviderCall.objects.filter(provider=provider, at__gt=start, at__lte=now).values_list(
        "at", "outcome", "latency_ms"
    )
    buckets: list[list[tuple[str, int]]] = [[] for _ in range(CHART_BUCKETS)]
    for at, outcome, ms in rows:
        index = min(CHART_BUCKETS - 1, int((at - start) / step))
        buckets[index].append((outcome, ms))
    points = []
    for bucket in buckets:
        failed = sum(1 for o, _ in bucket if o in OUTAGE_OUTCOMES)
        share = failed / len(bucket) if bucket else 0.0
        points.append((share, (_percentile([ms for _, ms in bucket], 0.95) or 0) / 1000))
    return points


def outcome_counts(provider: str, now: datetime | None = None) -> dict[str, int]:
    """Calls in the window by outcome (for tests and the admin)."""
    now = now or clock()
    rows = ProviderCall.objects.filter(provider=provider, at__gt=now - WINDOW)
    return dict(rows.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n"))

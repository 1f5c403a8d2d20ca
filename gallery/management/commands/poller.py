"""python manage.py poller — reads in-flight jobs' status and recovers lost work.

Why a command beside the django-q2 cluster rather than a scheduled task:
django-q2's scheduler ticks about every 30 s, far too coarse for 1–2 s reads
near a job's estimated end, and a self-re-enqueuing task would hold a worker
slot and fight the cluster's timeout. This loop claims due jobs with a
conditional UPDATE, so any number of pollers (several machines on
PostgreSQL) never read the same job at once. SIGTERM or Ctrl-C finishes the
reads in progress and exits.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand, CommandParser
from django.db import close_old_connections, connections

from gallery.models import Job
from gallery.studio import batches, exports, pipeline, references
from gallery.studio.live import events

log = logging.getLogger("gallery.poller")


class Command(BaseCommand):
    help = "Poll in-flight jobs, run the recovery sweep and expire references until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        # A callback only marks its job due; the next look reads it. An idle look
        # is two indexed SELECTs (about 2.5% of one core at ten a second), so
        # looking often costs little and cuts that wait.
        parser.add_argument("--tick", type=float, default=0.1, help="Seconds between looks")
        parser.add_argument("--sweep", type=float, default=5.0, help="Seconds between sweeps")
        parser.add_argument("--per-provider", type=int, default=4, help="Concurrent reads each")
        parser.add_argument("--once", action="store_true", help="One tick and one sweep, then exit")
        parser.add_argument(
            "--expire", type=float, default=3600.0, help="Seconds between reference clean-ups"
        )

    def handle(self, *args, **opts) -> None:
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        limits = defaultdict(lambda: threading.BoundedSemaphore(opts["per_provider"]))
        workers = ThreadPoolExecutor(
            max_workers=opts["per_provider"] * 3, thread_name_prefix="poll"
        )
        busy: set[int] = set()
        last_sweep = 0.0
        last_expire: float | None = None
        self.stdout.write("poller started")
        try:
            while not stop.is_set():
                self._dispatch()
                for job_id, provider in self._claim():
                    if job_id in busy:
                        continue
                    busy.add(job_id)
                    workers.submit(self._read, job_id, limits[provider], busy)
                if time.monotonic() - last_sweep >= opts["sweep"]:
                    last_sweep = time.monotonic()
                    # The loop keeps its connection between looks (opening one costs
                    # more than a look) and renews it here, so a broken one lives
                    # for one sweep interval at most.
                    close_old_connections()
                    try:
                        pipeline.sweep()
                    except Exception:
                        log.exception("sweep failed; trying again next time")
                    try:
                        exports.recover()
                    except Exception:
                        log.exception("recovering exports failed; trying again next time")
                if last_expire is None or time.monotonic() - last_expire >= opts["expire"]:
                    last_expire = time.monotonic()
                    self._expire_references()
                if opts["once"]:
                    break
                stop.wait(opts["tick"])
        finally:
            workers.shutdown(wait=True)
            self.stdout.write("poller stopped")

    def _dispatch(self) -> None:
        try:
            pipeline.dispatch()
        except Exception:
            log.exception("dispatching waiting jobs failed; trying again next tick")
        try:
            batches.feed_running()  # a batch's next jobs, as its member's slots free
        except Exception:
            log.exception("feeding batches failed; trying again next tick")

    @staticmethod
    def _expire_references() -> None:
        """Uploaded references no job uses go after their retention period,
        jobs that lay in the trash MJWEB_TRASH_DAYS lose their images, and the
        change feed forgets events older than MJWEB_LIVE_RETENTION_HOURS, and
        ZIP exports kept MJWEB_EXPORT_HOURS are deleted."""
        try:
            references.expire()
        except Exception:
            log.exception("deleting expired reference uploads failed; trying again later")
        try:
            pipeline.purge_trash()
        except Exception:
            log.exception("purging the trash failed; trying again later")
        try:
            events.prune()
        except Exception:
            log.exception("deleting old live events failed; trying again later")
        try:
            exports.expire()
        except Exception:
            log.exception("deleting expired exports failed; trying again later")

    def _claim(self) -> list[tuple[int, str]]:
        try:
            ids = pipeline.claim_due()
        except Exception:
            log.exception("claiming due jobs failed; trying again next tick")
            return []
        return list(Job.objects.filter(pk__in=ids).values_list("pk", "provider"))

    @staticmethod
    def _read(job_id: int, limit: threading.BoundedSemaphore, busy: set[int]) -> None:
        try:
            with limit:
                pipeline.refresh(job_id)
            pipeline.ingest(job_id)  # at once if that read saw it complete
        except Exception:
            log.exception("reading job %s failed", job_id)
        finally:
            busy.discard(job_id)
            connections.close_all()

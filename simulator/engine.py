"""Task lifecycle: the provider-neutral rules, billing, timing, rendering and completion.

A task's wire status is a function of time (pending -> processing with rising
progress -> due), so a poll needs no background work; a background loop (and
any poll that finds a task past due) *finalises* it: renders are collected,
the outcome is written once, failed tasks are refunded, callbacks scheduled.
Images are rendered as soon as a task is created, in a small thread pool, so
completion itself is instantaneous and happens at the instant the timing says.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from PIL import Image

from . import operations as ops
from .config import SimConfig
from .dialects import Dialect, TaskView
from .faults import FaultBoard
from .operations import CreateRequest, SimError
from .render import RenderSpec, encode_png, fresh, load_image, render, slot_key
from .store import Store, Task

log = logging.getLogger("simulator")

MAX_SOURCE_BYTES = 20 * 1024 * 1024


@dataclass
class RenderResult:
    images: list[dict[str, Any]]
    fail_code: str | None = None
    fail_message: str | None = None


class SourceError(Exception):
    pass


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _marker_number(markers: dict[str, str], name: str) -> float:
    try:
        value = float(markers[name])
    except ValueError:
        value = -1
    if value < 0:
        raise SimError("invalid_param", f"[sim:{name}=...] needs a non-negative number")
    return value


class Engine:
    def __init__(
        self,
        config: SimConfig,
        store: Store,
        faults: FaultBoard,
        dialects: dict[str, Dialect],
        schedule_callbacks: Callable[[Task, dict[str, Any]], None],
    ) -> None:
        self.config = config
        self.timing = config.timing
        self.store = store
        self.faults = faults
        self.dialects = dialects
        self.schedule_callbacks = schedule_callbacks
        self.base_url = ""
        self._lock = threading.RLock()
        self._renders: dict[str, Future[RenderResult]] = {}
        self._pool = ThreadPoolExecutor(max_workers=3, thread_name_prefix="sim-task")
        self._slot_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="sim-render")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http = httpx.Client(timeout=5.0, trust_env=False, follow_redirects=False)

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sim-engine", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._slot_pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            now = time.time()
            for task_id, due in self.store.running_task_ids():
                if self._stop.is_set():
                    return
                if due is not None and due <= now:
                    try:
                        self.finalize(task_id)
                    except Exception:
                        log.exception("finalising %s failed", task_id)

    # -- create ------------------------------------------------------------------

    def create(
        self, dialect: Dialect, api_key: str, req: CreateRequest, raw: Any
    ) -> tuple[Task, TaskView]:
        parsed = ops.parse_prompt(req.prompt) if req.prompt else None
        if req.model in self.store.denied_models(api_key):
            raise SimError(
                "model_access_denied", f"Token does not have access to model: {req.model}"
            )
        parent = self._check_parent(dialect.name, api_key, req)
        oref = bool(parsed and parsed.oref)
        if oref:
            if req.operation in ops.NO_OREF_OPS:
                raise SimError("invalid_param", f"--oref is not supported by {req.operation}")
            if ops.price_speed(req) != "fast":
                raise SimError("invalid_param", "--oref works in fast mode only")
            if not parsed or not parsed.text:
                raise SimError("invalid_param", "--oref needs a text prompt")
        speed = ops.price_speed(req)
        markers = parsed.markers if parsed else {}
        plan = self._plan(dialect.name, req, markers)
        duration = self.timing.duration(speed)
        if "duration" in markers:
            duration = _marker_number(markers, "duration")
        price = ops.price(dialect.name, req, oref)
        now = time.time()
        task = Task(
            id=dialect.new_task_id(),
            dialect=dialect.name,
            api_key=api_key,
            model=req.model,
            operation=req.operation,
            request=asdict(req),
            raw=raw,
            speed=speed,
            is_draft=req.operation == ops.GENERATE and speed == "draft",
            parent_id=req.parent_id,
            image_number=req.image_number if req.parent_id else None,
            render_key=self._render_key(req, parsed, parent),
            created_at=now,
            duration=duration,
            hold="hold" in markers,
            status="running",
            completed_at=None,
            plan=plan,
            images=[
                {"token": secrets.token_urlsafe(18), "slot": slot} for slot in range(plan["images"])
            ],
            price=price,
            callback_url=req.callback_url if dialect.supports_callbacks else None,
            callback_state="none",
        )
        with self.store.transaction() as db:
            balance = self.store.balance(db, dialect.name, api_key, self.config.initial_balance)
            if balance < price:
                raise SimError(
                    "insufficient_credits",
                    f"Insufficient quota: this request costs {price}, balance is {balance}.",
                )
            self.store.insert_task(db, task)
            self.store.move_credits(
                db, dialect.name, api_key, task.id, "charge", -price, self.config.initial_balance
            )
        if not plan["fail"]:
            self._renders[task.id] = self._pool.submit(self._render_task, task.id)
        view = TaskView(task, "pending", 0, [], self.estimated_time(task))
        return task, view

    def _plan(self, dialect: str, req: CreateRequest, markers: dict[str, str]) -> dict[str, Any]:
        images = 1 if req.operation in ops.SINGLE_IMAGE_OPS else 4
        fail: str | None = None
        fault = self.faults.hit("task_failure", dialect=dialect)
        if fault:
            fail = fault["code"]
        moderation = self.faults.hit("moderation", dialect=dialect)
        if moderation and images > 1:
            images = moderation["images"]
        if "fail" in markers:
            fail = markers["fail"] or "generation_failed"
            if fail not in ops.FAILURE_CODES:
                raise SimError(
                    "invalid_param", f"[sim:fail=...] must be one of {ops.FAILURE_CODES}"
                )
        if "images" in markers:
            images = max(0, min(images, int(_marker_number(markers, "images"))))
        if images == 0 and not fail:
            # Every image filtered: nothing to return, which reads as a policy failure.
            fail = "content_policy_violation"
        return {
            "fail": fail,
            "images": images if not fail else 0,
            "callback": markers.get("callback") or None,
            "markers": markers,
        }

    def _check_parent(self, dialect: str, api_key: str, req: CreateRequest) -> Task | None:
        if req.parent_id is None:
            return None
        parent = self.store.get_task(req.parent_id)
        # Another key's task is reported exactly like a missing one: nothing leaks.
        if parent is None or parent.dialect != dialect or parent.api_key != api_key:
            raise SimError(
                "parent_invalid", f"Source task {req.parent_id} not found", field="task_id"
            )
        if (
            parent.status == "running"
            and parent.due_at is not None
            and parent.due_at <= time.time()
        ):
            parent = self.finalize(parent.id) or parent
        if parent.status != "completed":
            state = "has failed" if parent.status == "failed" else "is still processing"
            raise SimError("parent_invalid", f"Source task {parent.id} {state}", field="task_id")
        count = len(parent.images)
        if req.image_number >= count:
            raise SimError(
                "image_number_range",
                f"image_number {req.image_number} is out of range: "
                f"the source task has {count} image(s)",
                field="image_number",
            )
        if parent.operation == ops.RETEXTURE and req.operation != ops.UPSCALE:
            raise SimError("retexture_followup", "A retextured image can only be upscaled")
        if req.operation == ops.UPSCALE and parent.operation == ops.UPSCALE:
            raise SimError("upscale_of_upscale", "This image has already been upscaled")
        if req.operation == ops.ENHANCE and not parent.is_draft:
            raise SimError("not_draft", "mj-v7-enhance needs a draft-mode source task")
        return parent

    def _render_key(
        self, req: CreateRequest, parsed: ops.ParsedPrompt | None, parent: Task | None
    ) -> str:
        # The parent enters through its own render key (not its random id) so a
        # whole chain of edits is reproducible from run to run.
        material = {
            "op": req.operation,
            "prompt": ops.strip_markers(req.prompt or ""),
            "seed": parsed.seed if parsed else None,
            "speed": req.speed,
            "parent": [parent.render_key, req.image_number] if parent else None,
            "params": req.params,
            "image_urls": req.image_urls,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    def estimated_time(self, task: Task) -> int:
        return max(1, math.ceil(task.duration))

    # -- reading -------------------------------------------------------------------

    def lookup(self, dialect: str, api_key: str, task_id: str) -> Task | None:
        task = self.store.get_task(task_id)
        if task is None or task.dialect != dialect or task.api_key != api_key:
            return None
        return task

    def view(self, task: Task) -> TaskView:
        now = time.time()
        if task.status == "running" and task.due_at is not None and now >= task.due_at:
            task = self.finalize(task.id) or task
        est = self.estimated_time(task)
        if task.status == "completed":
            return TaskView(task, "completed", 100, self.urls(task), est)
        if task.status == "failed":
            return TaskView(task, "failed", 0, [], est)
        elapsed = now - task.created_at
        duration = max(task.duration, 1e-6)
        if elapsed < duration * self.timing.pending_fraction:
            return TaskView(task, "pending", 0, [], est)
        progress = max(1, min(99, int(elapsed / duration * 100)))
        return TaskView(task, "processing", progress, [], est)

    def urls(self, task: Task) -> list[str]:
        return [f"{self.base_url}/files/{image['token']}.png" for image in task.images]

    def file_path(self, token: str) -> Path:
        return self.store.files_dir / f"{token}.png"

    def serve_file(self, token: str) -> Path | None:
        """The PNG behind a result URL, or None once it is unknown, unfinished or expired."""
        found = self.store.file_task(token)
        if found is None:
            return None
        task = self.store.get_task(found[0])
        if task is None or task.status != "completed" or task.completed_at is None:
            return None
        if task.urls_expired or time.time() > task.completed_at + self.timing.url_ttl:
            return None
        path = self.file_path(token)
        return path if path.exists() else None

    # -- completion ----------------------------------------------------------------

    def finalize(self, task_id: str, fail_code: str | None = None) -> Task | None:
        """Complete (or fail) a running task exactly once; safe to call from any thread."""
        task = self.store.get_task(task_id)
        if task is None or task.status != "running":
            return task
        fail = fail_code or task.plan.get("fail")
        fail_message: str | None = None
        images: list[dict[str, Any]] = []
        if not fail:
            result = self._render_result(task)
            fail, fail_message, images = result.fail_code, result.fail_message, result.images
        with self._lock:
            task = self.store.get_task(task_id)
            if task is None or task.status != "running":
                return task
            now = time.time()
            has_callback = bool(task.callback_url)
            if fail:
                with self.store.transaction() as db:
                    db.execute(
                        "UPDATE tasks SET status='failed', completed_at=?, error_code=?, "
                        "error_message=?, images='[]', refunded=1, callback_state=? WHERE id=?",
                        (now, fail, fail_message, "pending" if has_callback else "none", task_id),
                    )
                    # Failed tasks are refunded (evolink, reAPI; DESIGN §2).
                    self.store.move_credits(
                        db,
                        task.dialect,
                        task.api_key,
                        task.id,
                        "refund",
                        task.price,
                        self.config.initial_balance,
                    )
            else:
                self.store.update_task(
                    task_id,
                    status="completed",
                    completed_at=now,
                    images=images,
                    callback_state="pending" if has_callback else "none",
                )
            self._renders.pop(task_id, None)
            task = self.store.get_task(task_id)
        assert task is not None
        if task.callback_url:
            self.schedule_callbacks(task, self._callback_plan(task))
        return task

    def _callback_plan(self, task: Task) -> dict[str, Any]:
        marker = task.plan.get("callback")
        plan: dict[str, Any] = {"copies": 1, "out_of_order": False, "unreachable": False}
        duplicate = self.faults.hit("callback_duplicate", dialect=task.dialect)
        if duplicate:
            plan["copies"] = duplicate["copies"]
        if marker in ("dup", "duplicate"):
            plan["copies"] = max(plan["copies"], 2)
        if self.faults.hit("callback_out_of_order", dialect=task.dialect) or marker in (
            "out_of_order",
            "stale",
        ):
            plan["out_of_order"] = True
        if self.faults.hit("callback_unreachable", dialect=task.dialect) or marker == "unreachable":
            plan["unreachable"] = True
        return plan

    def expire_urls(self, task_id: str) -> None:
        self.store.update_task(task_id, urls_expired=True)

    # -- rendering ----------------------------------------------------------------

    def _render_result(self, task: Task) -> RenderResult:
        future = self._renders.get(task.id)
        if future is None:
            # After a restart the pool's work is gone: render again (it is deterministic).
            future = self._pool.submit(self._render_task, task.id)
            self._renders[task.id] = future
        return future.result()

    def _render_task(self, task_id: str) -> RenderResult:
        task = self.store.get_task(task_id)
        assert task is not None
        req = task.request
        op = task.operation
        parsed = ops.parse_prompt(req["prompt"]) if req.get("prompt") else None
        label = parsed.words() if parsed else ""
        try:
            source = self._source_image(task)
            mask = self._mask_image(req)
        except SourceError as exc:
            return RenderResult([], "image_processing_error", str(exc))
        params = req["params"]
        width, height, kind, geometry = self._geometry(task, parsed, source)
        total = len(task.images)
        specs = [
            (
                image,
                RenderSpec(
                    kind=kind,
                    width=width,
                    height=height,
                    key=slot_key(task.render_key, image["slot"]),
                    label=label or op,
                    slot=image["slot"],
                    total=total,
                    operation=op,
                    source=source,
                    mask=mask,
                    geometry={**geometry, "areas": (params.get("mask") or {}).get("areas")},
                ),
            )
            for image in task.images
        ]
        # Slots render in parallel: PNG encoding (most of the cost) releases the GIL.
        out = list(self._slot_pool.map(self._render_slot, specs))
        return RenderResult(out)

    def _render_slot(self, item: tuple[dict[str, Any], RenderSpec]) -> dict[str, Any]:
        image, spec = item
        picture = render(spec)
        data = encode_png(picture)
        path = self.file_path(image["token"])
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return {**image, "width": picture.width, "height": picture.height, "mode": picture.mode}

    def _parent_image(self, task: Task) -> Image.Image | None:
        if not task.parent_id:
            return None
        parent = self.store.get_task(task.parent_id)
        if parent is None or not parent.images:
            return None
        image = parent.images[task.image_number or 0]
        path = self.file_path(image["token"])
        if not path.exists():
            # A parent's file may be gone (data dir cleaned); its size is still known.
            return fresh(
                image["width"],
                image["height"],
                slot_key(parent.render_key, 0),
                "",
                0,
                1,
                parent.operation,
            )
        return load_image(path.read_bytes())

    def _source_image(self, task: Task) -> Image.Image | None:
        if task.parent_id:
            return self._parent_image(task)
        urls = task.request.get("image_urls") or []
        if not urls:
            return None
        return self._fetch_or_synthesise(urls[0])

    def _mask_image(self, req: dict[str, Any]) -> Image.Image | None:
        url = (req["params"].get("mask") or {}).get("url")
        return self._fetch_or_synthesise(url, synthesise=False) if url else None

    def _fetch_or_synthesise(self, url: str, *, synthesise: bool = True) -> Image.Image | None:
        """Loopback URLs are really fetched (the app's signed upload URLs); others never are:
        the simulator must not send traffic off this machine, so it draws a stand-in."""
        if self.config.fetch_sources and is_loopback_url(url):
            try:
                response = self._http.get(url)
            except httpx.HTTPError as exc:
                raise SourceError(f"could not download {url}: {exc}") from exc
            if response.status_code != 200:
                raise SourceError(f"could not download {url}: HTTP {response.status_code}")
            if len(response.content) > MAX_SOURCE_BYTES:
                raise SourceError(f"{url} is larger than 20 MB")
            try:
                return load_image(response.content)
            except Exception as exc:
                raise SourceError(f"{url} is not a readable image") from exc
        if not synthesise:
            return None
        side = self.config.long_side
        return fresh(side, side, slot_key("source", url), "source image", 0, 1, "source")

    def _geometry(
        self, task: Task, parsed: ops.ParsedPrompt | None, source: Image.Image | None
    ) -> tuple[int, int, str, dict[str, Any]]:
        op = task.operation
        params = task.request["params"]
        sw, sh = source.size if source is not None else (self.config.long_side,) * 2
        if op == ops.GENERATE:
            aspect = parsed.aspect if parsed else (1, 1)
            long_side = self.config.long_side
            width, height = ops.size_for_aspect(
                aspect, long_side // 2 if task.is_draft else long_side
            )
            return width, height, "fresh", {}
        if op == ops.VARIATION:
            strength = 0.35 if params.get("type") == "subtle" else 0.7
            return sw, sh, "blend", {"strength": strength}
        if op == ops.REMIX:
            strength = 0.75 if params.get("mode") == "strong" else 0.4
            if parsed and ("ar" in parsed.flags or "aspect" in parsed.flags):
                width, height = ops.size_for_aspect(parsed.aspect, max(sw, sh))
                return width, height, "blend", {"strength": strength}
            return sw, sh, "blend", {"strength": strength}
        if op == ops.ENHANCE:
            width, height = ops.size_for_aspect((sw, sh), self.config.long_side)
            return width, height, "blend", {"strength": 0.3}
        if op == ops.UPSCALE:
            factor = int(params.get("factor", 2))
            width, height = ops.cap_size(sw * factor, sh * factor)
            return width, height, "upscale", {"factor": factor, "type": params.get("type", "")}
        if op == ops.PAN:
            scale = float(params["scale"])
            if params["direction"] in ("left", "right"):
                width, height = ops.cap_size(round(sw * scale), sh)
            else:
                width, height = ops.cap_size(sw, round(sh * scale))
            return width, height, "pan", {"direction": params["direction"], "scale": scale}
        if op == ops.OUTPAINT:
            scale = float(params["scale"])
            width, height = ops.cap_size(round(sw * scale), round(sh * scale))
            return width, height, "outpaint", {"scale": scale}
        if op == ops.INPAINT:
            return sw, sh, "inpaint", {}
        if op in (ops.EDIT, ops.UPLOAD_PAINT):
            canvas = params["canvas"]
            return canvas["width"], canvas["height"], "place", {"img_pos": params["img_pos"]}
        if op == ops.REMOVE_BG:
            width, height = ops.cap_size(sw, sh)
            return width, height, "cutout", {}
        if op == ops.RETEXTURE:
            width, height = ops.cap_size(sw, sh, 2048)
            return width, height, "blend", {"strength": 0.6}
        raise ValueError(f"no geometry for {op}")

    # -- control -------------------------------------------------------------------

    def internal_state(self, task: Task) -> dict[str, Any]:
        view = self.view(task)
        task = view.task
        return {
            "id": task.id,
            "dialect": task.dialect,
            "api_key": task.api_key,
            "model": task.model,
            "operation": task.operation,
            "status": view.status,
            "internal_status": task.status,
            "progress": view.progress,
            "speed": task.speed,
            "is_draft": task.is_draft,
            "parent_id": task.parent_id,
            "image_number": task.image_number,
            "created_at": task.created_at,
            "duration": task.duration,
            "due_at": task.due_at,
            "hold": task.hold,
            "completed_at": task.completed_at,
            "error_code": task.error_code,
            "error_message": task.error_message,
            "images": task.images,
            "urls": view.urls,
            "urls_expired": task.urls_expired,
            "price": str(task.price),
            "refunded": task.refunded,
            "poll_count": task.poll_count,
            "last_polled_at": task.last_polled_at,
            "callback_url": task.callback_url,
            "callback_state": task.callback_state,
            "plan": task.plan,
            "request": task.request,
            "raw_request": task.raw,
        }

    def balances(self, api_key: str) -> dict[str, str]:
        with self.store.transaction() as db:
            return {
                name: str(self.store.balance(db, name, api_key, self.config.initial_balance))
                for name in self.dialects
            }

    def set_balance(self, api_key: str, dialect: str | None, value: Decimal) -> None:
        for name in [dialect] if dialect else list(self.dialects):
            self.store.set_balance(name, api_key, value, self.config.initial_balance)

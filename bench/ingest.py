"""Ingest figure: storing one 1024×1024 result image, against Pillow alone.

    ingest_ratio = median(app ingest of one image) / median(Pillow reference)

App ingest: exactly what the pipeline does per image (`pipeline._fetch`, then
`pipeline._record`) on a real Job and Image row of a scratch database: download
the URL through the SSRF guard (`images.download` → `netguard.safe_get`, the
loopback server allowed as the configured evolink base URL, like the
simulator), verify it (`images.inspect`), hash it, store the original and the
512 px WebP thumbnail (`images.store`), and mark the image stored. The stored
files are deleted between runs (outside the timing) so every run writes them.

Pillow reference, "decode + thumbnail" done the way the app makes its
thumbnail, from the bytes already in memory: `Image.open` + `load()` (full
decode) + `thumbnail((512, 512), LANCZOS, reducing_gap=2.0)` + `save` as WebP
(quality 82, method 2) to memory. It has no network, no verification, no
hashing, no files and no database: the ratio is the app's overhead over the
unavoidable image work.

The image is a 1024×1024 PNG like a Midjourney result: the simulator's
renderer (gradient, shapes, caption) overlaid with noise, so it compresses
like a photograph (~2–3 MB), not like a flat colour. Served by a
ThreadingHTTPServer in this process; the timing runs in a separate
`manage.py shell` on the scratch site. Runs alternate app / reference.

    .venv/bin/python bench/ingest.py [--runs 21]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from stack import ROOT, free_port, manage, prepare, scratch_env

THUMB = 512


def render_png(size: int = 1024) -> bytes:
    """A varied 1024² PNG: the simulator's picture with photographic noise over it."""
    sys.path.insert(0, str(ROOT))
    from PIL import Image

    from simulator import render

    key = render.slot_key("bench-ingest", 1)
    picture = render.fresh(size, size, key, "a lighthouse at dusk, oil painting", 0, 4, "imagine")
    noise = Image.merge("RGB", [Image.effect_noise((size, size), 40 + 10 * n) for n in range(3)])
    image = Image.blend(picture, noise, 0.25)
    out = io.BytesIO()
    image.save(out, "PNG")  # Pillow's default level, as an upstream's encoder would
    return out.getvalue()


def serve(body: bytes) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, port


# Runs inside `manage.py shell` on the scratch site.
MEASURE = """
import gc, io, json, statistics, time
from pathlib import Path
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from gallery.studio import images, pipeline
from gallery.models import Image, Job, Team

URL, PATH, RUNS, THUMB = "URL_", "PATH_", RUNS_, THUMB_
data = Path(PATH).read_bytes()
job = Job.objects.create(
    team=Team.objects.get(slug="bench"), user=User.objects.get(username="runner"),
    provider="evolink", operation="mj-v7", prompt="bench", status=Job.Status.INGESTING,
)

def app(n):
    image = Image.objects.create(job=job, index=n, upstream_url=URL)
    start = time.perf_counter()
    pipeline._record(job, image, pipeline._fetch(image.upstream_url))
    took = time.perf_counter() - start
    image.refresh_from_db()
    events = list(job.events.values_list("message", flat=True))
    assert image.status == Image.Status.STORED, (image.status, events)
    assert image.width == image.height == 1024 and image.bytes == len(data)
    thumb = default_storage.open(image.thumbnail.name).read()
    with PILImage.open(io.BytesIO(thumb)) as t:
        assert t.format == "WEBP" and max(t.size) == THUMB, (t.format, t.size)
    default_storage.delete(image.original.name)
    default_storage.delete(image.thumbnail.name)
    return took

def reference():
    start = time.perf_counter()
    with PILImage.open(io.BytesIO(data)) as img:
        img.load()
        img.thumbnail((THUMB, THUMB), PILImage.Resampling.LANCZOS, reducing_gap=2.0)
        out = io.BytesIO()
        img.save(out, "WEBP", quality=82, method=2)
    return time.perf_counter() - start

def parts():
    # Where the app's time goes, step by step (not the figure).
    t = {}
    s = time.perf_counter(); body = images.download(URL); t["download"] = time.perf_counter() - s
    s = time.perf_counter(); images.inspect(body); t["inspect"] = time.perf_counter() - s
    s = time.perf_counter(); images.make_thumbnail(body); t["thumbnail"] = time.perf_counter() - s
    s = time.perf_counter(); stored = images.store(body); t["store"] = time.perf_counter() - s
    default_storage.delete(stored.original); default_storage.delete(stored.thumbnail)
    return t

for n in range(3):  # warm up: imports, connections, caches
    app(1000 + n); reference()
apps, refs, steps = [], [], []
gc.collect()
for n in range(RUNS):
    apps.append(app(n))
    refs.append(reference())
for n in range(5):
    steps.append(parts())
breakdown = {k: statistics.median(s[k] for s in steps) for k in steps[0]}
print(json.dumps({"app": apps, "reference": refs, "breakdown": breakdown, "bytes": len(data)}))
"""


def run(runs: int) -> dict:
    png = render_png()
    server, port = serve(png)
    base = f"http://127.0.0.1:{port}"
    try:
        # The loopback server is the configured evolink upstream, so the SSRF
        # guard allows it exactly as it allows the simulator (allowed_upstreams).
        env, scratch = scratch_env("ingest", EVOLINK_BASE_URL=f"{base}/evolink")
        prepare(env)
        manage(env, "add_member", "bench", "runner", "--credits", "1000")
        path = scratch / "bench.png"
        path.write_bytes(png)
        script = (
            MEASURE.replace("URL_", f"{base}/evolink/files/bench.png")
            .replace("PATH_", str(path))
            .replace("RUNS_", str(runs))
            .replace("THUMB_", str(THUMB))
        )
        out = manage(env, "shell", "-c", script, timeout=300)
    finally:
        server.shutdown()
        server.server_close()
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict:
    """The figures; `argv` are this script's options (none when bench/run.py calls it)."""
    import statistics

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv or [])
    result = run(max(15, args.runs))
    app = statistics.median(result["app"]) * 1000
    ref = statistics.median(result["reference"]) * 1000
    print(
        f"ingest 1024² PNG ({result['bytes'] / 1e6:.1f} MB, {len(result['app'])} runs): "
        f"app median {app:.1f} ms, Pillow decode+thumbnail median {ref:.1f} ms, "
        f"ratio {app / ref:.2f}"
    )
    steps = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in result["breakdown"].items())
    print(f"  steps (median of 5): {steps}")
    return {"ingest_ratio": round(app / ref, 2)}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(json.dumps(main(sys.argv[1:])))

// Canvas editor for Edit and Upload & paint: a larger canvas with the image
// placed on it. Drag the image to move it, drag a corner handle to scale it
// (the aspect ratio is kept; hold Shift to change it), drag a handle on the
// canvas's edge to make the canvas larger or smaller on that side (on the left
// or top the image keeps its place on the picture), or type the numbers. It writes, in canvas pixels,
//   canvas  {"width": W, "height": H}
//   img_pos {"width": w, "height": h, "x": x, "y": y}
// into the form's hidden [data-canvas-input] and [data-img-pos-input]. The
// numeric fields are the same values, the keyboard's way in, and what the
// server reads without JavaScript. The optional mask is drawn on the same SVG
// by mask-editor.js. The catalog's rules (the ranges in data-limits, and that
// the image must overlap the canvas) are named in [data-editor-rules] as soon
// as they are broken; editor-dialog.js keeps such a form from being sent.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HANDLE_PX = 22; // on screen, whatever the canvas's scale: a finger can hold it
  const MIN_SIDE = 16; // canvas pixels: smaller than this, a drag has lost the image
  // Which corner each handle is, as fractions of the image's box.
  const CORNERS = { nw: [0, 0], ne: [1, 0], sw: [0, 1], se: [1, 1] };
  // The canvas's edge handles: where each sits, as fractions of the canvas.
  const EDGES = { n: [0.5, 0], e: [1, 0.5], s: [0.5, 1], w: [0, 0.5] };
  const DEFAULT_LIMITS = { width: [1, 8192], height: [1, 8192], x: [-8192, 8192], y: [-8192, 8192] };

  const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

  class CanvasEditor {
    constructor(form) {
      this.form = form;
      this.svg = document.querySelector(form.dataset.surface);
      this.bg = this.svg.querySelector(".canvas-bg");
      this.picture = this.svg.querySelector(".canvas-image");
      this.outline = this.svg.querySelector(".canvas-outline");
      this.canvasInput = form.querySelector("[data-canvas-input]");
      this.imgPosInput = form.querySelector("[data-img-pos-input]");
      this.rulesList = form.querySelector("[data-editor-rules]");
      this.limits = { ...DEFAULT_LIMITS, ...JSON.parse(form.dataset.limits || "{}") };
      this.fields = {};
      form.querySelectorAll("[data-canvas-field]").forEach((field) => {
        this.fields[field.dataset.canvasField] = field;
      });
      this.ratio = Number(form.dataset.imageWidth) / Number(form.dataset.imageHeight) || 1;
      this.handles = Object.keys(CORNERS).map((corner) => {
        const handle = document.createElementNS(SVG_NS, "rect");
        handle.setAttribute("class", `canvas-handle handle-${corner}`);
        handle.dataset.handle = corner;
        this.svg.append(handle);
        return handle;
      });
      this.edges = Object.keys(EDGES).map((edge) => {
        const handle = document.createElementNS(SVG_NS, "rect");
        handle.setAttribute("class", `canvas-edge edge-${edge}`);
        handle.dataset.edge = edge;
        this.svg.append(handle);
        return handle;
      });
      this.moving = true; // the Move tool; a mask tool hands the pointer to the mask editor
      this.drag = null;
      this.state = this.readFields();

      form.querySelectorAll("[data-js-only]").forEach((node) => { node.hidden = false; });
      form.addEventListener("click", (event) => this.onClick(event));
      form.addEventListener("input", (event) => {
        if (event.target.matches("[data-canvas-field]")) this.onField();
      });
      form.addEventListener("editor-open", () => this.render({ fields: false }));
      this.svg.addEventListener("pointerdown", (event) => this.onDown(event));
      this.svg.addEventListener("pointermove", (event) => this.onMove(event));
      this.svg.addEventListener("pointerup", () => this.endDrag());
      this.svg.addEventListener("pointercancel", () => this.endDrag());
      this.svg.classList.add("is-moving");
      window.addEventListener("resize", () => this.render({ fields: false }));
      this.render();
    }

    // The fields as typed: a number that breaks a rule is kept, to be named.
    readFields() {
      const number = (key) => {
        const raw = this.fields[key]?.value.trim() ?? "";
        return /^-?\d+$/.test(raw) ? Number(raw) : NaN;
      };
      return {
        canvas: { width: number("canvas.width"), height: number("canvas.height") },
        img: { x: number("img.x"), y: number("img.y"), width: number("img.width"), height: number("img.height") },
      };
    }

    // The catalog's rules, worded as the server words them (gallery/operations.py).
    rules() {
      const broken = [];
      const { canvas, img } = this.state;
      for (const [name, box] of [["canvas", canvas], ["img_pos", img]]) {
        for (const key of Object.keys(box)) {
          const [low, high] = this.limits[key];
          if (!Number.isInteger(box[key]) || box[key] < low || box[key] > high) {
            broken.push(`${name}.${key} must be a whole number from ${low} to ${high}`);
          }
        }
      }
      if (broken.length) return broken;
      if (img.x >= canvas.width || img.y >= canvas.height || img.x + img.width <= 0 || img.y + img.height <= 0) {
        broken.push(
          `The image (${img.width}×${img.height} at ${img.x}, ${img.y}) lies outside the ` +
          `${canvas.width}×${canvas.height} canvas; place at least part of it on the canvas`,
        );
      }
      return broken;
    }

    // What Cancel in the editor's dialog puts back.
    snapshot() {
      return JSON.parse(JSON.stringify(this.state));
    }

    restore(state) {
      const before = this.state.canvas;
      this.state = state;
      this.render();
      this.announceFrame(before);
    }

    onField() {
      const before = this.state.canvas;
      this.state = this.readFields();
      this.render({ fields: false });
      this.announceFrame(before);
    }

    announceFrame(before) {
      if (before.width !== this.state.canvas.width || before.height !== this.state.canvas.height) {
        this.svg.dispatchEvent(new CustomEvent("framechange"));
      }
    }

    onClick(event) {
      const tool = event.target.closest("button[data-tool]")?.dataset.tool;
      if (tool) {
        this.moving = tool === "move";
        this.svg.classList.toggle("is-moving", this.moving);
        return;
      }
      const action = event.target.closest("[data-canvas-action]")?.dataset.canvasAction;
      if (!action || this.rules().some((rule) => !rule.startsWith("The image"))) return;
      const { canvas, img } = this.state;
      if (action === "fit") {
        // As large as fits on the canvas, centred.
        img.width = Math.max(1, Math.floor(Math.min(canvas.width, canvas.height * this.ratio)));
        img.height = Math.max(1, Math.round(img.width / this.ratio));
      } else if (action !== "center") {
        return;
      }
      img.x = Math.round((canvas.width - img.width) / 2);
      img.y = Math.round((canvas.height - img.height) / 2);
      this.render();
      this.changed();
    }

    toCanvas(event) {
      const point = this.svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      const p = point.matrixTransform(this.svg.getScreenCTM().inverse());
      return [p.x, p.y];
    }

    onDown(event) {
      if (!this.moving || event.button > 0 || this.rules().some((rule) => !rule.startsWith("The image"))) return;
      const edge = event.target.dataset?.edge;
      if (edge) {
        // Measured against the scale when the drag began: the canvas's own
        // drawing rescales as it grows, and the pointer must not chase it.
        event.preventDefault();
        this.svg.setPointerCapture(event.pointerId);
        const { canvas, img } = this.state;
        this.drag = {
          edge,
          from: [event.clientX, event.clientY],
          perPixel: this.perPixel(canvas),
          start: { canvas: { ...canvas }, img: { ...img } },
        };
        return;
      }
      const [x, y] = this.toCanvas(event);
      const { img } = this.state;
      const corner = event.target.dataset?.handle;
      const onImage = x >= img.x && x <= img.x + img.width && y >= img.y && y <= img.y + img.height;
      if (!corner && !onImage) return;
      event.preventDefault();
      this.svg.setPointerCapture(event.pointerId);
      this.drag = { corner, from: [x, y], start: { ...img } };
    }

    onMove(event) {
      if (!this.drag) return;
      if (this.drag.edge) {
        this.resizeCanvas(event);
        return;
      }
      const [x, y] = this.toCanvas(event);
      const { canvas, img } = this.state;
      const { start, from, corner } = this.drag;
      if (corner) {
        // The opposite corner stays where it is; the pointer pulls this one.
        const [fx, fy] = CORNERS[corner];
        const anchorX = start.x + (1 - fx) * start.width;
        const anchorY = start.y + (1 - fy) * start.height;
        let width = clamp(Math.abs(start.x + fx * start.width + (x - from[0]) - anchorX), MIN_SIDE, this.limits.width[1]);
        let height = clamp(Math.abs(start.y + fy * start.height + (y - from[1]) - anchorY), MIN_SIDE, this.limits.height[1]);
        if (!event.shiftKey) {
          // The ratio is kept, led by the larger pull.
          width = Math.max(width, height * this.ratio);
          height = width / this.ratio;
        }
        img.width = Math.round(width);
        img.height = Math.round(height);
        img.x = Math.round(fx ? anchorX : anchorX - width);
        img.y = Math.round(fy ? anchorY : anchorY - height);
      } else {
        // Keep at least a tenth of the image on the canvas, so it cannot be lost.
        img.x = Math.round(clamp(start.x + (x - from[0]), -0.9 * img.width, canvas.width - 0.1 * img.width));
        img.y = Math.round(clamp(start.y + (y - from[1]), -0.9 * img.height, canvas.height - 0.1 * img.height));
      }
      this.render();
    }

    // An edge handle pulls that side of the canvas; the opposite side stays.
    // Pulled on the left or top, the image moves with the picture, not the frame.
    resizeCanvas(event) {
      const { edge, from, perPixel, start } = this.drag;
      const { canvas, img } = this.state;
      const [low, high] = [MIN_SIDE, this.limits.width[1]];
      const dx = Math.round((event.clientX - from[0]) * perPixel);
      const dy = Math.round((event.clientY - from[1]) * perPixel);
      if (edge === "e") canvas.width = clamp(start.canvas.width + dx, low, high);
      if (edge === "s") canvas.height = clamp(start.canvas.height + dy, low, this.limits.height[1]);
      if (edge === "w") {
        canvas.width = clamp(start.canvas.width - dx, low, high);
        img.x = start.img.x + (canvas.width - start.canvas.width);
      }
      if (edge === "n") {
        canvas.height = clamp(start.canvas.height - dy, low, this.limits.height[1]);
        img.y = start.img.y + (canvas.height - start.canvas.height);
      }
      this.render();
    }

    endDrag() {
      if (!this.drag) return;
      const before = this.drag.edge ? this.drag.start.canvas : null;
      this.drag = null;
      if (before) this.announceFrame(before);
      this.changed();
    }

    // The price and the server's own check follow the fields (htmx listens for input).
    changed() {
      this.fields["img.x"]?.dispatchEvent(new Event("input", { bubbles: true }));
    }

    render({ fields = true } = {}) {
      const { canvas, img } = this.state;
      const side = (value) => (Number.isInteger(value) ? clamp(value, 1, this.limits.width[1]) : 1);
      const shownCanvas = { x: 0, y: 0, width: side(canvas.width), height: side(canvas.height) };
      const shownImg = {
        x: Number.isInteger(img.x) ? img.x : 0,
        y: Number.isInteger(img.y) ? img.y : 0,
        width: side(img.width),
        height: side(img.height),
      };
      this.svg.setAttribute("viewBox", `0 0 ${shownCanvas.width} ${shownCanvas.height}`);
      for (const [node, box] of [[this.bg, shownCanvas], [this.picture, shownImg], [this.outline, shownImg]]) {
        if (!node) continue;
        for (const key of ["x", "y", "width", "height"]) node.setAttribute(key, box[key]);
      }
      this.placeHandles(shownCanvas, shownImg);
      if (fields) {
        const values = {
          "canvas.width": canvas.width,
          "canvas.height": canvas.height,
          "img.x": img.x,
          "img.y": img.y,
          "img.width": img.width,
          "img.height": img.height,
        };
        for (const [key, value] of Object.entries(values)) {
          if (this.fields[key] && Number.isFinite(value)) this.fields[key].value = value;
        }
      }
      this.canvasInput.value = JSON.stringify({ width: canvas.width, height: canvas.height });
      this.imgPosInput.value = JSON.stringify({ width: img.width, height: img.height, x: img.x, y: img.y });
      this.showRules();
    }

    // Canvas pixels per screen pixel, from the drawn box.
    perPixel(canvas) {
      const box = this.svg.getBoundingClientRect();
      return box.width > 0 ? Math.max(canvas.width / box.width, canvas.height / box.height) : canvas.width * 0.002;
    }

    placeHandles(canvas, img) {
      // A fixed size on screen, whatever the canvas's scale.
      const size = HANDLE_PX * this.perPixel(canvas);
      for (const handle of this.edges) {
        const [fx, fy] = EDGES[handle.dataset.edge];
        const across = fx === 0.5; // n and s: a bar lying along the edge
        const [w, h] = across ? [size * 1.8, size * 0.7] : [size * 0.7, size * 1.8];
        handle.setAttribute("x", canvas.width * fx - w / 2);
        handle.setAttribute("y", canvas.height * fy - h / 2);
        handle.setAttribute("width", w);
        handle.setAttribute("height", h);
        handle.setAttribute("rx", Math.min(w, h) / 2);
      }
      for (const handle of this.handles) {
        const [fx, fy] = CORNERS[handle.dataset.handle];
        handle.setAttribute("x", img.x + fx * img.width - size / 2);
        handle.setAttribute("y", img.y + fy * img.height - size / 2);
        handle.setAttribute("width", size);
        handle.setAttribute("height", size);
      }
    }

    showRules() {
      if (!this.rulesList) return;
      const rules = this.rules();
      const same = rules.join("\n") === Array.from(this.rulesList.children, (li) => li.textContent).join("\n");
      if (same) return; // a drag re-renders often; the live region speaks only on change
      this.rulesList.replaceChildren(...rules.map((text) => {
        const item = document.createElement("li");
        item.className = "lint-error";
        item.textContent = text;
        return item;
      }));
    }
  }

  function start() {
    document.querySelectorAll("form[data-canvas-editor]").forEach((form) => {
      if (!form.canvasEditor && document.querySelector(form.dataset.surface)) {
        form.canvasEditor = new CanvasEditor(form);
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

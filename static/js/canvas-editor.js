// Canvas editor for Edit: a larger canvas with the image placed on it. Drag the
// image to move it, drag its corner handle to resize it (the aspect ratio is
// kept), or type the numbers. It writes, in canvas pixels,
//   canvas  {"width": W, "height": H}
//   img_pos {"width": w, "height": h, "x": x, "y": y}
// into the form's hidden [data-canvas-input] and [data-img-pos-input]. The
// numeric fields are the same values and what the server reads without
// JavaScript. The optional mask is drawn on the same SVG by mask-editor.js.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MAX_SIDE = 8192;

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
      this.fields = {};
      form.querySelectorAll("[data-canvas-field]").forEach((field) => {
        this.fields[field.dataset.canvasField] = field;
      });
      this.ratio = Number(form.dataset.imageWidth) / Number(form.dataset.imageHeight) || 1;
      this.handle = document.createElementNS(SVG_NS, "rect");
      this.handle.setAttribute("class", "canvas-handle");
      this.svg.append(this.handle);
      this.moving = true; // the Move tool; a mask tool hands the pointer to the mask editor
      this.drag = null;
      this.state = this.readFields();

      form.querySelectorAll("[data-js-only]").forEach((node) => { node.hidden = false; });
      form.addEventListener("click", (event) => this.onClick(event));
      form.addEventListener("input", (event) => {
        if (event.target.matches("[data-canvas-field]")) this.onField();
      });
      this.svg.addEventListener("pointerdown", (event) => this.onDown(event));
      this.svg.addEventListener("pointermove", (event) => this.onMove(event));
      this.svg.addEventListener("pointerup", () => { this.drag = null; });
      this.svg.addEventListener("pointercancel", () => { this.drag = null; });
      this.svg.classList.add("is-moving");
      this.render();
    }

    readFields() {
      const number = (key, fallback) => {
        const value = Number.parseInt(this.fields[key]?.value ?? "", 10);
        return Number.isFinite(value) ? value : fallback;
      };
      const canvas = {
        width: clamp(number("canvas.width", 1536), 1, MAX_SIDE),
        height: clamp(number("canvas.height", 1536), 1, MAX_SIDE),
      };
      const img = {
        x: number("img.x", 0),
        y: number("img.y", 0),
        width: clamp(number("img.width", 1024), 1, MAX_SIDE),
        height: clamp(number("img.height", 1024), 1, MAX_SIDE),
      };
      return { canvas, img };
    }

    onField() {
      const before = this.state.canvas;
      this.state = this.readFields();
      this.render({ fields: false });
      if (before.width !== this.state.canvas.width || before.height !== this.state.canvas.height) {
        this.svg.dispatchEvent(new CustomEvent("framechange"));
      }
    }

    onClick(event) {
      const tool = event.target.closest("[data-tool]")?.dataset.tool;
      if (tool) {
        this.moving = tool === "move";
        this.svg.classList.toggle("is-moving", this.moving);
        return;
      }
      const action = event.target.closest("[data-canvas-action]")?.dataset.canvasAction;
      const { canvas, img } = this.state;
      if (action === "center") {
        img.x = Math.round((canvas.width - img.width) / 2);
        img.y = Math.round((canvas.height - img.height) / 2);
      } else if (action === "fit") {
        // As large as fits on the canvas, centred.
        const scale = Math.min(canvas.width / img.width, canvas.height / img.height);
        img.width = Math.max(1, Math.round(img.width * scale));
        img.height = Math.max(1, Math.round(img.width / this.ratio));
        img.x = Math.round((canvas.width - img.width) / 2);
        img.y = Math.round((canvas.height - img.height) / 2);
      } else {
        return;
      }
      this.render();
    }

    toCanvas(event) {
      const point = this.svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      const p = point.matrixTransform(this.svg.getScreenCTM().inverse());
      return [p.x, p.y];
    }

    onDown(event) {
      if (!this.moving || event.button > 0) return;
      const [x, y] = this.toCanvas(event);
      const { img } = this.state;
      const onHandle = event.target === this.handle;
      const onImage = x >= img.x && x <= img.x + img.width && y >= img.y && y <= img.y + img.height;
      if (!onHandle && !onImage) return;
      event.preventDefault();
      this.svg.setPointerCapture(event.pointerId);
      this.drag = { resize: onHandle, from: [x, y], start: { ...img } };
    }

    onMove(event) {
      if (!this.drag) return;
      const [x, y] = this.toCanvas(event);
      const { canvas, img } = this.state;
      const { start, from } = this.drag;
      if (this.drag.resize) {
        // The top-left corner stays; the ratio is kept, led by the larger pull.
        const width = Math.max(16, start.width + (x - from[0]), (start.height + (y - from[1])) * this.ratio);
        img.width = Math.round(clamp(width, 16, MAX_SIDE));
        img.height = Math.max(1, Math.round(img.width / this.ratio));
      } else {
        // Keep at least a tenth of the image on the canvas, so it cannot be lost.
        img.x = Math.round(clamp(start.x + (x - from[0]), -0.9 * img.width, canvas.width - 0.1 * img.width));
        img.y = Math.round(clamp(start.y + (y - from[1]), -0.9 * img.height, canvas.height - 0.1 * img.height));
      }
      this.render();
    }

    render({ fields = true } = {}) {
      const { canvas, img } = this.state;
      this.svg.setAttribute("viewBox", `0 0 ${canvas.width} ${canvas.height}`);
      for (const [node, box] of [[this.bg, { x: 0, y: 0, ...canvas }], [this.picture, img], [this.outline, img]]) {
        if (!node) continue;
        for (const key of ["x", "y", "width", "height"]) node.setAttribute(key, box[key]);
      }
      const size = Math.max(canvas.width, canvas.height) * 0.035;
      this.handle.setAttribute("x", img.x + img.width - size / 2);
      this.handle.setAttribute("y", img.y + img.height - size / 2);
      this.handle.setAttribute("width", size);
      this.handle.setAttribute("height", size);
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
          if (this.fields[key]) this.fields[key].value = value;
        }
      }
      this.canvasInput.value = JSON.stringify({ width: canvas.width, height: canvas.height });
      this.imgPosInput.value = JSON.stringify({ width: img.width, height: img.height, x: img.x, y: img.y });
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

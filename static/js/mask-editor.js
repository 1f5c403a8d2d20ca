// Mask editor: mark the areas to redraw with rectangles, polygons or freehand
// strokes, over the image (Vary region) or over the edit canvas (Edit).
//
// A form with [data-mask-editor] names its drawing surface in data-surface: an
// <svg> whose viewBox is the frame in pixels (the image's size, or the
// canvas's). Areas are kept in those coordinates and written to the form's
// hidden [data-mask-input] as the API expects:
//   {"areas": [{"width": W, "height": H, "points": [x1, y1, x2, y2, ...]}]}
// W×H is the frame; a freehand stroke is simplified to a polygon first. With no
// area the input is empty, and the form's rectangle fields (also the no-JS
// fallback) are what the server reads.
"use strict";

(() => {
  const SVG_NS = "http://www.w3.org/2000/svg";
  const MIN_DRAG = 6; // screen pixels: a shape narrower than this is a slip, not an area
  const CLOSE_DISTANCE = 12; // screen pixels from the first point that close a polygon
  const HINTS = {
    rect: "Drag over the image to mark a rectangle.",
    polygon: "Click the corners; click the first one again or press Enter to close.",
    freehand: "Hold and draw around the area to change.",
  };

  // The server's rule too (gallery/operations.py, _placement_issues): an area
  // must enclose something, or it is paid for and redraws nothing.
  const NO_AREA = "This shape has no area: draw a shape, not a line or a dot.";

  const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

  // The shoelace formula, as the server computes it, in frame pixels.
  function area(points) {
    let twice = 0;
    for (let i = 0; i < points.length; i += 1) {
      const [x0, y0] = points[i === 0 ? points.length - 1 : i - 1];
      const [x1, y1] = points[i];
      twice += x1 * y0 - x0 * y1;
    }
    return Math.abs(twice) / 2;
  }

  function svgElement(name, attrs = {}) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    return node;
  }

  function frameOf(svg) {
    const box = svg.viewBox.baseVal;
    return { width: Math.round(box.width), height: Math.round(box.height) };
  }

  // Perpendicular distance of p from the line through a and b.
  function distance(p, a, b) {
    const dx = b[0] - a[0];
    const dy = b[1] - a[1];
    const length = Math.hypot(dx, dy);
    if (length === 0) return Math.hypot(p[0] - a[0], p[1] - a[1]);
    return Math.abs(dy * p[0] - dx * p[1] + b[0] * a[1] - b[1] * a[0]) / length;
  }

  // Ramer–Douglas–Peucker: hundreds of stroke points become a polygon of a few
  // dozen that stays within `tolerance` pixels of the stroke.
  function simplify(points, tolerance) {
    if (points.length < 3) return points.slice();
    let worst = 0;
    let index = 0;
    const last = points.length - 1;
    for (let i = 1; i < last; i += 1) {
      const d = distance(points[i], points[0], points[last]);
      if (d > worst) {
        worst = d;
        index = i;
      }
    }
    if (worst <= tolerance) return [points[0], points[last]];
    const left = simplify(points.slice(0, index + 1), tolerance);
    const right = simplify(points.slice(index), tolerance);
    return left.slice(0, -1).concat(right);
  }

  function pointsAttr(points) {
    return points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  }

  class MaskEditor {
    constructor(root) {
      this.root = root;
      this.svg = document.querySelector(root.dataset.surface);
      this.input = root.querySelector("[data-mask-input]");
      this.status = root.querySelector("[data-mask-status]");
      // The no-JavaScript wording is replaced by the editor's own (data-idle).
      this.idleStatus = this.status ? this.status.dataset.idle || this.status.textContent : "";
      this.hint = this.svg.parentElement.querySelector(".stage-hint");
      this.toggles = !root.querySelector('button[data-tool="move"]'); // no move tool: a tool can be switched off
      this.areas = [];
      this.tool = null;
      this.draft = null; // the shape being drawn: {tool, points}
      this.layer = svgElement("g", { class: "mask-areas" });
      this.preview = svgElement("polygon", { class: "mask-draft" });
      this.guide = svgElement("polyline", { class: "mask-guide" });
      this.layer.append(this.preview, this.guide);
      this.svg.append(this.layer);

      root.querySelectorAll("[data-js-only]").forEach((node) => { node.hidden = false; });
      root.querySelector("[data-fallback]")?.removeAttribute("open");
      root.addEventListener("click", (event) => this.onClick(event));
      this.svg.addEventListener("pointerdown", (event) => this.onDown(event));
      this.svg.addEventListener("pointermove", (event) => this.onMove(event));
      this.svg.addEventListener("pointerup", (event) => this.onUp(event));
      this.svg.addEventListener("pointercancel", () => this.cancelDraft());
      this.svg.addEventListener("dblclick", (event) => {
        if (this.tool === "polygon") {
          event.preventDefault();
          this.closePolygon();
        }
      });
      this.svg.addEventListener("framechange", () => this.write());
      document.addEventListener("keydown", (event) => this.onKey(event));
      this.render();
    }

    // --- tools ---------------------------------------------------------------------

    onClick(event) {
      const toolButton = event.target.closest("button[data-tool]");
      if (toolButton && this.root.contains(toolButton)) {
        const tool = toolButton.dataset.tool === "move" ? null : toolButton.dataset.tool;
        this.setTool(this.toggles && tool === this.tool ? null : tool);
        return;
      }
      const action = event.target.closest("[data-mask-action]")?.dataset.maskAction;
      if (action === "undo") this.undo();
      else if (action === "clear") this.clear();
      else if (action === "add-rect") this.addRectangleFromFields();
    }

    setTool(tool) {
      this.cancelDraft();
      this.tool = tool;
      this.root.querySelectorAll("button[data-tool]").forEach((button) => {
        button.setAttribute("aria-pressed", String(button.dataset.tool === (tool ?? "move")));
      });
      this.svg.classList.toggle("is-drawing", Boolean(tool));
      this.svg.dataset.tool = tool ?? "";
      if (this.hint) {
        this.hint.hidden = !tool;
        const text = this.hint.querySelector("[data-hint-text]");
        if (text && tool) text.textContent = HINTS[tool];
      }
      this.say(tool ? HINTS[tool] : null);
      if (tool && this.hint) {
        // On a phone the image is above the panel: bring it into view to draw.
        const box = this.svg.getBoundingClientRect();
        if (box.top < 0 || box.bottom > window.innerHeight) {
          this.svg.scrollIntoView({ block: "center", behavior: "smooth" });
        }
      }
    }

    // --- pointer -----------------------------------------------------------------------

    toFrame(event) {
      const point = this.svg.createSVGPoint();
      point.x = event.clientX;
      point.y = event.clientY;
      const p = point.matrixTransform(this.svg.getScreenCTM().inverse());
      const frame = frameOf(this.svg);
      return [clamp(p.x, 0, frame.width), clamp(p.y, 0, frame.height)];
    }

    // Frame pixels per screen pixel, to turn screen distances into frame ones.
    scale() {
      const box = this.svg.getBoundingClientRect();
      const frame = frameOf(this.svg);
      return Math.max(frame.width / (box.width || 1), frame.height / (box.height || 1));
    }

    onDown(event) {
      if (!this.tool || event.button > 0) return;
      event.preventDefault();
      const point = this.toFrame(event);
      if (this.tool === "polygon") {
        this.addPolygonPoint(point);
        return;
      }
      this.svg.setPointerCapture(event.pointerId);
      this.draft = { tool: this.tool, start: point, points: [point] };
    }

    onMove(event) {
      if (!this.tool) return;
      const point = this.toFrame(event);
      if (this.tool === "polygon") {
        if (this.draft) this.guide.setAttribute("points", pointsAttr([...this.draft.points, point]));
        return;
      }
      if (!this.draft) return;
      if (this.draft.tool === "rect") {
        const [x0, y0] = this.draft.start;
        this.draft.points = [[x0, y0], [point[0], y0], point, [x0, point[1]]];
      } else {
        this.draft.points.push(point);
      }
      this.preview.setAttribute("points", pointsAttr(this.draft.points));
    }

    onUp(event) {
      if (!this.draft || this.tool === "polygon") return;
      const draft = this.draft;
      this.cancelDraft();
      // A closed freehand loop ends where it began: judge the shape by its extent.
      const xs = draft.points.map((p) => p[0]);
      const ys = draft.points.map((p) => p[1]);
      const extent = Math.min(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
      if (extent < MIN_DRAG * this.scale()) {
        this.say(NO_AREA);
        return;
      }
      if (draft.tool === "rect") {
        this.commit(draft.points);
      } else {
        this.commit(simplify(draft.points, 1.5 * this.scale()));
      }
    }

    addPolygonPoint(point) {
      if (!this.draft) {
        this.draft = { tool: "polygon", points: [point] };
      } else {
        const first = this.draft.points[0];
        const near = Math.hypot(point[0] - first[0], point[1] - first[1]) <= CLOSE_DISTANCE * this.scale();
        if (near && this.draft.points.length >= 3) {
          this.closePolygon();
          return;
        }
        this.draft.points.push(point);
      }
      this.preview.setAttribute("points", pointsAttr(this.draft.points));
      this.say(`${this.draft.points.length} corner${this.draft.points.length === 1 ? "" : "s"}; ${HINTS.polygon}`);
    }

    closePolygon() {
      if (!this.draft || this.draft.tool !== "polygon") return;
      const points = this.draft.points;
      this.cancelDraft();
      if (points.length >= 3) this.commit(points);
      else this.say("A polygon needs at least three corners.");
    }

    onKey(event) {
      if (!this.draft || this.draft.tool !== "polygon") return;
      if (event.key === "Enter") {
        event.preventDefault();
        this.closePolygon();
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.cancelDraft();
        this.say(HINTS.polygon);
      } else if (event.key === "Backspace" && this.draft.points.length > 1) {
        event.preventDefault();
        this.draft.points.pop();
        this.preview.setAttribute("points", pointsAttr(this.draft.points));
      }
    }

    cancelDraft() {
      this.draft = null;
      this.preview.setAttribute("points", "");
      this.guide.setAttribute("points", "");
    }

    // --- areas ---------------------------------------------------------------------------

    commit(points) {
      const rounded = points.map(([x, y]) => [Math.round(x), Math.round(y)]);
      if (rounded.length < 3 || area(rounded) < 1) {
        this.say(NO_AREA);
        return;
      }
      this.areas.push(rounded);
      this.render();
    }

    // What Cancel in the editor's dialog puts back.
    snapshot() {
      return this.areas.map((points) => points.map((p) => p.slice()));
    }

    restore(areas) {
      this.cancelDraft();
      this.areas = areas;
      this.render();
    }

    undo() {
      if (this.draft) this.cancelDraft();
      else this.areas.pop();
      this.render();
    }

    clear() {
      this.cancelDraft();
      this.areas = [];
      this.render();
    }

    addRectangleFromFields() {
      const read = (name) => Number.parseInt(this.root.querySelector(`[name="${name}"]`)?.value ?? "", 10);
      const frame = frameOf(this.svg);
      const x = clamp(read("rect_x") || 0, 0, frame.width);
      const y = clamp(read("rect_y") || 0, 0, frame.height);
      const right = clamp(x + (read("rect_width") || 0), 0, frame.width);
      const bottom = clamp(y + (read("rect_height") || 0), 0, frame.height);
      if (right <= x || bottom <= y) {
        this.say("Give the rectangle a width and a height inside the image.");
        return;
      }
      this.commit([[x, y], [right, y], [right, bottom], [x, bottom]]);
      // The drawn mask now carries it; the fields would only add it twice.
      for (const name of ["rect_width", "rect_height"]) {
        const field = this.root.querySelector(`[name="${name}"]`);
        if (field) field.value = "";
      }
    }

    render() {
      this.layer.querySelectorAll(".mask-area").forEach((node) => node.remove());
      for (const area of this.areas) {
        this.layer.insertBefore(svgElement("polygon", { class: "mask-area", points: pointsAttr(area) }), this.preview);
      }
      this.root.querySelectorAll('[data-mask-action="undo"], [data-mask-action="clear"]').forEach((button) => {
        button.disabled = this.areas.length === 0;
      });
      this.write();
      const count = this.areas.length;
      if (count) this.say(`${count} area${count === 1 ? "" : "s"} marked.${this.tool ? " " + HINTS[this.tool] : ""}`);
      else if (!this.tool) this.say(null);
    }

    write() {
      if (!this.areas.length) {
        this.input.value = "";
        return;
      }
      const frame = frameOf(this.svg);
      const areas = this.areas.map((points) => ({
        width: frame.width,
        height: frame.height,
        points: points.flat(),
      }));
      this.input.value = JSON.stringify({ areas });
    }

    say(text) {
      if (this.status) this.status.textContent = text ?? this.idleStatus;
    }
  }

  function start() {
    document.querySelectorAll("form[data-mask-editor]").forEach((root) => {
      if (!root.maskEditor && document.querySelector(root.dataset.surface)) {
        root.maskEditor = new MaskEditor(root);
      }
    });
  }

  window.mjweb = Object.assign(window.mjweb || {}, { simplify });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

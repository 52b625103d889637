// The latent pad: the map of codes, the digit under the cursor, sliders and a drawing canvas, with the model
// run in the page by ONNX Runtime Web. The server hears only of pins, kept drawings and a runtime that failed.
// This module lays the parts out and passes events between them; each part is a module of its own.

import { DrawingCanvas } from "./canvas.js";
import { el, paintDigit } from "./dom.js";
import { MapView } from "./mapview.js";
import { Model } from "./model.js";
import { lift, posteriorRing, priorRings, project } from "./plane.js";
import { prepareDigit } from "./prepare.js";
import { Latest } from "./requests.js";
import { ServerLink } from "./server.js";
import { Sliders, clamp, codeWithSlider, sliderValues } from "./sliders.js";

class Pad {
  constructor(root) {
    this.root = root;
    // Milliseconds from the pointermove handler (and from the input's own timestamp, which Chrome
    // delivers aligned to the next frame) to the digit or the mark painted, for the bench and the tests.
    this.stats = { hover: [], hoverInput: [], stroke: [], strokeInput: [] };
    this.hovers = [];  // [handler time, input time] of hover moves not painted yet
    this.server = new ServerLink();
    this.work = new Latest({ draw: (job) => this.runDrawing(job), digit: (job) => this.runDigit(job) });
    this.build();
  }

  build() {
    this.root.querySelectorAll(".pad").forEach((old) => old.remove());  // a pad this root held before
    const r = el("div", "pad", this.root);
    this.status = el("div", "status", r, "Loading the model runtime…");
    const row = el("div", "row", r);
    const left = el("div", "mapcol", row);
    this.view = new MapView(left);
    const side = el("div", "side", row);
    const pics = el("div", "pics", side);
    const f1 = el("figure", "", pics);
    this.digit = el("canvas", "digit", f1);
    this.digit.width = this.digit.height = 28;
    this.digitCap = el("figcaption", "", f1, "");
    this.drawing = new DrawingCanvas(el("figure", "", pics), {
      stroke: (t0, input, first) => {
        if (first) this.view.marks.trail = [];
        this.work.request("draw", { t0, input });
      },
      undo: (left) => {
        this.view.marks.trail.pop();
        if (left) this.work.request("draw", { t0: performance.now(), input: performance.now() });
        else this.afterClear();
      },
      clear: () => this.afterClear(),
      keep: () => this.keep(),
    });
    this.sliders = new Sliders(side);
    this.listen();
    new ResizeObserver(() => this.view.layout()).observe(left);
  }

  update(data, setStateValue, setTriggerValue) {
    this.server.bind(setStateValue, setTriggerValue);
    // Absolute addresses: the module's own is a blob: URL, against which a path resolves to nothing.
    data = { ...data, ort: new URL(data.ort, location.href).href, files: new URL(data.files, location.href).href };
    const old = this.data;
    this.data = data;
    this.pinned = data.pin.slice();
    if (!old || data.files !== old.files) {
      this.info = this.model = this.map = null;
      this.ready = this.drawing.enabled = false;
      this.view.scene.hidden.clear();
      this.load();
    } else if (this.info) {
      if (old.painted !== data.painted || old.prior !== data.prior) this.showScene();
      this.sliders.show(sliderValues(this.axes, this.pinned));
      this.showPin();
      if (!this.hovering && !this.drawing.strokes.length) this.showCode(this.pinned, "Pinned spot");
    }
  }

  async load() {
    const d = this.data, files = d.files;
    try {
      const model = await Model.load(d.ort, files, d.mapped, (text) => { this.status.textContent = text; });
      if (files !== this.data.files) return;  // another model was picked meanwhile
      const { info, map } = model;
      Object.assign(this, { model, info, map });
      this.picture = null;
      if (d.mapped && d.paintedFile) {
        const img = new Image();
        img.onload = () => { this.picture = img; this.showScene(); };
        img.src = files + "painted.png";
      }
      this.status.textContent = "";
      this.status.hidden = true;
      const dims = info.latent_dim;
      this.axes = d.perDim ? { perDim: true, ranges: info.code_ranges.slice(0, d.labels.length) }
        : { perDim: false, ranges: [info.x_range, info.y_range], plane: info.plane };
      Object.assign(this.view.scene, { xRange: this.mapped ? info.x_range : null, yRange: info.y_range,
        axes: dims === 2 ? ["z1", "z2"] : ["PC1", "PC2"], names: d.names, palette: d.palette,
        points: map?.points, labels: map?.labels });
      if (this.mapped) this.view.buildLegend(); else this.view.legend.replaceChildren();
      this.sliders.build(d.sliderTitle, d.labels, this.axes.ranges,
        (i, v) => { this.clearMark(); this.work.request("digit", { code: codeWithSlider(this.axes, this.pinned, i, v),
          caption: "From the sliders" }); },
        (i, v) => this.pin(codeWithSlider(this.axes, this.pinned, i, v)));
      this.sliders.show(sliderValues(this.axes, this.pinned));
      this.showScene();
      this.showPin();
      this.view.layout();
      this.showCode(this.pinned, "Pinned spot");
      this.drawing.enabled = this.ready = true;
      globalThis.aelibPad = this;  // the pad at work, for the browser tests and the bench: stats, decode, drawing
    } catch (err) {
      this.failed = String(err && err.message ? err.message : err);
      this.status.textContent = "The model could not run in this browser: " + this.failed;
      this.server.failed(this.failed);
    }
  }

  get mapped() { return Boolean(this.map && this.info.x_range); }

  // What the map's base layer shows: the painted plane and the prior's Gaussians, each as its toggle says.
  showScene() {
    const s = this.view.scene;
    s.painted = this.data.painted ? this.picture : null;
    s.rings = this.data.prior && this.info.prior ? priorRings(this.info.prior) : null;
    this.view.drawBase();
  }

  showPin() {
    this.view.marks.pin = this.mapped ? project(this.info.plane, this.pinned) : null;
    this.view.drawOverlay();
  }

  pin(code) {
    this.pinned = clamp(this.axes, code);
    this.sliders.show(sliderValues(this.axes, this.pinned));
    this.showPin();
    this.server.pin(this.pinned, this.mapped ? project(this.info.plane, this.pinned) : [0, 0]);
  }

  keep() {
    if (!this.prepared || !this.drawing.strokes.length) {
      this.drawing.say("Nothing to keep yet: draw a digit first.");
      return;
    }
    this.pinned = clamp(this.axes, this.drawnCode);
    this.sliders.show(sliderValues(this.axes, this.pinned));
    this.server.keep(this.prepared);
    this.drawing.say("Kept: the server has it, and it is the pinned spot now.");
  }

  // --- the model's work: one run at a time, the newest request of each kind wins ---
  async runDigit(job) {
    paintDigit(this.digit, await this.model.decode(job.code, 1));
    this.digitCap.textContent = job.caption;
    const now = performance.now();
    if (job.hover) {
      for (const [t, input] of this.hovers.splice(0)) {
        this.stats.hover.push(now - t);
        this.stats.hoverInput.push(now - input);
      }
    }
  }

  showCode(code, caption) {
    if (this.model) this.work.request("digit", { code, caption });
  }

  async runDrawing(job) {
    const digit = prepareDigit(this.drawing.pixels(), this.drawing.canvas.width, this.drawing.canvas.height);
    this.prepared = digit;
    this.drawing.showSeen(digit);
    if (!digit) {
      this.drawing.say("No ink yet: draw a digit with the mouse, a finger or a pen.");
      this.clearMark();
      this.showCode(this.pinned, "Pinned spot");
      return;
    }
    const [mu, logvar] = await this.model.encode(digit, 1);
    const code = Array.from(mu);
    paintDigit(this.digit, await this.model.decode(code, 1));
    this.digitCap.textContent = "Your drawing, redrawn by the model";
    this.drawing.say("Keep sends it to the server for the tools below.");
    this.drawnCode = code;
    if (this.mapped) {
      const [x, y] = project(this.info.plane, code);
      this.view.marks.mark = { x, y, ring: logvar ? posteriorRing(this.info.plane, code, logvar) : null };
      this.view.marks.trail.push([x, y]);
      this.view.drawOverlay();
    }
    const now = performance.now();
    this.stats.stroke.push(now - job.t0);
    this.stats.strokeInput.push(now - job.input);
  }

  clearMark() {
    Object.assign(this.view.marks, { mark: null, trail: [] });
    this.view.drawOverlay();
  }

  // For the browser tests and the bench.
  get busy() { return this.work.busy; }
  get mark() { return this.view.marks.mark; }

  // --- the map's events ---
  listen() {
    const over = this.view.over;
    over.addEventListener("pointermove", (e) => {
      if (!this.ready) return;
      const spot = this.view.spotOf(e);
      if (!spot) { this.leave(); return; }
      this.hovering = true;
      this.view.marks.hover = spot;
      this.hovers.push([performance.now(), e.timeStamp]);
      this.work.request("digit", { code: lift(this.info.plane, ...spot), caption: "Under the cursor", hover: true });
      this.view.drawOverlay();
    });
    over.addEventListener("pointerleave", () => this.leave());
    over.addEventListener("click", (e) => {
      const spot = this.ready && this.view.spotOf(e);
      if (spot) this.pin(lift(this.info.plane, ...spot));
    });
  }

  afterClear() {
    this.clearMark();
    this.drawing.say("Draw a digit here, with mouse, finger or pen.");
    this.showCode(this.pinned, "Pinned spot");
  }

  leave() {
    if (!this.hovering) return;
    this.hovering = false;
    this.view.marks.hover = null;
    this.view.drawOverlay();
    if (this.view.marks.mark) return;
    this.showCode(this.pinned, "Pinned spot");
  }

  destroy() {
    if (globalThis.aelibPad === this) globalThis.aelibPad = null;
  }
}

// The component's entry (ui.pad imports this module): one pad per element, kept across the page's reruns.
export function mount(component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  let pad = parentElement.__pad;
  if (!pad || !pad.root.isConnected) {
    pad = new Pad(parentElement);
    parentElement.__pad = pad;
  }
  clearTimeout(pad.goodbye);
  pad.update(data, setStateValue, setTriggerValue);
  // Unmounting may be a re-render in disguise: keep the pad unless no new call comes right after.
  return () => { pad.goodbye = setTimeout(() => pad.destroy(), 0); };
}

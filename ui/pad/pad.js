// The latent pad: the map of codes, the digit under the cursor, sliders and a drawing canvas, with the model
// run in the page by ONNX Runtime Web. The server hears only of pins, kept drawings and a runtime that failed.

const MARGIN = { left: 46, right: 10, top: 10, bottom: 36 };
const DIGIT_PX = 196;

async function loadMap(url) {
  if (!G.maps.has(url)) {
    G.maps.set(url, fetchBytes(url).then((bytes) => {
      const n = bytes.length / 9;  // n (x, y) float32 pairs, then n uint8 labels
      return { points: new Float32Array(bytes.buffer, 0, 2 * n), labels: bytes.subarray(8 * n) };
    }));
  }
  return G.maps.get(url);
}

const megabytes = (got, total) => (total ? `${(got / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`
  : `${(got / 1e6).toFixed(1)} MB`);
const fixed = (v) => (Math.abs(v) < 0.005 ? 0 : Number(v)).toFixed(2);  // no "-0.00"

const el = (tag, cls, parent, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
};

class Pad {
  constructor(root) {
    this.root = root;
    // Milliseconds from the pointermove handler (and from the input's own timestamp, which Chrome
    // delivers aligned to the next frame) to the digit or the mark painted, for the bench and the tests.
    this.stats = { hover: [], hoverInput: [], stroke: [], strokeInput: [] };
    this.hidden = new Set();
    this.strokes = [];
    this.trail = [];
    this.waiting = [];  // times of hover moves not painted yet
    this.jobs = { draw: null, digit: null };
    this.busy = false;
    this.build();
  }

  build() {
    this.root.querySelectorAll(".pad").forEach((old) => old.remove());  // a pad this root held before
    const r = el("div", "pad", this.root);
    this.status = el("div", "status", r, "Loading the model runtime…");
    const row = el("div", "row", r);
    const left = el("div", "mapcol", row);
    this.mapbox = el("div", "mapbox", left);
    this.base = el("canvas", "base", this.mapbox);
    this.over = el("canvas", "over", this.mapbox);
    this.legend = el("div", "legend", left);
    el("div", "hint", left, "Hover to decode any spot, click to pin it. Click a class below to hide it, " +
      "double-click to show it alone.");
    const side = el("div", "side", row);
    const pics = el("div", "pics", side);
    const f1 = el("figure", "", pics);
    this.digit = el("canvas", "digit", f1);
    this.digit.width = this.digit.height = 28;
    this.digitCap = el("figcaption", "", f1, "");
    const f2 = el("figure", "", pics);
    this.draw = el("canvas", "draw", f2);
    this.draw.width = this.draw.height = DIGIT_PX;
    const tools = el("div", "tools", f2);
    this.undoBtn = el("button", "undo", tools, "Undo");
    this.clearBtn = el("button", "clear", tools, "Clear");
    this.keepBtn = el("button", "keep", tools, "Keep");
    this.keepBtn.title = "Send this drawing to the server: it becomes the pinned spot for the tools below.";
    this.drawCap = el("figcaption", "", f2, "Draw a digit here, with mouse, finger or pen.");
    this.seen = el("canvas", "seen", f2);
    this.seen.width = this.seen.height = 28;
    this.seen.title = "What the model sees: your drawing prepared as MNIST's digits were.";
    this.sliderBox = el("details", "sliders", side);
    this.sliderTitle = el("summary", "", this.sliderBox);
    this.sliderList = el("div", "slist", this.sliderBox);
    this.clearDrawing();
    this.listen();
    new ResizeObserver(() => this.layout()).observe(left);
  }

  update(data, setStateValue, setTriggerValue) {
    this.setStateValue = setStateValue;
    this.setTriggerValue = setTriggerValue;
    // Absolute addresses: the module's own is a blob: URL, against which a path resolves to nothing.
    data = { ...data, ort: new URL(data.ort, location.href).href, files: new URL(data.files, location.href).href };
    const first = !this.data;
    const modelChanged = first || data.files !== this.data.files;
    const old = this.data;
    this.data = data;
    this.pinned = data.pin.slice();
    if (modelChanged) {
      this.info = null;
      this.hidden.clear();
      this.load();
    } else if (this.info) {
      if (old.painted !== data.painted || JSON.stringify(old.rings) !== JSON.stringify(data.rings)) this.drawBase();
      this.setSliders(this.sliderValues(this.pinned));
      this.drawOverlay();
      if (!this.hovering && !this.strokes.length) this.showCode(this.pinned, "Pinned spot");
    }
  }

  async load() {
    const d = this.data;
    try {
      // Everything at once: the runtime (unless already here) and the model's files download side by side.
      const runtime = loadRuntime(d.ort, (got, total) => {
        this.status.textContent = `Loading the model runtime, once: ${megabytes(got, total)}`;
      });
      const files = d.files;
      const sizeNote = (got, total) => {
        this.status.textContent = `Loading the model: ${megabytes(got, total)}`;
      };
      const [ort, info, decoder, encoder, map] = await Promise.all([runtime,
        fetch(files + "model.json").then((r) => r.json()), loadSession(runtime, files + "decoder.onnx", sizeNote),
        loadSession(runtime, files + "encoder.onnx"), d.mapped ? loadMap(files + "map.bin") : null]);
      this.ort = ort;
      if (files !== this.data.files) return;  // another model was picked meanwhile
      Object.assign(this, { info, decoder, encoder, map });
      this.painted = null;
      if (d.mapped && d.paintedFile) {
        const img = new Image();
        img.onload = () => { this.painted = img; this.drawBase(); };
        img.src = files + "painted.png";
      }
      this.status.textContent = "";
      this.status.hidden = true;
      this.buildLegend();
      this.buildSliders();
      this.layout();
      this.showCode(this.pinned, "Pinned spot");
      this.ready = true;
      globalThis.aelibPad = this;  // the pad at work, for the browser tests and the bench: stats, decode, drawing
    } catch (err) {
      this.failed = String(err && err.message ? err.message : err);
      this.status.textContent = "The model could not run in this browser: " + this.failed;
      this.setStateValue("failed", this.failed);
    }
  }

  // --- geometry: the plane of the map, and the code of each spot of it ---
  get mapped() { return Boolean(this.map && this.info.x_range); }

  lift(x, y) {
    const p = this.info.plane;
    return p.mean.map((m, i) => m + x * p.components[0][i] + y * p.components[1][i]);
  }

  project(code) {
    const p = this.info.plane;
    let x = 0, y = 0;
    code.forEach((v, i) => { x += (v - p.mean[i]) * p.components[0][i]; y += (v - p.mean[i]) * p.components[1][i]; });
    return [x, y];
  }

  toPx(x, y) {
    const [x0, x1] = this.info.x_range, [y0, y1] = this.info.y_range, r = this.rect;
    return [r.x + (x - x0) / (x1 - x0) * r.w, r.y + (y1 - y) / (y1 - y0) * r.h];
  }

  fromPx(px, py) {
    const [x0, x1] = this.info.x_range, [y0, y1] = this.info.y_range, r = this.rect;
    return [x0 + (px - r.x) / r.w * (x1 - x0), y1 - (py - r.y) / r.h * (y1 - y0)];
  }

  layout() {
    if (!this.info) return;
    if (!this.mapped) { this.mapbox.hidden = true; return; }
    const size = Math.max(260, Math.min(this.mapbox.parentElement.clientWidth, 560));
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.base, this.over]) {
      c.style.width = c.style.height = size + "px";
      c.width = c.height = Math.round(size * dpr);
      c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    this.mapbox.style.width = this.mapbox.style.height = size + "px";
    this.size = size;
    this.rect = { x: MARGIN.left, y: MARGIN.top, w: size - MARGIN.left - MARGIN.right, h: size - MARGIN.top - MARGIN.bottom };
    this.drawBase();
    this.drawOverlay();
  }

  drawBase() {
    if (!this.mapped || !this.rect) return;
    const ctx = this.base.getContext("2d"), r = this.rect, d = this.data;
    ctx.clearRect(0, 0, this.size, this.size);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(r.x, r.y, r.w, r.h);
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.x, r.y, r.w, r.h);
    ctx.clip();  // the ranges hold 99% of the codes: the few beyond stay off the axes
    if (this.painted && d.painted) ctx.drawImage(this.painted, r.x, r.y, r.w, r.h);
    const { points, labels } = this.map;
    ctx.globalAlpha = 0.7;
    for (let c = 0; c < d.names.length; c++) {
      if (this.hidden.has(c)) continue;
      ctx.fillStyle = d.palette[c % d.palette.length];
      ctx.beginPath();
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] !== c) continue;
        const [px, py] = this.toPx(points[2 * i], points[2 * i + 1]);
        ctx.moveTo(px + 2, py);
        ctx.arc(px, py, 2, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    if (d.rings) {
      ctx.strokeStyle = "#222222";
      ctx.lineWidth = 1.2;
      ctx.setLineDash([2, 3]);
      for (const [xs, ys] of d.rings) {
        ctx.beginPath();
        xs.forEach((x, i) => { const [px, py] = this.toPx(x, ys[i]); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
        ctx.stroke();
      }
      ctx.setLineDash([]);
    }
    ctx.restore();
    this.drawAxes(ctx);
  }

  drawAxes(ctx) {
    const r = this.rect, [x0, x1] = this.info.x_range, [y0, y1] = this.info.y_range;
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(r.x, r.y, r.w, r.h);
    ctx.fillStyle = "#444";
    ctx.font = "11px sans-serif";
    const ticks = (lo, hi) => {
      const step = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50].find((s) => (hi - lo) / s <= 7) || 100;
      const out = [];
      for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(Math.round(t * 1e6) / 1e6);
      return out;
    };
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticks(x0, x1)) ctx.fillText(String(t), this.toPx(t, y0)[0], r.y + r.h + 4);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of ticks(y0, y1)) ctx.fillText(String(t), r.x - 5, this.toPx(x0, t)[1]);
    const [ax, ay] = this.data.axes;
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(ax, r.x + r.w / 2, this.size - 2);
    ctx.save();
    ctx.translate(11, r.y + r.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(ay, 0, 0);
    ctx.restore();
  }

  drawOverlay() {
    if (!this.mapped || !this.rect) return;
    const ctx = this.over.getContext("2d");
    ctx.clearRect(0, 0, this.size, this.size);
    const cross = (x, y, size, colour, width) => {
      const [px, py] = this.toPx(x, y);
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(px - size, py - size); ctx.lineTo(px + size, py + size);
      ctx.moveTo(px - size, py + size); ctx.lineTo(px + size, py - size);
      ctx.stroke();
    };
    const [x, y] = this.project(this.pinned);
    cross(x, y, 8, "#ffffff", 5);
    cross(x, y, 8, "#000000", 2);
    if (this.trail.length) {
      ctx.strokeStyle = "rgba(0,0,0,0.45)";
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      this.trail.forEach(([tx, ty], i) => { const [px, py] = this.toPx(tx, ty); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
      ctx.stroke();
    }
    if (this.mark) {
      if (this.mark.ring) {
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        this.mark.ring.forEach(([rx, ry], i) => { const [px, py] = this.toPx(rx, ry); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
        ctx.stroke();
      }
      const [px, py] = this.toPx(this.mark.x, this.mark.y);
      ctx.fillStyle = "#ffd400";
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (let k = 0; k < 10; k++) {  // a star: the drawing's code
        const a = -Math.PI / 2 + k * Math.PI / 5, rad = k % 2 ? 4 : 10;
        k ? ctx.lineTo(px + rad * Math.cos(a), py + rad * Math.sin(a)) : ctx.moveTo(px + rad * Math.cos(a), py + rad * Math.sin(a));
      }
      ctx.closePath();
      ctx.fill();
      ctx.stroke();
    }
    if (this.hoverSpot) {
      const [px, py] = this.toPx(...this.hoverSpot);
      ctx.strokeStyle = "rgba(0,0,0,0.6)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  buildLegend() {
    this.legend.replaceChildren();
    if (!this.mapped) return;
    this.data.names.forEach((name, c) => {
      const b = el("button", "entry", this.legend);
      const swatch = el("span", "swatch", b);
      swatch.style.background = this.data.palette[c % this.data.palette.length];
      el("span", "", b, name);
      b.onclick = () => { this.hidden.has(c) ? this.hidden.delete(c) : this.hidden.add(c); this.legendState(); };
      b.ondblclick = () => {
        const alone = this.hidden.size === this.data.names.length - 1 && !this.hidden.has(c);
        this.hidden = new Set(alone ? [] : this.data.names.map((_, i) => i).filter((i) => i !== c));
        this.legendState();
      };
    });
  }

  legendState() {
    [...this.legend.children].forEach((b, c) => b.classList.toggle("off", this.hidden.has(c)));
    this.drawBase();
  }

  // --- sliders: one per dimension, or two along the map's plane for long codes ---
  sliderValues(code) {
    return this.data.perDim ? code.slice(0, this.data.ranges.length) : this.project(code);
  }

  codeOfSlider(i, value) {
    // The pinned code with slider i moved: the others keep their exact values, not their snapped positions.
    if (!this.data.perDim) {
      const spot = this.project(this.pinned);
      spot[i] = value;
      return this.lift(spot[0], spot[1]);
    }
    const code = this.pinned.slice();
    code[i] = value;
    return code;
  }

  buildSliders() {
    const d = this.data;
    this.sliderTitle.textContent = d.sliderTitle;
    this.sliderBox.open = d.ranges.length <= 4;
    this.sliderList.replaceChildren();
    this.sliders = d.ranges.map(([lo, hi], i) => {
      const line = el("label", "slider", this.sliderList);
      el("span", "name", line, d.labels[i]);
      const s = el("input", "", line);
      Object.assign(s, { type: "range", min: lo, max: hi, step: (hi - lo) / 200 });
      const shown = el("span", "value", line);
      s.oninput = () => {
        shown.textContent = fixed(s.value);
        this.clearMark();
        this.request("digit", { code: this.codeOfSlider(i, Number(s.value)), caption: "From the sliders" });
      };
      s.onchange = () => this.pin(this.codeOfSlider(i, Number(s.value)));
      s.shown = shown;
      return s;
    });
    this.setSliders(this.sliderValues(this.pinned));
  }

  setSliders(values) {
    if (!this.sliders) return;
    this.sliders.forEach((s, i) => { s.value = values[i]; s.shown.textContent = fixed(s.value); });
  }

  clampCode(code) {
    if (!this.data.perDim) {
      const [x, y] = this.project(code), [x0, x1] = this.info.x_range, [y0, y1] = this.info.y_range;
      return this.lift(Math.min(Math.max(x, x0), x1), Math.min(Math.max(y, y0), y1));
    }
    return code.map((v, i) => (i < this.data.ranges.length
      ? Math.min(Math.max(v, this.data.ranges[i][0]), this.data.ranges[i][1]) : v));
  }

  pin(code) {
    this.pinned = this.clampCode(code);
    this.setSliders(this.sliderValues(this.pinned));
    this.drawOverlay();
    const [x, y] = this.mapped ? this.project(this.pinned) : [0, 0];
    this.setTriggerValue("pin", { z: this.pinned, x, y });  // one message: the link, nearest digit and ends follow
  }

  // --- the model: one run at a time, the newest request of each kind wins ---
  request(kind, job) {
    this.jobs[kind] = job;
    if (!this.busy) this.pump();
  }

  async pump() {
    this.busy = true;
    try {
      while (this.jobs.draw || this.jobs.digit) {
        const kind = this.jobs.draw ? "draw" : "digit";
        const job = this.jobs[kind];
        this.jobs[kind] = null;
        await (kind === "draw" ? this.runDrawing(job) : this.runDigit(job));
      }
    } finally {
      this.busy = false;
    }
  }

  async decodeBatch(codes, n) {
    const z = new this.ort.Tensor("float32", Float32Array.from(codes), [n, this.info.latent_dim]);
    return (await this.decoder.run({ z })).image.data;  // (n, 1, 28, 28) in [0, 1]
  }

  async encodeBatch(pixels, n) {
    const x = new this.ort.Tensor("float32", Float32Array.from(pixels), [n, 1, 28, 28]);
    const out = await this.encoder.run({ image: x });
    return this.info.encoder_outputs.map((k) => out[k].data);
  }

  paint(canvas, pixels) {
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(Math.min(Math.max(pixels[i], 0), 1) * 255);
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }

  async runDigit(job) {
    const pixels = await this.decodeBatch(job.code, 1);
    this.paint(this.digit, pixels);
    this.digitCap.textContent = job.caption;
    const now = performance.now();
    if (job.hover) {
      for (const [t, input] of this.waiting.splice(0)) {
        this.stats.hover.push(now - t);
        this.stats.hoverInput.push(now - input);
      }
    }
  }

  showCode(code, caption) {
    if (this.decoder) this.request("digit", { code, caption });
  }

  // --- drawing ---
  clearDrawing() {
    const ctx = this.draw.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, DIGIT_PX, DIGIT_PX);
    this.seen.hidden = true;
    this.prepared = null;
  }

  redrawStrokes() {
    this.clearDrawing();
    for (const s of this.strokes) this.strokeSegment(s, 0);
  }

  strokeSegment(stroke, from) {
    const ctx = this.draw.getContext("2d");
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    ctx.lineWidth = 14;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (stroke.length === 1) {
      ctx.arc(stroke[0][0], stroke[0][1], 7, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.moveTo(...stroke[Math.max(0, from - 1)]);
    for (let i = Math.max(1, from); i < stroke.length; i++) ctx.lineTo(...stroke[i]);
    ctx.stroke();
  }

  clearMark() {
    this.mark = null;
    this.trail = [];
    this.drawOverlay();
  }

  async runDrawing(job) {
    const pixels = this.draw.getContext("2d").getImageData(0, 0, DIGIT_PX, DIGIT_PX).data;
    const digit = prepareDigit(pixels, DIGIT_PX, DIGIT_PX);
    this.prepared = digit;
    if (!digit) {
      this.drawCap.textContent = "No ink yet: draw a digit with the mouse, a finger or a pen.";
      this.seen.hidden = true;
      this.clearMark();
      this.showCode(this.pinned, "Pinned spot");
      return;
    }
    this.paint(this.seen, digit);
    this.seen.hidden = false;
    const [mu, logvar] = await this.encodeBatch(digit, 1);
    const code = Array.from(mu);
    this.paint(this.digit, await this.decodeBatch(code, 1));
    this.digitCap.textContent = "Your drawing, redrawn by the model";
    this.drawCap.textContent = "Keep sends it to the server for the tools below.";
    this.drawnCode = code;
    if (this.mapped) {
      const [x, y] = this.project(code);
      this.mark = { x, y, ring: logvar ? this.posteriorRing(code, logvar) : null };
      this.trail.push([x, y]);
      this.drawOverlay();
    }
    const now = performance.now();
    this.stats.stroke.push(now - job.t0);
    this.stats.strokeInput.push(now - job.input);
  }

  posteriorRing(mu, logvar) {
    // The posterior N(mu, diag(exp(logvar))) as it lies in the plane: 2x2 covariance A S A^T, ellipse 2 sd out.
    const a = this.info.plane.components;
    let sxx = 0, sxy = 0, syy = 0;
    for (let i = 0; i < mu.length; i++) {
      const v = Math.exp(logvar[i]);
      sxx += a[0][i] * a[0][i] * v; sxy += a[0][i] * a[1][i] * v; syy += a[1][i] * a[1][i] * v;
    }
    const l11 = Math.sqrt(sxx), l21 = sxy / l11, l22 = Math.sqrt(Math.max(syy - l21 * l21, 0));
    const [cx, cy] = this.project(mu);
    return Array.from({ length: 49 }, (_, k) => {
      const t = (2 * Math.PI * k) / 48, u = Math.cos(t), w = Math.sin(t);
      return [cx + 2 * l11 * u, cy + 2 * (l21 * u + l22 * w)];
    });
  }

  // --- events ---
  listen() {
    const spotOf = (e) => {
      const b = this.over.getBoundingClientRect();
      const px = e.clientX - b.left, py = e.clientY - b.top, r = this.rect;
      if (!r || px < r.x || px > r.x + r.w || py < r.y || py > r.y + r.h) return null;
      return this.fromPx(px, py);
    };
    this.over.addEventListener("pointermove", (e) => {
      if (!this.ready) return;
      const spot = spotOf(e);
      if (!spot) { this.leave(); return; }
      this.hovering = true;
      this.hoverSpot = spot;
      this.waiting.push([performance.now(), e.timeStamp]);
      this.request("digit", { code: this.lift(...spot), caption: "Under the cursor", hover: true });
      this.drawOverlay();
    });
    this.over.addEventListener("pointerleave", () => this.leave());
    this.over.addEventListener("click", (e) => {
      const spot = this.ready && spotOf(e);
      if (spot) this.pin(this.lift(...spot));
    });
    const at = (e) => {
      const b = this.draw.getBoundingClientRect();
      return [(e.clientX - b.left) * DIGIT_PX / b.width, (e.clientY - b.top) * DIGIT_PX / b.height];
    };
    this.draw.addEventListener("pointerdown", (e) => {
      if (!this.ready) return;
      e.preventDefault();
      this.draw.setPointerCapture(e.pointerId);
      if (!this.strokes.length) this.trail = [];
      this.strokes.push([at(e)]);
      this.drawing = true;
      this.strokeSegment(this.strokes.at(-1), 0);
      this.request("draw", { t0: performance.now(), input: e.timeStamp });
    });
    this.draw.addEventListener("pointermove", (e) => {
      if (!this.drawing) return;
      const s = this.strokes.at(-1);
      for (const ev of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) s.push(at(ev));
      this.strokeSegment(s, s.length - 1);
      this.request("draw", { t0: performance.now(), input: e.timeStamp });
    });
    const end = () => { this.drawing = false; };
    this.draw.addEventListener("pointerup", end);
    this.draw.addEventListener("pointercancel", end);
    this.undoBtn.onclick = () => {
      this.strokes.pop();
      this.redrawStrokes();
      this.trail.pop();
      if (this.strokes.length) this.request("draw", { t0: performance.now(), input: performance.now() });
      else this.afterClear();
    };
    this.clearBtn.onclick = () => { this.strokes = []; this.redrawStrokes(); this.afterClear(); };
    this.keepBtn.onclick = () => {
      if (!this.prepared || !this.strokes.length) {
        this.drawCap.textContent = "Nothing to keep yet: draw a digit first.";
        return;
      }
      this.pinned = this.clampCode(this.drawnCode);
      this.setSliders(this.sliderValues(this.pinned));
      this.setTriggerValue("keep", { pixels: Array.from(this.prepared, (v) => Math.round(v * 1000) / 1000) });
      this.drawCap.textContent = "Kept: the server has it, and it is the pinned spot now.";
    };
  }

  afterClear() {
    this.clearMark();
    this.drawCap.textContent = "Draw a digit here, with mouse, finger or pen.";
    this.showCode(this.pinned, "Pinned spot");
  }

  leave() {
    if (!this.hovering) return;
    this.hovering = false;
    this.hoverSpot = null;
    this.drawOverlay();
    if (this.mark) return;
    this.showCode(this.pinned, "Pinned spot");
  }

  destroy() {
    if (globalThis.aelibPad === this) globalThis.aelibPad = null;
  }
}

export default function (component) {
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

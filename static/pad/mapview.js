// The map of codes on two canvases: underneath, the painted plane, the test set's codes and the prior's
// ellipses, redrawn only when they change; on top, the pinned spot, the drawing's mark and trail and the cursor,
// redrawn on every move. Beneath it, the legend that hides classes.

import { el } from "./dom.js";
import { frame, ticks } from "./plane.js";

const MARGIN = { left: 46, right: 10, top: 10, bottom: 36 };

export class MapView {
  constructor(parent) {
    this.box = el("div", "mapbox", parent);
    this.base = el("canvas", "base", this.box);
    this.over = el("canvas", "over", this.box);
    this.legend = el("div", "legend", parent);
    el("div", "hint", parent, "Hover to decode any spot, click to pin it. Click a class below to hide it, " +
      "double-click to show it alone.");
    // What the base layer shows: set by the pad, then drawBase().
    this.scene = { xRange: null, yRange: null, axes: ["z1", "z2"], points: null, labels: null, names: [],
      palette: [], painted: null, rings: null, hidden: new Set() };
    // What the top layer shows, in data units: set by the pad, then drawOverlay().
    this.marks = { pin: null, trail: [], mark: null, hover: null };
    this.frame = null;
  }

  // Sized to its column (260 to 560 px), sharp on any screen.
  layout() {
    if (!this.scene.xRange) { this.box.hidden = true; return; }
    this.box.hidden = false;
    const size = Math.max(260, Math.min(this.box.parentElement.clientWidth, 560));
    const dpr = globalThis.devicePixelRatio || 1;
    for (const c of [this.base, this.over]) {
      c.style.width = c.style.height = size + "px";
      c.width = c.height = Math.round(size * dpr);
      c.getContext("2d").setTransform(dpr, 0, 0, dpr, 0, 0);
    }
    this.box.style.width = this.box.style.height = size + "px";
    this.size = size;
    this.rect = { x: MARGIN.left, y: MARGIN.top, w: size - MARGIN.left - MARGIN.right,
      h: size - MARGIN.top - MARGIN.bottom };
    this.frame = frame(this.scene.xRange, this.scene.yRange, this.rect);
    this.drawBase();
    this.drawOverlay();
  }

  // The spot (data units) under a pointer event, or null off the plot area.
  spotOf(e) {
    if (!this.frame) return null;
    const b = this.over.getBoundingClientRect(), px = e.clientX - b.left, py = e.clientY - b.top;
    return this.frame.inside(px, py) ? this.frame.fromPx(px, py) : null;
  }

  drawBase() {
    if (!this.frame) return;
    const ctx = this.base.getContext("2d"), r = this.rect, s = this.scene, toPx = this.frame.toPx;
    ctx.clearRect(0, 0, this.size, this.size);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(r.x, r.y, r.w, r.h);
    ctx.save();
    ctx.beginPath();
    ctx.rect(r.x, r.y, r.w, r.h);
    ctx.clip();  // the ranges hold 99% of the codes: the few beyond stay off the axes
    if (s.painted) ctx.drawImage(s.painted, r.x, r.y, r.w, r.h);
    ctx.globalAlpha = 0.7;
    for (let c = 0; c < s.names.length; c++) {
      if (s.hidden.has(c)) continue;
      ctx.fillStyle = s.palette[c % s.palette.length];
      ctx.beginPath();
      for (let i = 0; i < s.labels.length; i++) {
        if (s.labels[i] !== c) continue;
        const [px, py] = toPx(s.points[2 * i], s.points[2 * i + 1]);
        ctx.moveTo(px + 2, py);
        ctx.arc(px, py, 2, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
    if (s.rings) {
      ctx.strokeStyle = "#222222";
      ctx.lineWidth = 1.2;
      ctx.setLineDash([2, 3]);
      for (const ring of s.rings) this.line(ctx, ring);
      ctx.setLineDash([]);
    }
    ctx.restore();
    this.drawAxes(ctx);
  }

  line(ctx, points) {
    ctx.beginPath();
    points.forEach(([x, y], i) => { const [px, py] = this.frame.toPx(x, y); i ? ctx.lineTo(px, py) : ctx.moveTo(px, py); });
    ctx.stroke();
  }

  drawAxes(ctx) {
    const r = this.rect, [x0, x1] = this.scene.xRange, [y0, y1] = this.scene.yRange, toPx = this.frame.toPx;
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(r.x, r.y, r.w, r.h);
    ctx.fillStyle = "#444";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const t of ticks(x0, x1)) ctx.fillText(String(t), toPx(t, y0)[0], r.y + r.h + 4);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of ticks(y0, y1)) ctx.fillText(String(t), r.x - 5, toPx(x0, t)[1]);
    const [ax, ay] = this.scene.axes;
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
    if (!this.frame) return;
    const ctx = this.over.getContext("2d"), m = this.marks, toPx = this.frame.toPx;
    ctx.clearRect(0, 0, this.size, this.size);
    if (m.pin) {
      const [px, py] = toPx(...m.pin);
      for (const [colour, width] of [["#ffffff", 5], ["#000000", 2]]) {  // a cross, outlined
        ctx.strokeStyle = colour;
        ctx.lineWidth = width;
        ctx.beginPath();
        ctx.moveTo(px - 8, py - 8); ctx.lineTo(px + 8, py + 8);
        ctx.moveTo(px - 8, py + 8); ctx.lineTo(px + 8, py - 8);
        ctx.stroke();
      }
    }
    if (m.trail.length) {
      ctx.strokeStyle = "rgba(0,0,0,0.45)";
      ctx.lineWidth = 1.5;
      this.line(ctx, m.trail);
    }
    if (m.mark) this.drawMark(ctx, m.mark);
    if (m.hover) {
      const [px, py] = toPx(...m.hover);
      ctx.strokeStyle = "rgba(0,0,0,0.6)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.arc(px, py, 6, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  // The drawing's code: a star, in its posterior's ellipse for a VAE.
  drawMark(ctx, mark) {
    if (mark.ring) {
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 1.5;
      this.line(ctx, mark.ring);
    }
    const [px, py] = this.frame.toPx(mark.x, mark.y);
    ctx.fillStyle = "#ffd400";
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + k * Math.PI / 5, rad = k % 2 ? 4 : 10;
      k ? ctx.lineTo(px + rad * Math.cos(a), py + rad * Math.sin(a)) : ctx.moveTo(px + rad * Math.cos(a), py + rad * Math.sin(a));
    }
    ctx.closePath();
    ctx.fill();
    ctx.stroke();
  }

  // A button per class: a click hides or shows it, a double-click shows it alone (or all again).
  buildLegend() {
    const s = this.scene;
    this.legend.replaceChildren();
    s.names.forEach((name, c) => {
      const b = el("button", "entry", this.legend);
      el("span", "swatch", b).style.background = s.palette[c % s.palette.length];
      el("span", "", b, name);
      b.onclick = () => { s.hidden.has(c) ? s.hidden.delete(c) : s.hidden.add(c); this.legendState(); };
      b.ondblclick = () => {
        const alone = s.hidden.size === s.names.length - 1 && !s.hidden.has(c);
        s.hidden = new Set(alone ? [] : s.names.map((_, i) => i).filter((i) => i !== c));
        this.legendState();
      };
    });
  }

  legendState() {
    [...this.legend.children].forEach((b, c) => b.classList.toggle("off", this.scene.hidden.has(c)));
    this.drawBase();
  }
}

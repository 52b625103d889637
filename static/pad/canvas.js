// The drawing canvas: strokes of mouse, finger or pen in white on black, with Undo, Clear and Keep, and beside
// it a small picture of what the model sees.

import { el, paintDigit } from "./dom.js";

export const SIZE = 196;  // canvas pixels a side
const WIDTH = 14;  // pen width in canvas pixels: about MNIST's stroke once scaled to 28x28

export class DrawingCanvas {
  // on: {stroke(t0, inputTime) after each new point, undo(left) with the strokes left, clear(), keep()}
  constructor(parent, on) {
    this.canvas = el("canvas", "draw", parent);
    this.canvas.width = this.canvas.height = SIZE;
    const tools = el("div", "tools", parent);
    const undo = el("button", "undo", tools, "Undo");
    const clear = el("button", "clear", tools, "Clear");
    const keep = el("button", "keep", tools, "Keep");
    keep.title = "Send this drawing to the server: it becomes the pinned spot for the tools below.";
    this.caption = el("figcaption", "", parent, "");
    this.seen = el("canvas", "seen", parent);
    this.seen.width = this.seen.height = 28;
    this.seen.title = "What the model sees: your drawing prepared as MNIST's digits were.";
    this.strokes = [];
    this.enabled = false;  // until the model is ready
    this.blank();
    this.say("Draw a digit here, with mouse, finger or pen.");
    this.listen(on);
    undo.onclick = () => { this.strokes.pop(); this.redraw(); on.undo(this.strokes.length); };
    clear.onclick = () => { this.strokes = []; this.redraw(); on.clear(); };
    keep.onclick = () => on.keep();
  }

  say(text) { this.caption.textContent = text; }

  // The canvas's RGBA pixels, as prepareDigit takes them.
  pixels() { return this.canvas.getContext("2d").getImageData(0, 0, SIZE, SIZE).data; }

  // The prepared digit in the corner, or none.
  showSeen(digit) {
    this.seen.hidden = !digit;
    if (digit) paintDigit(this.seen, digit);
  }

  blank() {
    const ctx = this.canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, SIZE, SIZE);
    this.showSeen(null);
  }

  redraw() {
    this.blank();
    for (const s of this.strokes) this.segment(s, 0);
  }

  // Stroke points from index `from` on (a lone point is a dot).
  segment(stroke, from) {
    const ctx = this.canvas.getContext("2d");
    ctx.strokeStyle = ctx.fillStyle = "#fff";
    ctx.lineWidth = WIDTH;
    ctx.lineCap = ctx.lineJoin = "round";
    ctx.beginPath();
    if (stroke.length === 1) {
      ctx.arc(stroke[0][0], stroke[0][1], WIDTH / 2, 0, 2 * Math.PI);
      ctx.fill();
      return;
    }
    ctx.moveTo(...stroke[Math.max(0, from - 1)]);
    for (let i = Math.max(1, from); i < stroke.length; i++) ctx.lineTo(...stroke[i]);
    ctx.stroke();
  }

  listen(on) {
    const c = this.canvas;
    const at = (e) => {
      const b = c.getBoundingClientRect();
      return [(e.clientX - b.left) * SIZE / b.width, (e.clientY - b.top) * SIZE / b.height];
    };
    c.addEventListener("pointerdown", (e) => {
      if (!this.enabled) return;
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      this.strokes.push([at(e)]);
      this.down = true;
      this.segment(this.strokes.at(-1), 0);
      on.stroke(performance.now(), e.timeStamp, this.strokes.length === 1);
    });
    c.addEventListener("pointermove", (e) => {
      if (!this.down) return;
      const s = this.strokes.at(-1);
      for (const ev of e.getCoalescedEvents ? e.getCoalescedEvents() : [e]) s.push(at(ev));
      this.segment(s, s.length - 1);
      on.stroke(performance.now(), e.timeStamp, false);
    });
    const end = () => { this.down = false; };
    c.addEventListener("pointerup", end);
    c.addEventListener("pointercancel", end);
  }
}

// The pad's sliders: one per code dimension, or, for codes too long for that, two that move along the map's
// plane while every number of the code follows. The arithmetic is ui.sliders' own (tests/js checks it).

import { el, fixed } from "./dom.js";
import { lift, project } from "./plane.js";

// axes: {perDim, ranges (one [lo, hi] a slider), plane (for !perDim)}.

// A code kept inside the sliders' ranges, as the server keeps its own: per dimension, the numbers past the
// sliders at 0; along the plane, its spot kept inside the map's ranges.
export function clamp(axes, code) {
  const within = (v, [lo, hi]) => Math.min(Math.max(v, lo), hi);
  if (!axes.perDim) {
    const [x, y] = project(axes.plane, code);
    return lift(axes.plane, within(x, axes.ranges[0]), within(y, axes.ranges[1]));
  }
  return code.map((v, i) => (i < axes.ranges.length ? within(v, axes.ranges[i]) : 0));
}

// Where the sliders stand for a code.
export function sliderValues(axes, code) {
  return axes.perDim ? code.slice(0, axes.ranges.length) : project(axes.plane, code);
}

// The code with slider i moved to `value`: the other numbers keep their exact values, not their snapped
// positions.
export function codeWithSlider(axes, code, i, value) {
  if (!axes.perDim) {
    const spot = project(axes.plane, code);
    spot[i] = value;
    return lift(axes.plane, spot[0], spot[1]);
  }
  const out = code.slice();
  out[i] = value;
  return out;
}

export class Sliders {
  constructor(parent) {
    this.box = el("details", "sliders", parent);
    this.title = el("summary", "", this.box);
    this.list = el("div", "slist", this.box);
    this.inputs = null;
  }

  // One slider per range; onMove(i, value) while one is dragged, onRelease(i, value) when it is let go.
  build(title, labels, ranges, onMove, onRelease) {
    this.title.textContent = title;
    this.box.open = ranges.length <= 4;
    this.list.replaceChildren();
    this.inputs = ranges.map(([lo, hi], i) => {
      const line = el("label", "slider", this.list);
      el("span", "name", line, labels[i]);
      const s = el("input", "", line);
      Object.assign(s, { type: "range", min: lo, max: hi, step: (hi - lo) / 200 });
      const shown = el("span", "value", line);
      s.oninput = () => { shown.textContent = fixed(s.value); onMove(i, Number(s.value)); };
      s.onchange = () => onRelease(i, Number(s.value));
      s.shown = shown;
      return s;
    });
  }

  show(values) {
    if (!this.inputs) return;
    this.inputs.forEach((s, i) => { s.value = values[i]; s.shown.textContent = fixed(s.value); });
  }
}

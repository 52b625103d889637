// The sliders' arithmetic in the page against ui.sliders on the server.

import { test } from "node:test";
import assert from "node:assert/strict";
import { clamp, codeWithSlider, sliderValues } from "../../static/pad/sliders.js";
import { lift, project } from "../../static/pad/plane.js";
import { close, fixture } from "./load.mjs";

const cases = fixture("clamp.json");

test("a code is kept inside the ranges as ui.sliders.clamp keeps it", () => {
  assert.ok(cases.some((c) => c.axes.perDim) && cases.some((c) => !c.axes.perDim));
  for (const c of cases) close(clamp(c.axes, c.code), c.want, 1e-5);
});

test("per dimension, a slider moves its own number and leaves the others exactly", () => {
  const axes = { perDim: true, ranges: [[-3, 3], [-3, 3]] };
  assert.deepEqual(codeWithSlider(axes, [0.123456, 1.5], 1, -2), [0.123456, -2]);
  assert.deepEqual(sliderValues(axes, [0.5, 1, 9]), [0.5, 1]);
});

test("along the plane, a slider moves the spot and the whole code follows", () => {
  const { axes } = cases.find((c) => !c.axes.perDim);
  const code = lift(axes.plane, 0.3, -0.2);
  const moved = codeWithSlider(axes, code, 0, 1.1);
  close(project(axes.plane, moved), [1.1, -0.2], 1e-6);  // the plane's components are float32's
  close(sliderValues(axes, moved), [1.1, -0.2], 1e-6);
});

// The live bar's progress line in the page against ui.training's on the server.

import { test } from "node:test";
import assert from "node:assert/strict";
import { progressAt } from "../../static/livebar/progress.js";
import { fixture } from "./load.mjs";

const { reports } = fixture("progress.json");

test("at a report, the bar's line is the server's progress text", () => {
  for (const r of reports) assert.equal(progressAt(r.data, 0).text, r.text);
});

test("between reports the bar reaches, by itself, the line of each later report", () => {
  const [first, ...later] = reports;
  for (const r of later) assert.equal(progressAt(first.data, r.s - first.s).text, r.text);
});

test("it stops one step short of the end and never goes back", () => {
  const d = reports[0].data;
  const late = progressAt(d, 1e6);
  assert.equal(late.step, d.total - 1);
  assert.match(late.text, / 0 s left$/);
  assert.equal(progressAt(d, 0, 500).step, 500);  // a step shown before is kept
});

// The pad's model work: one run at a time, the newest request of each kind, drawings first.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Latest } from "../../static/pad/requests.js";

test("requests made while the model runs collapse to the newest of each kind, drawings first", async () => {
  const ran = [];
  let release;
  const gate = new Promise((r) => { release = r; });
  const work = new Latest({
    draw: async (job) => { ran.push(`draw ${job}`); },
    digit: async (job) => { ran.push(`digit ${job}`); if (job === 1) await gate; },
  });
  work.request("digit", 1);
  assert.ok(work.busy);
  work.request("digit", 2);
  work.request("digit", 3);
  work.request("draw", "a");
  release();
  while (work.busy) await new Promise((r) => setImmediate(r));
  assert.deepEqual(ran, ["digit 1", "draw a", "digit 3"]);
});

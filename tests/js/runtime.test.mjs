// The map of codes as the page reads the file ui.pad writes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { parseMap } from "../../static/pad/runtime.js";
import { close, fixture } from "./load.mjs";

test("the map's bytes are the spots then the labels ui.pad wrote", () => {
  const m = fixture("map.json");
  const got = parseMap(new Uint8Array(Buffer.from(m.bytes, "base64")));
  close(Array.from({ length: m.labels.length }, (_, i) => [got.points[2 * i], got.points[2 * i + 1]]), m.points, 1e-6);
  assert.deepEqual(Array.from(got.labels), m.labels);
});

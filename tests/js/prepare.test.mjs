// A drawing prepared in the page as aelib.images.prepare_digit prepares the same picture on the server.

import { test } from "node:test";
import assert from "node:assert/strict";
import { inflateSync } from "node:zlib";
import { prepareDigit } from "../../static/pad/prepare.js";
import { fixture } from "./load.mjs";

const cases = fixture("prepare.json");

// Grey bytes -> RGBA, as a canvas's ImageData holds them.
function rgba({ grey }) {
  const g = inflateSync(Buffer.from(grey, "base64"));
  const out = new Uint8ClampedArray(4 * g.length);
  g.forEach((v, i) => { out.set([v, v, v, 255], 4 * i); });
  return out;
}

test("20 drawn pictures come out as prepare_digit's, within 0.02 on average", () => {
  assert.equal(cases.length, 20);
  const errors = [];
  for (const c of cases.filter((c) => c.want)) {
    const got = prepareDigit(rgba(c), c.width, c.height);
    assert.ok(got, `ink was found in the ${c.width}x${c.height} picture`);
    errors.push(got.reduce((s, v, i) => s + Math.abs(v - c.want[i]), 0) / 784);
  }
  assert.ok(errors.length >= 15 && Math.max(...errors) <= 0.02, `mean absolute differences: ${errors}`);
});

test("a picture without ink prepares to nothing, where prepare_digit refuses it", () => {
  const empty = cases.filter((c) => !c.want);
  assert.equal(empty.length, 1);
  for (const c of empty) assert.equal(prepareDigit(rgba(c), c.width, c.height), null);
});

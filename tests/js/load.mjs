// Reading the fixtures tests/js/fixtures.py writes, and comparing numbers.

import { readFileSync } from "node:fs";
import assert from "node:assert/strict";

export function fixture(name) {
  return JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8"));
}

// Every number of `got` within `tol` of `want`, element by element, however deeply nested.
export function close(got, want, tol, where = "") {
  if (Array.isArray(want) || ArrayBuffer.isView(want)) {
    assert.equal(got.length, want.length, `${where} length`);
    for (let i = 0; i < want.length; i++) close(got[i], want[i], tol, `${where}[${i}]`);
    return;
  }
  assert.ok(Math.abs(got - want) <= tol, `${where}: ${got} is not within ${tol} of ${want}`);
}

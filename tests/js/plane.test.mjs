// The map's geometry in the page against aelib's: the PCA plane, and the ellipses of Gaussians in it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ellipse, frame, lift, posteriorRing, priorRings, project, ticks } from "../../static/pad/plane.js";
import { close, fixture } from "./load.mjs";

const planes = fixture("plane.json"), rings = fixture("rings.json");

test("a code's spot is where aelib.latent.PCAPlane.project puts it", () => {
  for (const c of planes) close(c.codes.map((code) => project(c.plane, code)), c.projected, 1e-5);
});

test("a spot's code is what aelib.latent.PCAPlane.lift gives", () => {
  for (const c of planes) close(c.points.map(([x, y]) => lift(c.plane, x, y)), c.lifted, 1e-5);
});

test("a learned prior's rings are aelib.figures.gaussian_rings', the lightest Gaussians left out", () => {
  const got = priorRings(rings.prior);
  assert.ok(got.length < rings.prior.weights.length, "some components are too light to draw");
  close(got, rings.prior_rings, 1e-5);
});

test("a posterior's ring is its 2-sigma ellipse in the plane, as gaussian_rings draws it", () => {
  for (const p of rings.posteriors) close(posteriorRing(rings.plane, p.mu, p.logvar), p.ring, 1e-5);
});

test("an ellipse of the unit Gaussian is the circle of radius 2, closed", () => {
  const ring = ellipse([1, -1], [[1, 0], [0, 1]]);
  assert.equal(ring.length, 49);
  for (const [x, y] of ring) close(Math.hypot(x - 1, y + 1), 2, 1e-6);
  close(ring[0], ring[48], 1e-9);
});

test("the frame maps data units to the plot area's pixels and back, y up", () => {
  const f = frame([-2, 2], [0, 10], { x: 46, y: 10, w: 400, h: 200 });
  assert.deepEqual(f.toPx(-2, 10), [46, 10]);
  assert.deepEqual(f.toPx(2, 0), [446, 210]);
  close(f.fromPx(...f.toPx(0.5, 3.25)), [0.5, 3.25], 1e-12);
  assert.ok(f.inside(46, 10) && !f.inside(45, 100) && !f.inside(100, 211));
});

test("axis ticks are round and at most 8", () => {
  assert.deepEqual(ticks(-3, 3), [-3, -2, -1, 0, 1, 2, 3]);
  assert.deepEqual(ticks(-0.25, 0.35), [-0.2, -0.1, 0, 0.1, 0.2, 0.3]);
  assert.ok(ticks(-137, 512).length <= 8);
});

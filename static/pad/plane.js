// The map's plane and the shapes drawn on it, as pure functions of numbers: a code's spot and a spot's code
// (aelib.latent.PCAPlane's project and lift), a Gaussian's ellipse two standard deviations out
// (aelib.figures.gaussian_rings), and the plot area's pixels. tests/js checks them against the Python side.

// plane: {mean: (D), components: (2, D)} as model.json holds it (aelib.export.page_info).
export function lift(plane, x, y) {
  return plane.mean.map((m, i) => m + x * plane.components[0][i] + y * plane.components[1][i]);
}

export function project(plane, code) {
  const [a, b] = plane.components;
  let x = 0, y = 0;
  code.forEach((v, i) => { x += (v - plane.mean[i]) * a[i]; y += (v - plane.mean[i]) * b[i]; });
  return [x, y];
}

// A diagonal covariance of the code space as it lies in the plane: A diag(variances) A^T, a 2x2 matrix.
export function planeCovariance(plane, variances) {
  const [a, b] = plane.components;
  let sxx = 0, sxy = 0, syy = 0;
  variances.forEach((v, i) => { sxx += a[i] * a[i] * v; sxy += a[i] * b[i] * v; syy += b[i] * b[i] * v; });
  return [[sxx, sxy], [sxy, syy]];
}

// N(centre, cov) as the ring two standard deviations out: 49 [x, y] points, the first and last the same.
// The Cholesky factor maps the unit circle onto it; the tiny ridge keeps a flat Gaussian drawable.
export function ellipse([cx, cy], [[sxx, sxy], [, syy]]) {
  const l11 = Math.sqrt(sxx + 1e-9), l21 = sxy / l11, l22 = Math.sqrt(Math.max(syy + 1e-9 - l21 * l21, 0));
  return Array.from({ length: 49 }, (_, k) => {
    const t = (2 * Math.PI * k) / 48, u = Math.cos(t), w = Math.sin(t);
    return [cx + 2 * l11 * u, cy + 2 * (l21 * u + l22 * w)];
  });
}

// A VAE's posterior N(mu, diag(exp(logvar))) on the map.
export function posteriorRing(plane, mu, logvar) {
  return ellipse(project(plane, mu), planeCovariance(plane, Array.from(logvar, Math.exp)));
}

// A learned prior's Gaussians (model.json's `prior`), leaving out those with under a fifth of an equal share
// of the weight: the mixture barely draws from them.
export function priorRings(prior) {
  const k = prior.weights.length;
  return prior.weights.flatMap((w, i) => (w >= 0.2 / k ? [ellipse(prior.centres[i], prior.covariances[i])] : []));
}

// The plot area `rect` (canvas pixels) showing xRange by yRange, y up: data units to pixels and back.
export function frame([x0, x1], [y0, y1], rect) {
  return {
    toPx: (x, y) => [rect.x + (x - x0) / (x1 - x0) * rect.w, rect.y + (y1 - y) / (y1 - y0) * rect.h],
    fromPx: (px, py) => [x0 + (px - rect.x) / rect.w * (x1 - x0), y1 - (py - rect.y) / rect.h * (y1 - y0)],
    inside: (px, py) => px >= rect.x && px <= rect.x + rect.w && py >= rect.y && py <= rect.y + rect.h,
  };
}

// Round numbers for an axis from lo to hi: at most 7 steps of 1, 2 or 5 times a power of ten.
export function ticks(lo, hi) {
  const step = [0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50].find((s) => (hi - lo) / s <= 7) || 100;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi; t += step) out.push(Math.round(t * 1e6) / 1e6);
  return out;
}

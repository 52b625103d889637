// A drawing -> the 28x28 digit the models were trained on, step for step as aelib.images.prepare_digit does it
// (grey, light ink on dark, ink box scaled into 20x20 with PIL's Lanczos filter, centre of mass at (14, 14)),
// so the page and the server hand the encoder the same picture.

const lanczos = (x) => {
  const sinc = (t) => (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t));
  return x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0;
};

// PIL's precompute_coeffs (Resample.c): for each output pixel, the first input pixel and the normalised weights.
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 3 * filterscale;
  const rows = [];
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    const k = new Float64Array(xmax);
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      k[x] = lanczos((x + xmin - center + 0.5) / filterscale);
      ww += k[x];
    }
    if (ww !== 0) for (let x = 0; x < xmax; x++) k[x] /= ww;
    rows.push([xmin, k]);
  }
  return rows;
}

// PIL's resize of a mode "F" image: a horizontal pass, then a vertical one, each only when that side changes.
export function resizeLanczos(src, h, w, outH, outW) {
  let img = src, width = w;
  if (outW !== w) {
    const cs = coefficients(w, outW);
    const out = new Float32Array(h * outW);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < outW; xx++) {
        const [xmin, k] = cs[xx];
        let ss = 0;
        for (let x = 0; x < k.length; x++) ss += img[y * width + x + xmin] * k[x];
        out[y * outW + xx] = ss;
      }
    img = out;
    width = outW;
  }
  if (outH !== h) {
    const cs = coefficients(h, outH);
    const out = new Float32Array(outH * width);
    for (let yy = 0; yy < outH; yy++) {
      const [ymin, k] = cs[yy];
      for (let x = 0; x < width; x++) {
        let ss = 0;
        for (let y = 0; y < k.length; y++) ss += img[(y + ymin) * width + x] * k[y];
        out[yy * width + x] = ss;
      }
    }
    img = out;
  }
  return img;
}

const roundHalfEven = (v) => {  // Python's round()
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

const median = (values) => {  // numpy's median: the mean of the two middle values of an even count
  const s = Float32Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// RGBA pixels (a canvas's ImageData) -> Float32Array(784), or null when there is no ink to speak of.
export function prepareDigit(rgba, width, height) {
  const n = width * height;
  let arr = new Float32Array(n);
  for (let i = 0; i < n; i++) {  // PIL's convert("L"): L = R*299/1000 + G*587/1000 + B*114/1000
    const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    arr[i] = Math.trunc((r * 19595 + g * 38470 + b * 7471 + 0x8000) / 65536) / 255;
  }
  const border = [];
  for (let x = 0; x < width; x++) border.push(arr[x], arr[(height - 1) * width + x]);
  for (let y = 0; y < height; y++) border.push(arr[y * width], arr[y * width + width - 1]);
  let background = median(border);
  if (background > 0.5) {  // dark ink on light paper: MNIST is the other way round
    for (let i = 0; i < n; i++) arr[i] = 1 - arr[i];
    background = 1 - background;
  }
  let peak = 0;
  for (let i = 0; i < n; i++) peak = Math.max(peak, arr[i]);
  if (peak - background < 0.15) return null;
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let v = Math.min(Math.max((arr[i] - background) / (peak - background), 0), 1);
      v = Math.min(Math.max((v - 0.2) / 0.8, 0), 1);  // faint texture below 20% is background
      arr[i] = v;
      if (v > 0) {
        top = Math.min(top, y); bottom = Math.max(bottom, y);
        left = Math.min(left, x); right = Math.max(right, x);
      }
    }
  const h = bottom - top + 1, w = right - left + 1;
  const box = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) box[y * w + x] = arr[(y + top) * width + x + left];
  const scale = 20 / Math.max(h, w);
  const bw = Math.max(1, roundHalfEven(w * scale)), bh = Math.max(1, roundHalfEven(h * scale));
  const small = resizeLanczos(box, h, w, bh, bw);
  const frame = new Float32Array(784);
  const t = (28 - bh) >> 1, l = (28 - bw) >> 1;
  let mass = 0, my = 0, mx = 0;
  for (let y = 0; y < bh; y++)
    for (let x = 0; x < bw; x++) {
      const v = Math.min(Math.max(small[y * bw + x], 0), 1);
      frame[(y + t) * 28 + x + l] = v;
      mass += v; my += (y + t) * v; mx += (x + l) * v;
    }
  // Shift the centre of mass to pixel (14, 14), wrapping round as numpy's roll does.
  const dy = roundHalfEven(14 - my / mass), dx = roundHalfEven(14 - mx / mass);
  const out = new Float32Array(784);
  for (let y = 0; y < 28; y++)
    for (let x = 0; x < 28; x++) out[(((y + dy) % 28) + 28) % 28 * 28 + ((((x + dx) % 28) + 28) % 28)] = frame[y * 28 + x];
  return out;
}

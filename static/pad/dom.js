// Small helpers the pad's parts share for building and painting their elements.

export function el(tag, cls, parent, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  if (parent) parent.appendChild(e);
  return e;
}

export const fixed = (v) => (Math.abs(v) < 0.005 ? 0 : Number(v)).toFixed(2);  // no "-0.00"

export const megabytes = (got, total) => (total ? `${(got / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`
  : `${(got / 1e6).toFixed(1)} MB`);

// 784 grey levels in [0, 1] onto a 28x28 canvas.
export function paintDigit(canvas, pixels) {
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(Math.min(Math.max(pixels[i], 0), 1) * 255);
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

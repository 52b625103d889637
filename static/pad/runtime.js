// ONNX Runtime Web and the files it runs, fetched once per page and kept: shared by the latent pad (pad.js)
// and by the explorer's early start (ui.runtime), which imports this module at the same address, so both hold
// the one download.

const loaded = { ort: null, ortProgress: null, sessions: new Map(), maps: new Map() };

// Every file the pad fetches is immutable at its address (the runtime's folder names its version, a model's
// folder hashes its checkpoint), so a copy kept in the page's Cache Storage is always good: a reload, or the
// next lesson, loads nothing over the network. Cache Storage needs a secure context (https, or localhost);
// elsewhere the browser's ordinary HTTP cache does what it can.
const STORE = "aelib-pad-v1";

export async function fetchBytes(url, onProgress) {
  const store = globalThis.caches ? await caches.open(STORE).catch(() => null) : null;
  const kept = store && await store.match(url);
  if (kept) return new Uint8Array(await kept.arrayBuffer());
  const bytes = await download(url, onProgress);
  if (store) store.put(url, new Response(bytes)).catch(() => {});  // full disk: it is only a cache
  return bytes;
}

async function download(url, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body || !onProgress) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const parts = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
    onProgress(got, total);
  }
  const bytes = new Uint8Array(got);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  return bytes;
}

// One download of the runtime, however many ask for it (the explorer's early start, then the pad): each
// caller's onProgress hears that download while it lasts.
export function loadRuntime(base, onProgress) {
  if (!loaded.ort) {
    const listeners = (loaded.ortProgress = new Set());
    loaded.ort = (async () => {
      if (typeof WebAssembly !== "object") throw new Error("this browser cannot run WebAssembly");
      const [wasm, ort] = await Promise.all([
        fetchBytes(base + "ort-wasm-simd-threaded.wasm", (got, total) => listeners.forEach((f) => f(got, total))),
        import(base + "ort.wasm.bundle.min.mjs")]);
      ort.env.wasm.numThreads = 1;  // no cross-origin isolation here, and these models need no more
      ort.env.wasm.wasmBinary = wasm.buffer;
      return ort;
    })().catch((err) => { loaded.ort = null; throw err; }).finally(() => { loaded.ortProgress = null; });
  }
  if (onProgress) loaded.ortProgress?.add(onProgress);
  return loaded.ort;
}

// The model's file downloads while the runtime still loads: `runtime` is loadRuntime's promise.
export function loadSession(runtime, url, onProgress) {
  if (!loaded.sessions.has(url)) {
    const made = Promise.all([runtime, fetchBytes(url, onProgress)]).then(([ort, bytes]) =>
      ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] }));
    made.catch(() => loaded.sessions.delete(url));
    loaded.sessions.set(url, made);
  }
  return loaded.sessions.get(url);
}

// The map of the test set's codes (ui.pad writes it): n (x, y) float32 pairs, then n uint8 labels.
export function loadMap(url) {
  if (!loaded.maps.has(url)) loaded.maps.set(url, fetchBytes(url).then(parseMap));
  return loaded.maps.get(url);
}

export function parseMap(bytes) {
  const n = bytes.length / 9;
  return { points: new Float32Array(bytes.buffer, bytes.byteOffset, 2 * n), labels: bytes.subarray(8 * n) };
}

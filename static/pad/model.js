// One model in the page: its facts (model.json, written by aelib.export), its decoder and encoder run by ONNX
// Runtime Web, and the map of the test set's codes when the page shows one.

import { megabytes } from "./dom.js";
import { loadMap, loadRuntime, loadSession } from "./runtime.js";

export class Model {
  // Everything downloads side by side: the runtime (unless already here), the graphs, the facts and the map.
  // `say` hears how the downloads go.
  static async load(ortBase, files, mapped, say) {
    const runtime = loadRuntime(ortBase, (got, total) => say(`Loading the model runtime, once: ${megabytes(got, total)}`));
    const [ort, info, decoder, encoder, map] = await Promise.all([runtime,
      fetch(files + "model.json").then((r) => r.json()),
      loadSession(runtime, files + "decoder.onnx", (got, total) => say(`Loading the model: ${megabytes(got, total)}`)),
      loadSession(runtime, files + "encoder.onnx"), mapped ? loadMap(files + "map.bin") : null]);
    return new Model(ort, info, decoder, encoder, map);
  }

  constructor(ort, info, decoder, encoder, map) {
    Object.assign(this, { ort, info, decoder, encoder, map });
  }

  // codes: n * latent_dim numbers -> (n, 1, 28, 28) grey levels in [0, 1].
  async decode(codes, n) {
    const z = new this.ort.Tensor("float32", Float32Array.from(codes), [n, this.info.latent_dim]);
    return (await this.decoder.run({ z })).image.data;
  }

  // pixels: n * 784 grey levels -> the encoder's outputs: [code], or [mu, logvar] for a VAE.
  async encode(pixels, n) {
    const x = new this.ort.Tensor("float32", Float32Array.from(pixels), [n, 1, 28, 28]);
    const out = await this.encoder.run({ image: x });
    return this.info.encoder_outputs.map((k) => out[k].data);
  }
}

"""ONNX export: a model's encoder and decoder as two ONNX files, and a JSON file of what a page needs to run them."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from aelib.latent import LatentMap, prior_gaussians
from aelib.models import Autoencoder

FORMAT = 1  # bumped when the files or the JSON change meaning, so caches of older exports are redone
FILES = ("encoder.onnx", "decoder.onnx", "model.json")
UNMAPPED_RANGE = (-3.0, 3.0)  # per dimension, where codes are looked for without a test set to measure


class ExportError(RuntimeError):
    """A model that could not be written as ONNX; the message says why."""


class DecoderGraph(nn.Module):
    """codes (N, latent_dim) -> images (N, 1, 28, 28) in [0, 1], what `Autoencoder.decode` returns."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model.decoder(z))


class EncoderGraph(nn.Module):
    """images (N, 1, 28, 28) in [0, 1] -> the code (N, latent_dim) (a VQ-VAE's snapped to its codebook);
    for a VAE the posterior's (mu, logvar), each (N, latent_dim). The input checks of `encode` stay in Python: a graph has no
    room for a message."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        h = self.model.encoder(x)
        if self.model.discrete:
            return self.model.quantize(h)[0]  # each vector snapped to its codebook entry, as `encode` does
        return self.model.to_posterior(h) if self.model.variational else h


def _write_graph(graph: nn.Module, example: torch.Tensor, path: Path, inputs: list[str], outputs: list[str]) -> None:
    batch = torch.export.Dim("batch", min=1, max=65536)
    quiet = io.StringIO()  # the exporter prints its steps; a page or a test has no use for them
    with contextlib.redirect_stdout(quiet), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(graph.eval(), (example,), dynamo=True, input_names=inputs, output_names=outputs,
                                    dynamic_shapes=({0: batch},), verbose=False)
        program.save(str(path), external_data=False)  # one self-contained file: a page fetches one URL per graph


def page_info(model: Autoencoder, lmap: LatentMap | None) -> dict:
    """What a page needs beside the graphs, as JSON-able data: the code's size and ranges, the plane
    the map shows (PCA above 2-D), and a learned prior's Gaussians as they lie in that plane."""
    dims = model.latent_dim
    info: dict = {"format": FORMAT, "latent_dim": dims, "variational": bool(model.variational),
                  "encoder_outputs": ["mu", "logvar"] if model.variational else ["z"],
                  "preset": model.config.preset,
                  "dataset": getattr(model, "metadata", {}).get("dataset", "mnist")}  # a fresh build has none
    if lmap is None:
        info["code_ranges"] = [list(UNMAPPED_RANGE)] * dims
        info["plane"] = {"mean": [0.0, 0.0], "components": [[1.0, 0.0], [0.0, 1.0]]} if dims == 2 else None
        info["x_range"] = info["y_range"] = list(UNMAPPED_RANGE) if dims == 2 else None
    else:
        info["code_ranges"] = lmap.code_ranges.tolist()
        info["plane"] = {"mean": lmap.plane.mean.tolist(), "components": lmap.plane.components.tolist()}
        info["x_range"], info["y_range"] = list(lmap.x_range), list(lmap.y_range)
    gaussians = prior_gaussians(model, lmap.plane) if lmap is not None and dims == 2 else None
    info["prior"] = None if gaussians is None else {k: v.tolist() for k, v in
                                                    zip(("weights", "centres", "covariances"), gaussians)}
    return info


def export(model: Autoencoder, out_dir: str | os.PathLike, lmap: LatentMap | None = None) -> dict:
    """Write `encoder.onnx`, `decoder.onnx` and `model.json` into `out_dir` (made if missing) and
    return what the JSON holds. The three are written in a folder inside it and moved in once all
    are done, so a failed export leaves older files whole. Raises ExportError saying why when a graph cannot be exported."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info = page_info(model, lmap)
    # A copy on the CPU: the model itself may be serving other callers on a GPU meanwhile.
    cpu = model if next(model.parameters()).device.type == "cpu" else copy.deepcopy(model).cpu()
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        try:
            _write_graph(DecoderGraph(cpu), torch.zeros(2, model.latent_dim), work / "decoder.onnx", ["z"], ["image"])
            _write_graph(EncoderGraph(cpu), torch.zeros(2, 1, 28, 28), work / "encoder.onnx", ["image"],
                         info["encoder_outputs"])
        except Exception as err:  # the exporter raises many kinds; the caller needs one, with the reason
            raise ExportError(f"the {info['preset']} model could not be exported to ONNX: "
                              f"{type(err).__name__}: {(str(err).splitlines() or [''])[0][:300]}") from err
        (work / "model.json").write_text(json.dumps(info))
        for name in FILES:
            os.replace(work / name, out / name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return info

"""ONNX export: every preset and every shipped checkpoint, checked by the ONNX checker and against torch in ONNX Runtime."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from aelib import build, checkpoint
from aelib.cli import main as cli
from aelib.data import load_split, to_float
from aelib.export import FILES, ExportError, export
from aelib.latent import LatentMap
from aelib.presets import PRESETS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.name for p in (ROOT / "checkpoints").glob("*.pt"))
DECODER_TOLERANCE, ENCODER_TOLERANCE = 1e-4, 1e-3  # max abs difference from torch


def run(path: Path, array: np.ndarray) -> list[np.ndarray]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: array})


def agreement(model, out: Path, codes: torch.Tensor, images: torch.Tensor) -> tuple[float, float]:
    """(decoder, encoder) max abs difference between the exported graphs and torch."""
    with torch.no_grad():
        want_images = model.decode(codes).numpy()
        want_codes = model.posterior(images) if model.variational else (model.encode(images),)
    got_images = run(out / "decoder.onnx", codes.numpy())[0]
    got_codes = run(out / "encoder.onnx", images.numpy())
    assert len(got_codes) == len(want_codes)
    enc = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got_codes, want_codes))
    return float(np.abs(got_images - want_images).max()), enc


# Every preset's export with the slow tests; the quick loop exports two shipped models through the explorer
# (tests/test_page_explorer.py).
@pytest.mark.slow
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_exports_and_agrees_with_torch(name, tmp_path, synth):
    model = build(name, seed=0).eval()
    info = export(model, tmp_path)
    for f in FILES:
        assert (tmp_path / f).is_file()
    assert not list(tmp_path.glob("*.data")), "weights must sit inside the .onnx files: a page fetches one URL each"
    for graph in ("encoder.onnx", "decoder.onnx"):
        onnx.checker.check_model(onnx.load(tmp_path / graph), full_check=True)
    assert json.loads((tmp_path / "model.json").read_text()) == info
    assert info["latent_dim"] == model.latent_dim and info["variational"] == model.variational
    codes = torch.randn(1000, model.latent_dim, generator=torch.Generator().manual_seed(1))
    dec, enc = agreement(model, tmp_path, codes, to_float(synth[0][:64]))
    assert dec <= DECODER_TOLERANCE and enc <= ENCODER_TOLERANCE


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoints_export_and_agree_on_the_test_digits(name, tmp_path, data_root):
    model = checkpoint.load(ROOT / "checkpoints" / name, device="cpu")
    images, labels = load_split(model.metadata.get("dataset", "mnist"), "test", root=data_root)
    lmap = LatentMap(model, images[:2000], labels[:2000])
    info = export(model, tmp_path, lmap)
    assert info["code_ranges"] == lmap.code_ranges.tolist()
    assert len(info["plane"]["components"]) == 2 and len(info["plane"]["components"][0]) == model.latent_dim
    codes = torch.randn(1000, model.latent_dim, generator=torch.Generator().manual_seed(2))
    dec, enc = agreement(model, tmp_path, codes, to_float(images[:1000]))
    assert dec <= DECODER_TOLERANCE, f"decoder differs from torch by {dec:.2e}"
    assert enc <= ENCODER_TOLERANCE, f"encoder differs from torch by {enc:.2e}"


@pytest.mark.slow
def test_learned_prior_is_exported_in_the_plane(tmp_path, synth):
    model = build("vae-2d-mixture", seed=0).eval()
    info = export(model, tmp_path, LatentMap(model, *synth))
    k = model.config.prior_components
    assert len(info["prior"]["weights"]) == k and np.isclose(sum(info["prior"]["weights"]), 1.0, atol=1e-5)
    assert np.array(info["prior"]["covariances"]).shape == (k, 2, 2)
    assert export(build("vae-2d", seed=0), tmp_path / "plain")["prior"] is None


def test_a_failed_export_says_why_and_leaves_earlier_files_whole(tmp_path, monkeypatch):
    model = build("vae-2d", seed=0).eval()
    export(model, tmp_path)
    before = {f: (tmp_path / f).read_bytes() for f in FILES}

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operator aten::something")

    monkeypatch.setattr(torch.onnx, "export", broken)
    with pytest.raises(ExportError, match="could not be exported to ONNX.*unsupported operator"):
        export(model, tmp_path)
    assert {f: (tmp_path / f).read_bytes() for f in FILES} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)  # no half-written folder left behind


@pytest.mark.slow
def test_cli_export_writes_the_three_files(tmp_path, capsys, data_root):
    assert cli(["export", str(ROOT / "checkpoints" / "vae-2d.pt"), "--out", str(tmp_path), "--data",
                str(data_root)]) == 0
    info = json.loads((tmp_path / "model.json").read_text())
    assert info["latent_dim"] == 2 and info["x_range"][0] < info["x_range"][1]
    assert "decoder.onnx" in capsys.readouterr().out
    assert cli(["export", str(tmp_path / "missing.pt"), "--out", str(tmp_path)]) == 2

"""New digits drawn and judged, and the one path from a training run to a checkpoint, for the CLI and the app."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch

import aelib
from aelib.cli import main
from aelib.jobs import TrainingJob
from aelib.judge import CONFIDENT, load_judge
from aelib.latent import ClassGaussians
from aelib.runs import save_run
from aelib.samples import draw
from aelib.train import Trainer
from tests.conftest import synthetic_digits

ROOT = Path(__file__).resolve().parent.parent
JUDGE = ROOT / "checkpoints" / "judges" / "mnist.pt"


@pytest.fixture(scope="module")
def judge():
    return load_judge(JUDGE)


def test_drawn_digits_carry_their_codes_and_the_judges_verdicts(judge):
    model = aelib.build("vae-2d", seed=0).eval()
    s = draw(model, 12, seed=3, judge=judge)
    assert s.codes.shape == (12, 2) and s.images.shape == (12, 28, 28) and s.drawn_class is None
    labels, confidence = judge.predict(s.images)
    assert torch.equal(s.labels, labels) and torch.equal(s.confidence, confidence)
    assert s.recognisable == int((confidence >= CONFIDENT).sum())
    assert torch.equal(draw(model, 12, seed=3).codes, s.codes)  # a seed draws the same codes
    files = np.load(io.BytesIO(s.npz()))
    assert sorted(files) == ["codes", "images", "judge_confidence", "judge_labels"]
    assert files["images"].dtype == np.uint8 and files["images"].shape == (12, 28, 28)


def test_per_class_drawing_records_the_class_of_each_code():
    codes = torch.cat([torch.randn(50, 2) + 10 * c for c in range(10)])
    labels = torch.arange(10).repeat_interleave(50)
    s = draw(aelib.build("vae-2d", seed=0).eval(), 20, seed=0, per_class=ClassGaussians(codes, labels))
    assert s.drawn_class.tolist() == list(range(10)) * 2 and s.labels is None and s.recognisable == 0
    assert ((s.codes - 10 * s.drawn_class[:, None].float()).norm(dim=1) < 6).all()
    assert sorted(np.load(io.BytesIO(s.npz()))) == ["codes", "drawn_class", "images"]


def test_a_saved_run_records_the_metrics_of_the_very_weights_saved(tmp_path, judge):
    train, test = synthetic_digits(192), synthetic_digits(64, seed=1)
    trainer = Trainer(aelib.build("vae-2d", seed=0), aelib.recipe("vae-2d", epochs=2, batch_size=32, snapshots=True,
                                                                    snapshot_points=16), device="cpu",
                      train_data=train, test_data=test)
    list(trainer.run())
    path = save_run(trainer.result("done"), tmp_path / "run.pt", test[0], judge)
    model = aelib.load(path, device="cpu")
    meta = model.metadata
    assert meta["outcome"] == "done" and meta["epochs"] == 2 and len(meta["history"]) == 2
    assert meta["test_metrics"]["loss"] == pytest.approx(trainer.history[-1]["loss"], abs=1e-4)
    assert 0 <= meta["test_metrics"]["recognisable"] <= 1 and 0 <= meta["test_metrics"]["label_entropy"] <= 3.33
    assert model.extras["latent_history"].shape == (2, 16, 2)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), trainer.model.state_dict().values()))
    no_judge = aelib.read_metadata(save_run(trainer.result("done"), tmp_path / "plain.pt", test[0]))
    assert "recognisable" not in no_judge["test_metrics"]


@pytest.mark.slow
def test_the_cli_and_the_app_save_the_same_metadata(tmp_path, data_root, monkeypatch):
    """One save path: a run saved by `aelib train` and the same run saved from a training job
    record the same things (test metrics with recognisability, history, latent history)."""
    monkeypatch.chdir(ROOT)  # where the CLI finds the shipped judge
    args = ["--preset", "vae-2d", "--epochs", "1", "--limit", "512", "--data", str(data_root), "--device", "cpu"]
    assert main(["train", *args, "--history", "--out", str(tmp_path / "cli.pt")]) == 0
    config = aelib.recipe("vae-2d", epochs=1, limit=512, snapshots=True)
    job = TrainingJob("vae-2d", config, device="cpu", data_root=data_root).start()
    assert job.wait(300)
    app = aelib.load(job.save(tmp_path / "app.pt", judge=load_judge(JUDGE)), device="cpu")
    cli = aelib.load(tmp_path / "cli.pt", device="cpu")
    assert set(cli.metadata) == set(app.metadata)
    assert set(cli.metadata["test_metrics"]) == set(app.metadata["test_metrics"]) >= {"loss", "recognisable"}
    assert cli.metadata["test_metrics"] == pytest.approx(app.metadata["test_metrics"], rel=1e-4)  # same seed, same run
    assert set(cli.extras) == set(app.extras) and len(cli.metadata["history"]) == len(app.metadata["history"]) == 1

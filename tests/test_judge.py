"""The digit judge: it learns, it saves and loads safely, and it scores sets of digits."""

import math

import pytest
import torch

from aelib.judge import CONFIDENT, Judge, augmentation_experiment, fit, load_judge, recognisability, save_judge
from tests.conftest import synthetic_digits


def test_judge_learns_the_synthetic_classes():
    train, test = synthetic_digits(512), synthetic_digits(256, seed=1)
    torch.manual_seed(0)  # the initial weights, whatever ran before
    judge = Judge()
    events = list(fit(judge, train, test, epochs=5, batch_size=64, augment=False))
    assert [e.epoch for e in events] == [1, 2, 3, 4, 5]
    assert events[-1].train_loss < events[0].train_loss
    assert events[-1].test_accuracy > 0.8  # 10 positions of a blob: easy, but not for an untrained net


def test_predict_accepts_uint8_and_float_with_or_without_channel():
    judge = Judge().eval()
    images, _ = synthetic_digits(8)
    a = judge.predict(images)
    b = judge.predict(images.float().squeeze(1) / 255)
    assert torch.equal(a[0], b[0]) and torch.allclose(a[1], b[1], atol=1e-5)
    assert a[0].shape == (8,) and ((a[1] > 0) & (a[1] <= 1)).all()


def test_save_and_load_round_trip_and_refuse_a_damaged_file(tmp_path):
    judge = Judge().eval()
    judge.metadata = {"dataset": "mnist", "test_accuracy": 0.5}
    path = save_judge(judge, tmp_path / "judge.pt")
    back = load_judge(path)
    x = torch.rand(4, 1, 28, 28)
    assert torch.equal(judge(x), back(x)) and back.metadata["test_accuracy"] == 0.5
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a usable judge"):
        load_judge(path)
    with pytest.raises(FileNotFoundError, match="python -m aelib judge"):
        load_judge(tmp_path / "missing.pt")


def test_folded_network_gives_the_same_answers():
    judge = Judge()
    list(fit(judge, synthetic_digits(128), synthetic_digits(64, seed=1), epochs=1, augment=False))
    judge.eval()
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        assert torch.allclose(judge.folded()(x), judge(x), atol=1e-4)


class _Fixed(Judge):
    """A judge that always answers with the given logits: known answers for the metrics."""

    def __init__(self, logits):
        super().__init__()
        self.logits = logits

    def forward(self, x):
        return self.logits[: len(x)]

    def folded(self):
        return self


def test_recognisability_counts_confident_answers_and_label_entropy():
    sure = torch.full((10, 10), -20.0)
    sure[torch.arange(10), torch.arange(10)] = 20.0  # ten sure answers, one per class
    r = recognisability(_Fixed(sure), torch.zeros(10, 28, 28))
    assert r["confident_share"] == 1.0 and r["histogram"] == [1] * 10
    assert r["label_entropy"] == pytest.approx(math.log2(10))
    unsure = torch.zeros(10, 10)  # uniform: confidence 0.1, every answer class 0
    r = recognisability(_Fixed(unsure), torch.zeros(10, 28, 28))
    assert r["confident_share"] == 0.0 and r["label_entropy"] == 0.0 and CONFIDENT > 0.1


def test_augmentation_experiment_trains_both_judges_for_the_same_number_of_steps():
    from aelib import build

    train, test = synthetic_digits(256), synthetic_digits(128, seed=1)
    events = list(augmentation_experiment(build("vae-2d", seed=0), train, test, n_real=128, n_generated=384,
                                          epochs=4))
    real = [e for name, e in events if name == "real"]
    mixed = [e for name, e in events if name == "real + generated"]
    assert len(real) == 4 and len(mixed) == 1  # 4 epochs of 128 = 1 epoch of 512, in steps of 64
    assert all(0 <= e.test_accuracy <= 1 for e in real + mixed)

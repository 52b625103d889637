"""Data loading from torchvision's layout, without writing into a shared folder."""

import os

import pytest
import torch

from aelib.data import CLASS_NAMES, RAW_FILES, load_split, to_float


def snapshot(root):
    return sorted((p, os.path.getsize(os.path.join(p, f))) for p, _, fs in os.walk(root) for f in fs)


@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_real_splits_load_as_uint8_tensors(dataset, data_root, tmp_path, monkeypatch):
    monkeypatch.setenv("AELIB_CACHE", str(tmp_path / "cache"))
    before = snapshot(data_root)
    x, y = load_split(dataset, "train", root=data_root)
    xt, yt = load_split(dataset, "test", root=data_root)
    assert x.shape == (60_000, 1, 28, 28) and x.dtype == torch.uint8
    assert xt.shape == (10_000, 1, 28, 28) and yt.dtype == torch.int64
    assert torch.bincount(y, minlength=10).min() > 5000  # every class is there
    assert 0.1 < to_float(xt).mean() < 0.4
    assert len(CLASS_NAMES[dataset]) == 10
    assert snapshot(data_root) == before  # nothing written beside the archives


def test_missing_data_says_where_and_what(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        load_split("mnist", "train", root=tmp_path / "empty", download=False)
    msg = str(err.value)
    assert str(tmp_path / "empty") in msg or "empty" in msg
    assert all(f in msg for f in RAW_FILES)
    assert "AELIB_DATA" in msg


def test_env_var_picks_the_root(tmp_path, monkeypatch):
    monkeypatch.setenv("AELIB_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(FileNotFoundError, match="elsewhere"):
        load_split("fashion-mnist", "test", download=False)


def test_unknown_dataset_or_split():
    with pytest.raises(ValueError, match="fashion-mnist"):
        load_split("cifar", "train")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_split("mnist", "valid")

"""Checkpoints: round trips, atomic saves, and clear refusals of anything that is not one."""

import json
import os
import pickle

import pytest
import torch

import aelib
from aelib import build, load, read_metadata, save
from aelib.checkpoint import adopt
from aelib.presets import PRESETS


def outputs(model, seed=0):
    x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        return model.encode(x), model.decode(model.encode(x))


@pytest.mark.parametrize("name", list(PRESETS))
def test_save_then_load_gives_identical_outputs(name, tmp_path):
    model = build(name, seed=1).eval()
    path = save(model, tmp_path / "m.pt", {"dataset": "mnist", "epochs": 0})
    loaded = load(path, device="cpu")
    assert not loaded.training and type(loaded) is type(model)
    for a, b in zip(outputs(model), outputs(loaded), strict=True):
        assert torch.equal(a, b)
    assert loaded.metadata["preset"] == name and loaded.metadata["aelib_version"] == aelib.__version__


def test_half_precision_file_is_smaller_and_matches_rounded_weights(tmp_path):
    model = build("mlp-vae", seed=1).eval()
    full = save(model, tmp_path / "full.pt")
    half = save(model, tmp_path / "half.pt", half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    rounded = build("mlp-vae").eval()
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    for a, b in zip(outputs(rounded), outputs(load(half, device="cpu")), strict=True):
        assert torch.equal(a, b)
    assert read_metadata(half)["weights_dtype"] == "float16"


def test_metadata_and_extra_tensors_survive(tmp_path):
    hist = torch.randn(3, 50, 2)
    path = save(build("vae-2d"), tmp_path / "m.pt", {"test_metrics": {"loss": 140.5}, "seed": 3},
                tensors={"latent_history": hist})
    m = load(path, device="cpu")
    assert m.metadata["test_metrics"] == {"loss": 140.5} and m.metadata["seed"] == 3
    assert m.metadata["config"]["latent_dim"] == 2
    assert torch.equal(m.extras["latent_history"], hist)
    json.dumps(read_metadata(path))  # metadata is plain JSON


def test_failed_save_leaves_previous_file_intact(tmp_path):
    path = save(build("mlp-vae", seed=1), tmp_path / "m.pt", {"note": "first"})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save(build("mlp-vae", seed=2), path, {"note": object()})  # not JSON-able
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.pt"]  # no temp file left behind


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m aelib train"):
        load(tmp_path / "nope.pt")


def test_truncated_file(tmp_path):
    path = save(build("mlp-vae"), tmp_path / "m.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "junk.pt"
    path.write_bytes(os.urandom(5000))
    with pytest.raises(ValueError, match="not a readable aelib checkpoint"):
        load(path)


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))  # would create the file if ever unpickled


def test_malicious_pickle_is_refused_without_running(tmp_path):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"format": "aelib.checkpoint", "payload": _Evil(str(sentinel))}, path)
    with pytest.raises(ValueError, match="not a readable aelib checkpoint"):
        load(path)
    assert not sentinel.exists()
    raw = tmp_path / "evil.pkl"
    raw.write_bytes(pickle.dumps(_Evil(str(sentinel))))
    with pytest.raises(ValueError):
        load(raw)
    assert not sentinel.exists()


def test_plain_state_dict_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save(build("mlp-vae").state_dict(), path)
    with pytest.raises(ValueError, match="not an aelib checkpoint"):
        load(path)


def _rewrite_metadata(path, **changes):
    payload = torch.load(path, weights_only=True)
    meta = json.loads(payload["metadata"])
    for k, v in changes.items():
        meta["config"][k] = v
    payload["metadata"] = json.dumps(meta)
    torch.save(payload, path)


def test_mismatched_shapes(tmp_path):
    path = save(build("mlp-vae"), tmp_path / "m.pt")
    _rewrite_metadata(path, latent_dim=7)
    with pytest.raises(ValueError, match="does not match preset 'mlp-vae'"):
        load(path)


def test_unknown_preset(tmp_path):
    path = save(build("mlp-vae"), tmp_path / "m.pt")
    _rewrite_metadata(path, preset="hyper-vae")
    with pytest.raises(ValueError, match="unknown preset 'hyper-vae'"):
        load(path)


def test_inspect_names_the_reason_a_checkpoint_is_unusable(tmp_path):
    from aelib.checkpoint import inspect

    good = aelib.save(aelib.build("deep-ae-2d", seed=0), tmp_path / "good.pt")
    assert inspect(good)["preset"] == "deep-ae-2d"
    meta = {"preset": "mystery-ae", "config": {"preset": "mystery-ae", "latent_dim": 2}}
    torch.save({"format": "aelib.checkpoint", "format_version": 1, "metadata": json.dumps(meta),
                "state_dict": {}, "tensors": {}}, tmp_path / "mystery.pt")
    with pytest.raises(ValueError, match="unknown preset 'mystery-ae'"):
        inspect(tmp_path / "mystery.pt")


@pytest.mark.parametrize("name", ["../../x", "a/b", "", " ", ".hidden", "x" * 49, "name with spaces", "nul\0"])
def test_checkpoint_names_cannot_leave_their_folder(name, tmp_path):
    from aelib.checkpoint import path_for

    with pytest.raises(ValueError, match="not a usable checkpoint name"):
        path_for(tmp_path, name)


def test_good_checkpoint_names_stay_in_their_folder(tmp_path):
    from aelib.checkpoint import path_for

    assert path_for(tmp_path, "my-vae_2d") == tmp_path / "my-vae_2d.pt"
    assert path_for(tmp_path, " run-3.pt ") == tmp_path / "run-3.pt"


SAVER = """
import sys, torch, aelib
model = aelib.build("vae", seed=1)  # about 7 MB per file
print("ready", flush=True)
while True:
    aelib.save(model, sys.argv[1], {"round": "new"})
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5])
def test_a_process_killed_while_saving_leaves_the_previous_file_intact(tmp_path, delay):
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "model.pt"
    old = build("deep-ae-2d", seed=0)
    save(old, path, {"round": "old"})
    before = path.read_bytes()
    saver = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True)
    assert saver.stdout.readline().strip() == "ready"
    time.sleep(delay)  # saves take about 10 ms each and follow each other: the kill lands mid-save
    saver.send_signal(signal.SIGKILL)
    saver.wait()
    # Whatever moment the kill came, the file is a whole checkpoint: the old one or a new one.
    meta = read_metadata(path)
    assert meta["round"] in ("old", "new")
    if meta["round"] == "old":
        assert path.read_bytes() == before
    assert load(path, device="cpu").config.preset in ("deep-ae-2d", "vae")
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["model.pt"]  # no half-written .pt beside it


# --- Uploaded checkpoints ------------------------------------------------------------------------

def _upload_refused(data: bytes, folder, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        adopt(data, folder, "upload")
    assert not any(folder.iterdir()), "a refused upload must leave nothing behind"


def test_uploaded_checkpoint_is_checked_then_written(tmp_path):
    src = save(build("vae-2d", seed=3), tmp_path / "src.pt")
    folder = tmp_path / "trained"
    path = adopt(src.read_bytes(), folder, "mine")
    assert path == folder / "mine.pt" and path.read_bytes() == src.read_bytes()
    assert all(torch.equal(a, b) for a, b in zip(load(path, device="cpu").state_dict().values(),
                                                 build("vae-2d", seed=3).state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="already exists"):
        adopt(save(build("vae-2d", seed=4), tmp_path / "other.pt").read_bytes(), folder, "mine")
    assert path.read_bytes() == src.read_bytes()  # the file already there is untouched


def test_uploaded_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "aelib.checkpoint", "payload": _Evil(str(sentinel))}, evil)
    folder = tmp_path / "trained"
    folder.mkdir()
    for data in (evil.read_bytes(), pickle.dumps(_Evil(str(sentinel)))):
        _upload_refused(data, folder, "could run code when opened, so it was refused unopened")
        assert not sentinel.exists()  # the payload's open() never ran
    pickle.loads(pickle.dumps(_Evil(str(sentinel))))  # ...though it would have, if unpickled
    assert sentinel.exists()


def test_uploaded_truncated_random_empty_and_oversized_files_are_refused(tmp_path):
    good = save(build("mlp-vae"), tmp_path / "m.pt").read_bytes()
    folder = tmp_path / "trained"
    folder.mkdir()
    _upload_refused(good[: len(good) // 2], folder, "truncated or corrupt")
    _upload_refused(os.urandom(4096), folder, "not a readable aelib checkpoint")
    _upload_refused(b"", folder, "empty")
    with pytest.raises(ValueError, match="at most 1 MB"):
        adopt(good, folder, "big", max_bytes=2**20)
    assert not any(folder.iterdir())


def test_uploaded_weights_of_another_model_are_refused(tmp_path):
    folder = tmp_path / "trained"
    folder.mkdir()
    other_shapes = save(build("mlp-vae"), tmp_path / "a.pt")
    _rewrite_metadata(other_shapes, latent_dim=7)
    _upload_refused(other_shapes.read_bytes(), folder, "does not match preset 'mlp-vae'")
    other_preset = save(build("mlp-vae"), tmp_path / "b.pt")  # says mlp-vae, holds conv-vae weights
    payload = torch.load(other_preset, weights_only=True)
    payload["state_dict"] = build("conv-vae").state_dict()
    torch.save(payload, other_preset)
    _upload_refused(other_preset.read_bytes(), folder, "does not match preset 'mlp-vae'")
    unknown = save(build("mlp-vae"), tmp_path / "c.pt")
    _rewrite_metadata(unknown, preset="hyper-vae")
    _upload_refused(unknown.read_bytes(), folder, "unknown preset 'hyper-vae'")
    plain = tmp_path / "sd.pt"
    torch.save(build("mlp-vae").state_dict(), plain)
    _upload_refused(plain.read_bytes(), folder, "not an aelib checkpoint")

"""Device choice, the command line, and what `import aelib` pulls in."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from aelib import load
from aelib.cli import main
from aelib.device import pick_device
from aelib.presets import PRESETS
from tests.conftest import need


ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "aelib", *args], capture_output=True, text=True, env=ENV, cwd=cwd)


def test_pick_device(monkeypatch):
    monkeypatch.delenv("AELIB_DEVICE", raising=False)
    auto = pick_device()
    assert auto.type in ("cuda", "mps", "cpu")
    if torch.cuda.is_available():
        assert auto.type == "cuda"
    monkeypatch.setenv("AELIB_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda")


def test_import_does_not_pull_streamlit_or_torchvision():
    code = "import sys, aelib; print('streamlit' in sys.modules, 'torchvision' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_presets_command_lists_every_preset(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name in PRESETS:
        assert f"\n{name} " in out
    assert "51,154" in out  # S3's parameter count


@pytest.mark.slow
def test_the_aelib_command_and_python_m_aelib_are_the_same_program():
    if shutil.which("aelib") is None:
        need("the aelib command is not installed: pip install -e . (the README's commands do it)")
    by_command = subprocess.run(["aelib", "presets"], capture_output=True, text=True)
    by_module = run("presets")
    assert by_command.returncode == by_module.returncode == 0
    assert by_command.stdout == by_module.stdout and "vae-2d" in by_command.stdout
    piped = subprocess.run("aelib presets | head -1", shell=True, capture_output=True, text=True)
    assert piped.stdout.startswith("preset") and "Traceback" not in piped.stderr  # a reader that leaves early


@pytest.mark.slow
def test_train_then_eval(tmp_path, data_root):
    ckpt = tmp_path / "tiny.pt"
    out = run("train", "--preset", "vae-2d", "--epochs", "1", "--limit", "512", "--data", str(data_root),
              "--device", "cpu", "--history", "--out", str(ckpt))
    assert out.returncode == 0, out.stderr
    assert "test loss" in out.stdout and "Saved" in out.stdout
    model = load(ckpt, device="cpu")
    assert model.metadata["epochs"] == 1 and model.metadata["dataset"] == "mnist"
    assert model.extras["latent_history"].shape == (1, 2000, 2)
    ev = run("eval", str(ckpt), "--data", str(data_root), "--device", "cpu")
    assert ev.returncode == 0 and "nats/image" in ev.stdout


@pytest.mark.parametrize("args, message", [
    (["train", "--preset", "vae-2d", "--latent-dim", "0", "--out", "x.pt"], "latent_dim must be"),
    (["train", "--preset", "vae-2d", "--epochs", "-1", "--out", "x.pt"], "epochs must be"),
    (["train", "--preset", "vae-2d", "--lr", "0", "--out", "x.pt"], "learning rate must be"),
    (["train", "--preset", "nope", "--out", "x.pt"], "invalid choice: 'nope'"),
    (["eval", "missing.pt"], "no checkpoint at missing.pt"),
])
def test_bad_arguments_get_one_clear_line(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(args)
    except SystemExit as exit:  # argparse's own refusals
        code = exit.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err


def test_the_library_holds_no_app():
    """aelib knows nothing of Streamlit, sessions or the app's own modules (the app imports aelib,
    never the other way round)."""
    import re

    for path in (ROOT / "aelib").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"streamlit|session_state", text, re.I), path.name
        assert not re.search(r"^\s*(from|import) (ui|pages)\b", text, re.M), path.name

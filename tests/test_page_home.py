"""Home and Presets: every checkpoint one click from the explorer, unusable ones said why; and the server's configuration for a class."""

import json

import pytest
import torch

import aelib
from aelib.device import describe_device
from aelib.presets import PRESETS
from tests.apptest import ROOT, SHIPPED, app, pad_data, page


@pytest.mark.slow
def test_home_lists_every_checkpoint_one_click_from_the_explorer(with_data):
    at = app().run()
    assert not at.exception
    device = describe_device(aelib.pick_device()).split(" (")[0]  # its thread count depends on the thread asking
    assert any(c.value.startswith(f"Running on {device}") for c in at.caption)  # the device in use
    assert [b.key for b in at.button] == [f"explore:{n}" for n in SHIPPED]
    at.button(key="explore:conv-vae.pt").click().run()
    assert not at.exception
    assert at.session_state["model"] == "conv-vae.pt"
    assert pad_data(at, "conv-vae.pt") is not None  # the explorer, on that model's pad
    assert at.sidebar.selectbox[0].value == "conv-vae.pt"


def test_home_lists_a_checkpoint_of_unknown_preset_as_unusable(own_checkpoints):
    meta = {"preset": "mystery-ae", "config": {"preset": "mystery-ae", "latent_dim": 2}}
    torch.save({"format": "aelib.checkpoint", "format_version": 1, "metadata": json.dumps(meta),
                "state_dict": {}, "tensors": {}}, own_checkpoints / "mystery.pt")
    (own_checkpoints / "garbage.pt").write_bytes(b"not a checkpoint")
    at = page("home.py").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("mystery.pt" in w and "unknown preset 'mystery-ae'" in w for w in warnings), warnings
    assert any("garbage.pt" in w and "not a readable aelib checkpoint" in w for w in warnings), warnings
    assert [b.key for b in at.button] == ["explore:ae-2d.pt", "explore:vae-2d.pt"]  # only usable ones


def test_presets_page_lists_every_preset():
    at = page("presets.py").run()
    assert not at.exception
    assert len(at.table[0].value) == len(PRESETS)


def test_server_config_suits_a_shared_server():
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["headless"] is True
    assert cfg["browser"]["gatherUsageStats"] is False
    # Streamlit's cap sits above the app's own limits, so an oversized file gets the app's message.
    from aelib.checkpoint import MAX_CHECKPOINT_BYTES
    from aelib.images import MAX_BYTES

    assert max(MAX_CHECKPOINT_BYTES, MAX_BYTES) < cfg["server"]["maxUploadSize"] * 2**20
    assert cfg["runner"]["postScriptGC"] is False  # 0.1 s per click under load otherwise (bench/load.py)

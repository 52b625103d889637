"""The landing page and the presets page run and show what they promise."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import aelib
from aelib.presets import PRESETS

ROOT = Path(__file__).resolve().parent.parent


def test_home_lists_shipped_checkpoints(monkeypatch):
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "Autoencoder explorer" in at.title[0].value
    table = at.dataframe[0].value
    assert {"vae-2d", "mlp-vae", "deep-ae-2d"} <= set(table["preset"])
    assert any("Running on" in c.value for c in at.caption)


def test_presets_page_lists_every_preset():
    at = AppTest.from_file(str(ROOT / "pages" / "1_Presets.py"), default_timeout=60).run()
    assert not at.exception
    assert len(at.table[0].value) == len(PRESETS)


def _explorer():
    return AppTest.from_file(str(ROOT / "pages" / "2_Explorer.py"), default_timeout=120)


def _digit_spec_list(at) -> list[str]:
    """Specs of the image charts (everything but the map)."""
    return [c.proto.spec for c in at.get("plotly_chart") if "scattergl" not in c.proto.spec]


def _digit_spec(at) -> str:
    """The decoded digit's chart: the smallest image (the manifold is the large one)."""
    heatmaps = _digit_spec_list(at)
    assert len(heatmaps) == 2
    return min(heatmaps, key=len)


def test_explorer_slider_decodes_a_new_digit(data_root, monkeypatch):
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    at = _explorer().run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "vae-2d.pt"
    digit_before = _digit_spec(at)
    at.slider(key="vae-2d.pt:z0").set_value(2.0).run()
    assert not at.exception
    assert _digit_spec(at) != digit_before  # the decoded digit changed
    assert any("Code (2.00, 0.00)" in c.value for c in at.caption)


def test_explorer_click_moves_the_sliders(data_root, monkeypatch):
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    at = _explorer().run()
    at.session_state["vae-2d.pt:map"] = {"selection": {"points": [{"x": -1.5, "y": 1.0}]}}
    at.run()
    assert not at.exception
    assert at.slider(key="vae-2d.pt:z0").value == -1.5 and at.slider(key="vae-2d.pt:z1").value == 1.0
    assert any("Code (-1.50, 1.00)" in c.value for c in at.caption)


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "checkpoints").glob("*.pt")))
def test_explorer_works_for_every_shipped_model(name, data_root, monkeypatch):
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    at = _explorer().run()
    at.sidebar.selectbox[0].set_value(name).run()
    assert not at.exception
    dims = aelib.read_metadata(ROOT / "checkpoints" / name)["config"]["latent_dim"]
    # one slider per latent dimension, or two along the map's plane for long codes
    assert len(at.slider) == (dims if dims <= 32 else 2)
    at.session_state[f"{name}:map"] = {"selection": {"points": [{"x": 0.5, "y": -0.5}]}}
    at.run()
    assert not at.exception
    assert len(_digit_spec_list(at)) == 2  # the decoded digit and the manifold
    if dims > 32:
        assert [sl.value for sl in at.slider] == [0.5, -0.5]

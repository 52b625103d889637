"""The latent explorer: the pad handed its model, the server's own path, sliders, clicks, links, interpolation."""

import json

import pytest

import aelib
from tests.apptest import (
    ROOT,
    SHIPPED,
    chart,
    charts,
    explorer,
    pad_data,
    pictures,
)


def _digit(at) -> str:
    """The decoded digit on the server's path: the first picture."""
    return pictures(at)[0]


@pytest.mark.parametrize("name", ["vae-2d-mixture.pt", "conv-ae.pt"])
def test_explorer_hands_the_pad_a_model_exported_once(name, with_data):
    at = explorer(pad=True)
    at.session_state["model"] = name
    at.run()
    assert not at.exception
    data = pad_data(at, name)
    folder = ROOT / data["files"].removeprefix("/app/")
    for f in ("encoder.onnx", "decoder.onnx", "model.json", "map.bin"):
        assert (folder / f).is_file()
    info = json.loads((folder / "model.json").read_text())
    assert len(data["pin"]) == info["latent_dim"] and (ROOT / data["ort"].removeprefix("/app/")).is_dir()
    assert (folder / "map.bin").stat().st_size == 10_000 * 9  # the test set's spots and labels
    assert data["perDim"] == (info["latent_dim"] <= 32)
    assert data["prior"] is True  # the toggle's default: the pad draws the prior's Gaussians, when there are any
    if name == "vae-2d-mixture.pt":  # its learned prior's Gaussians, in model.json for the pad to draw
        assert len(info["prior"]["weights"]) == 50 and len(info["prior"]["covariances"][0]) == 2
    mtime = (folder / "decoder.onnx").stat().st_mtime
    at.run()
    assert (folder / "decoder.onnx").stat().st_mtime == mtime  # exported once, then served as it is
    assert any("the nearest real digit on the map" in c.value for c in at.caption)
    assert len(pictures(at)) == 1 + 1 + 3  # the nearest real digit, the manifold, the morph's three rows


def test_explorer_falls_back_to_the_server_when_the_export_fails(with_data, tmp_path, monkeypatch):
    import ui.pad
    from aelib.export import ExportError

    def broken(*args, **kwargs):
        raise ExportError("the ae-2d model could not be exported to ONNX: an operator it lacks")

    monkeypatch.setattr(ui.pad, "EXPORTS", tmp_path)
    monkeypatch.setattr(ui.pad, "export", broken)
    at = explorer(pad=True)
    at.session_state["model"] = "ae-2d.pt"
    at.run()
    assert not at.exception
    assert any("Decoding on the server" in i.value and "an operator it lacks" in i.value for i in at.info)
    assert pad_data(at, "ae-2d.pt") is None and chart(at, "ae-2d.pt:map") is not None  # today's map instead
    assert not list(tmp_path.iterdir())  # no half-written export left behind


def test_explorer_slider_decodes_a_new_digit(with_data):
    at = explorer().run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "vae-2d.pt"
    before = _digit(at)
    at.slider(key="vae-2d.pt:z0").set_value(2.0).run()
    assert not at.exception
    assert _digit(at) != before
    assert any("the code (2.00, 0.00)" in c.value for c in at.caption)


def test_explorer_click_moves_the_sliders(with_data):
    at = explorer().run()
    at.session_state["vae-2d.pt:map"] = {"selection": {"points": [{"x": -1.5, "y": 1.0}]}}
    at.run()
    assert not at.exception
    assert at.slider(key="vae-2d.pt:z0").value == -1.5 and at.slider(key="vae-2d.pt:z1").value == 1.0
    assert any("the code (-1.50, 1.00)" in c.value for c in at.caption)
    assert len(pictures(at)) == 2 + 1 + 3  # the decoded and the nearest real digit, the manifold, the morph


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_explorer_works_for_every_shipped_model(name, with_data):
    at = explorer().run()
    at.sidebar.selectbox[0].set_value(name).run()
    assert not at.exception
    assert at.session_state["model"] == name  # the choice carries over to other pages
    dims = aelib.read_metadata(ROOT / "checkpoints" / name)["config"]["latent_dim"]
    assert len(at.slider) == (dims if dims <= 32 else 2) + 1  # + the interpolation's steps
    at.session_state[f"{name}:map"] = {"selection": {"points": [{"x": 0.5, "y": -0.5}]}}
    at.run()
    assert not at.exception
    if dims > 32:
        assert [sl.value for sl in at.slider][:2] == [0.5, -0.5]


def test_interpolation_between_test_digits_and_between_chosen_spots(with_data):
    at = explorer().run()
    strip = pictures(at)[-3:]  # the real ends, the linear path, the spherical one
    at.number_input(key="morph:b").set_value(7).run()
    assert not at.exception and all(a != b for a, b in zip(pictures(at)[-3:], strip))
    assert any("to a 9" in c.value for c in at.caption)  # test image 7 is a 9
    at.radio(key="morph:mode").set_value("two spots you choose").run()
    at.slider(key="vae-2d.pt:z0").set_value(1.0).run()
    at.button(key="morph:set_a").click().run()
    assert at.session_state["vae-2d.pt:morph_a"] == [1.0, 0.0]
    at.slider(key="vae-2d.pt:z0").set_value(-1.0).run()
    at.button(key="morph:set_b").click().run()
    assert at.session_state["vae-2d.pt:morph_b"] == [-1.0, 0.0]
    assert not at.exception


def test_explorer_draws_a_learned_priors_gaussians_in_2d_only(with_data):
    at = explorer()
    at.session_state["model"] = "vae-2d-mixture.pt"
    at.run()
    assert not at.exception
    assert "the prior's Gaussians" in next(c for c in charts(at) if "click grid" in c)
    at.toggle(key="explore:prior").set_value(False).run()
    assert "the prior's Gaussians" not in next(c for c in charts(at) if "click grid" in c)
    at.toggle(key="explore:prior").set_value(True).run()
    at.session_state["model"] = "vae-2d.pt"  # N(0, I): nothing to draw, no toggle
    at.run()
    assert not at.exception and not any(t.key == "explore:prior" for t in at.toggle)
    assert "the prior's Gaussians" not in next(c for c in charts(at) if "click grid" in c)


def test_explorer_paints_the_plane_by_the_judges_verdict_and_plays_the_history(with_data):
    at = explorer(painted=True).run()
    the_map = next(c for c in charts(at) if "click grid" in c)
    assert '"images":[{' in the_map and "base64" in the_map  # painted by default
    at.toggle(key="explore:painted").set_value(False).run()
    assert not at.exception
    assert '"images":[{' not in next(c for c in charts(at) if "click grid" in c)
    assert not any('"frames"' in c for c in charts(at))
    at.toggle(key="explore:story").set_value(True).run()  # vae-2d.pt ships with its latent history
    assert not at.exception
    assert any('"frames"' in c for c in charts(at))


def test_a_shared_link_opens_the_same_view_and_the_address_follows_it(with_data):
    at = explorer()
    at.query_params.update({"model": "deep-ae-2d.pt", "z": "1.5,-0.5", "grid": "20"})
    at.run()
    assert not at.exception and not at.warning
    assert at.sidebar.selectbox[0].value == "deep-ae-2d.pt"
    assert at.slider(key="deep-ae-2d.pt:z0").value == 1.5 and at.slider(key="deep-ae-2d.pt:z1").value == -0.5
    assert any("the code (1.50, -0.50)" in c.value for c in at.caption)
    assert at.select_slider(key="explore:grid").value == 20
    at.slider(key="deep-ae-2d.pt:z0").set_value(-1.0).run()
    assert at.query_params["z"] == "-1.000,-0.500" and at.query_params["grid"] == "20"
    assert at.query_params["model"] == "deep-ae-2d.pt"


@pytest.mark.parametrize("link, message", [
    ({"model": "vae-2d.pt", "z": "abc"}, "not a list of numbers"),
    ({"model": "vae-2d.pt", "z": "1,2,3"}, "this model's code has 2"),
    ({"model": "../../etc/passwd"}, "does not have"),
])


def test_a_broken_link_gets_a_message_and_a_working_page(link, message, with_data):
    at = explorer()
    at.query_params.update(link)
    at.run()
    assert not at.exception
    assert any(message in w.value for w in at.warning)
    assert any("the code (" in c.value for c in at.caption)


def test_explorer_without_the_dataset_still_decodes(tmp_path, monkeypatch):
    monkeypatch.setenv("AELIB_DATA", str(tmp_path / "no-data"))
    at = explorer()
    at.session_state["model"] = "deep-ae-2d.pt"  # a model whose map is not cached by other tests
    at.run()
    assert not at.exception
    assert any("needs the mnist test set" in i.value for i in at.info)
    before = _digit(at)
    at.slider(key="deep-ae-2d.pt:z0").set_value(1.0).run()
    assert _digit(at) != before


def test_a_link_to_a_saved_model_that_is_not_there_gets_a_message(with_data, own_checkpoints):
    at = explorer()
    at.query_params["model"] = "trained/nobody-saved-this.pt"
    at.run()
    assert not at.exception
    assert any("does not have" in w.value for w in at.warning)

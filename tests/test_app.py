"""Every page runs, and every widget path changes what is shown (Streamlit's AppTest, no browser)."""

import json
import re
import shutil
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import aelib
from aelib.device import describe_device
from aelib.presets import PRESETS

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p.name for p in (ROOT / "checkpoints").glob("*.pt"))


def page(name: str, timeout: float = 120) -> AppTest:
    return AppTest.from_file(str(ROOT / "pages" / name), default_timeout=timeout)


def explorer(pad: bool = False) -> AppTest:
    """The explorer; without `pad`, on the server's own path, which a browser that cannot run the model gets
    (AppTest runs no JavaScript, so the pad's own moves are tested in the browser tests)."""
    at = page("explorer.py")
    if not pad:
        at.session_state["explore:pad_failed"] = "a test of the server's path"
    return at


def app(timeout: float = 120) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)


@pytest.fixture
def with_data(data_root, monkeypatch):
    monkeypatch.setenv("AELIB_DATA", str(data_root))


@pytest.fixture
def own_checkpoints(tmp_path, monkeypatch):
    """A checkpoints folder of the test's own, holding two shipped models."""
    for name in ("vae-2d.pt", "ae-2d.pt"):
        shutil.copy(ROOT / "checkpoints" / name, tmp_path / name)
    monkeypatch.setenv("AELIB_CHECKPOINTS", str(tmp_path))
    return tmp_path


def charts(at) -> list[str]:
    return [c.proto.spec for c in at.get("plotly_chart")]


def chart(at, key: str) -> str | None:
    """The figure of the chart drawn with `key`, or None when there is none."""
    return next((c.proto.spec for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")), None)


def pictures(at) -> list[str]:
    """The addresses of the plain pictures drawn (st.image), in order; the same picture keeps its address."""
    return [i.value[0] for i in at.get("image")]


def pad_data(at, model: str) -> dict | None:
    """What the explorer handed the latent pad for `model`, or None when it drew no pad."""
    return next((json.loads(e.proto.json) for e in at.get("bidi_component") if e.proto.id.endswith(f"-{model}:pad")),
                None)


# --- Home and presets ----------------------------------------------------------------------------

@pytest.mark.slow
def test_home_lists_every_checkpoint_one_click_from_the_explorer(with_data):
    at = app().run()
    assert not at.exception
    assert any(describe_device(aelib.pick_device()) in c.value for c in at.caption)  # the device in use
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


# --- Latent explorer -------------------------------------------------------------------------------

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
    if name == "vae-2d-mixture.pt":
        assert data["rings"] and len(data["rings"][0][0]) == 49  # the learned prior's ellipses
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
    at = explorer().run()
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


# --- Train --------------------------------------------------------------------------------------------

def _train_page(preset: str, epochs: int, limit: int = 1_000) -> AppTest:
    at = app()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train:preset").set_value(preset).run()
    at.number_input(key=f"train:{preset}:quick:epochs").set_value(epochs).run()
    at.select_slider(key=f"train:{preset}:limit").set_value(limit).run()
    return at


def test_train_page_opens_on_a_quick_2d_run_and_says_how_long_it_takes(with_data):
    at = app()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.selectbox(key="train:preset").value == "vae-2d" and at.radio(key="train:vae-2d:length").value == "quick"
    assert at.number_input(key="train:vae-2d:quick:epochs").value == 1
    quick = next(c.value for c in at.caption if "on this machine" in c.value)
    assert "measured just now" in quick and "training images a second" in quick
    at.radio(key="train:vae-2d:length").set_value("recipe").run()  # the seed's or preset's whole recipe
    assert at.number_input(key="train:vae-2d:recipe:epochs").value == 60
    full = next(c.value for c in at.caption if "on this machine" in c.value)
    assert _seconds(full) > 20 * _seconds(quick)  # 60 epochs against one, at the same measured speed


@pytest.mark.parametrize("preset", list(PRESETS))
def test_train_page_opens_on_every_preset_with_its_own_settings(preset, with_data):
    at = app()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train:preset").set_value(preset).run()
    assert not at.exception  # the conv AEs' and the VQ-VAE's fixed codes are longer than a chosen one may be
    latent = at.number_input(key=f"train:{preset}:latent")
    assert latent.value == PRESETS[preset].config.latent_dim and latent.disabled == PRESETS[preset].latent_fixed


def test_train_page_shows_the_curve_to_beat_before_start(with_data):
    at = app()
    at.switch_page("pages/train.py").run()
    planned = json.loads(chart(at, "train:planned"))  # the shipped vae-2d.pt, tested after each of its epochs
    assert len(planned["data"][0]["x"]) == 60 and "vae-2d.pt" in planned["layout"]["yaxis"]["title"]["text"]
    assert planned["layout"]["shapes"][0]["x1"] == 1  # the quick run's one epoch, shaded
    at.radio(key="train:vae-2d:length").set_value("recipe").run()
    assert json.loads(chart(at, "train:planned"))["layout"]["shapes"][0]["x1"] == 60
    at.number_input(key="train:vae-2d:latent").set_value(3).run()  # no shipped model has these settings
    assert not at.exception and chart(at, "train:planned") is None


def _seconds(note: str) -> float:
    """The duration a Train page estimate gives, in seconds."""
    value, unit = re.search(r"about \*\*([\d.]+) (s|min|h)\*\*", note).groups()
    return float(value) * {"s": 1, "min": 60, "h": 3600}[unit]


@pytest.mark.slow
def test_the_default_run_finishes_and_draws_its_map(with_data, own_checkpoints):
    at = app()
    at.switch_page("pages/train.py").run()
    at.button(key="train:start").click().run()  # the page's own settings: vae-2d, 1 epoch, all 60,000 images
    job = at.session_state["job"]
    assert job.config.epochs == 1 and job.config.limit is None and job.preset.name == "vae-2d"
    # The live chart is there before the first step, with the shipped run's curve to beat: drawn while the
    # training process starts, its first draw takes no core from the training.
    assert job.view().last is None
    live = json.loads(chart(at, "train:loss"))
    assert not live["data"][0]["x"] and live["data"][-1]["name"] == "shipped vae-2d.pt"
    _until_finished(at, timeout=300)
    assert not at.exception and job.state == "done"
    assert chart(at, "train:map") is not None  # the 2-D codes of the test digits, coloured by class
    assert job.view().evals[-1]["loss"] < 175  # nats/image: clusters have formed
    assert any("to start the training process" in c.value and "plus" in c.value and "s to start" in c.value
               for c in at.caption)  # the next estimate counts the start this run measured


def _until_finished(at, timeout: float = 120) -> None:
    t0 = time.time()
    while at.session_state["job"].state in ("loading", "running"):
        assert time.time() - t0 < timeout
        time.sleep(0.2)
    at.run()


@pytest.mark.slow
def test_train_one_epoch_then_save_and_use_the_model(with_data, own_checkpoints):
    at = _train_page("deep-ae-2d", epochs=1)
    assert not at.exception and at.button(key="train:start").disabled is False
    at.button(key="train:start").click().run()
    assert not at.exception
    job = at.session_state["job"]
    assert job.config.epochs == 1 and job.config.limit == 1_000
    assert at.query_params["run"].startswith("deep-ae-2d@")  # the address bar names the unsaved run
    _until_finished(at)
    assert not at.exception
    assert job.state == "done" and len(at.success) == 1  # the run's own message, in green
    assert at.get("progress")[0].proto.value == 100
    specs = charts(at)
    assert any("test loss" in s for s in specs)  # the loss chart
    assert any("rebuilt" in s for s in specs)  # reconstructions of fixed digits
    # A bad name is refused and nothing is written.
    at.text_input(key="train:name").set_value("../../escape")  # form values count on submit
    at.button(key="train:save").click().run()
    assert any("not a usable checkpoint name" in e.value for e in at.error)
    assert not (own_checkpoints / "trained").exists()
    # A good one is saved, listed and becomes the model on every page.
    at.text_input(key="train:name").set_value("my-first")
    at.button(key="train:save").click().run()
    assert not at.exception
    saved = own_checkpoints / "trained" / "my-first.pt"
    assert saved.is_file() and aelib.read_metadata(saved)["preset"] == "deep-ae-2d"
    assert 0 <= aelib.read_metadata(saved)["test_metrics"]["recognisable"] <= 1  # judged as it was saved
    assert at.session_state["model"] == "trained/my-first.pt"
    assert "run" not in at.query_params  # saved: nothing left to lose
    # Its link opens it for another session too (on a class server: through another replica).
    other = explorer()
    other.query_params["model"] = "trained/my-first.pt"
    other.run()
    assert not other.exception and not other.warning
    assert other.sidebar.selectbox[0].value == "trained/my-first.pt"
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    assert at.sidebar.selectbox[0].value == "trained/my-first.pt"
    at.switch_page("pages/home.py").run()
    assert "explore:trained/my-first.pt" in [b.key for b in at.button]


def test_a_run_lost_with_its_server_is_reported_once(with_data):
    """A tab that reconnects to another server (a replica stopped) brings its address: the page says the
    run it names is gone, and forgets it, instead of silently showing an empty page."""
    at = page("train.py")
    at.query_params["run"] = "vae-2d@10:32"
    at.run()
    assert not at.exception
    assert any("vae-2d, started at 10:32" in w.value and "Press Start" in w.value for w in at.warning)
    assert "run" not in at.query_params
    at.run()
    assert not at.warning


def test_a_link_to_a_saved_model_that_is_not_there_gets_a_message(with_data, own_checkpoints):
    at = explorer()
    at.query_params["model"] = "trained/nobody-saved-this.pt"
    at.run()
    assert not at.exception
    assert any("does not have" in w.value for w in at.warning)


@pytest.mark.slow
def test_train_stop_ends_the_run(with_data, own_checkpoints):
    at = _train_page("vae-2d", epochs=50, limit=60_000)
    at.button(key="train:start").click().run()
    assert at.button(key="train:start").disabled is True  # at once, so a second press cannot start another
    job = at.session_state["job"]
    t0 = time.time()
    while not job.view().steps:
        assert time.time() - t0 < 60
        time.sleep(0.1)
    at.run()
    assert at.button(key="train:stop").disabled is False and at.button(key="train:start").disabled is True
    at.button(key="train:stop").click().run()
    _until_finished(at, timeout=30)
    assert not at.exception
    assert job.state == "stopped" and at.warning[0].value == job.view().message
    assert at.button(key="train:start").disabled is False


@pytest.mark.parametrize("field", ["quick:epochs", "seed", "latent", "prior"])
def test_train_zero_or_negative_settings_are_refused(field, with_data):
    at = _train_page("vae-2d", epochs=3)
    low = at.number_input(key=f"train:vae-2d:{field}").min
    for bad in (0, -3) if field not in ("seed", "prior") else (-1,):
        at.number_input(key=f"train:vae-2d:{field}").set_value(bad).run()
        assert not at.exception
        assert at.number_input(key=f"train:vae-2d:{field}").value >= low >= 0  # not taken: back to a valid value
    assert "job" not in at.session_state


@pytest.mark.slow
def test_train_save_while_it_trains_on(with_data, own_checkpoints):
    at = _train_page("vae-2d", epochs=200)
    at.number_input(key="train:vae-2d:prior").set_value(10).run()  # with a learned mixture prior
    at.button(key="train:start").click().run()
    job = at.session_state["job"]
    t0 = time.time()
    while job.saved_epoch is None:
        assert time.time() - t0 < 60
        time.sleep(0.1)
    at.run()
    at.text_input(key="train:name_now").set_value("mid-run")
    at.button(key="train:save_now").click().run()
    assert not at.exception
    assert job.view().running  # saving did not stop it
    assert at.success  # said so
    meta = aelib.read_metadata(own_checkpoints / "trained" / "mid-run.pt")
    assert meta["epochs"] >= 1 and "during training" in meta["outcome"]
    assert meta["config"]["prior_components"] == 10
    saved = aelib.load(own_checkpoints / "trained" / "mid-run.pt")
    assert saved.prior is not None and saved.prior.means.shape == (10, 2)
    assert at.session_state["model"] == "trained/mid-run.pt"
    job.stop()
    _until_finished(at)


@pytest.mark.slow
def test_train_learning_rate_10_diverges_with_a_message_and_keeps_good_weights(with_data, own_checkpoints):
    at = _train_page("vae-2d", epochs=2)
    at.select_slider(key="train:vae-2d:lr").set_value(10.0).run()
    at.button(key="train:start").click().run()
    _until_finished(at)
    assert not at.exception
    assert at.session_state["job"].state == "diverged"
    assert any("diverged" in e.value and "10x smaller" in e.value for e in at.error)
    assert at.button(key="train:save")  # the last good weights can be kept
    at.text_input(key="train:name").set_value("last-good")
    at.button(key="train:save").click().run()
    model = aelib.load(own_checkpoints / "trained" / "last-good.pt", device="cpu")
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())


# --- Generate, reconstruct ---------------------------------------------------------------------------

def test_generate_draws_prior_samples_and_compares_ae_with_vae(with_data):
    at = page("generate.py").run()
    assert not at.exception
    grid = charts(at)[0]
    assert len(at.get("download_button")) == 2
    assert at.selectbox(key="gen:vae").value == "vae-2d.pt" and at.selectbox(key="gen:ae").value == "ae-2d.pt"
    assert len(charts(at)) == 6  # samples, the judge's label shares, two grids, two maps with the random codes
    table = at.dataframe[0].value
    assert list(table["digits"]) == ["this model", "real test set"]
    real = float(table.iloc[1, 1].rstrip("%"))
    assert real > 95  # the judge is sure of nearly every real digit
    assert any("recognisable" in c.value for c in at.caption)
    at.number_input(key="gen:seed").set_value(5).run()
    assert not at.exception and charts(at)[0] != grid
    at.radio(key="gen:mode").set_value("one Gaussian per class (balanced)").run()
    assert not at.exception and charts(at)[0] != grid


def test_reconstruct_shows_digits_noise_and_denoising(with_data):
    at = page("reconstruct.py").run()
    assert not at.exception
    assert chart(at, "rec:s3") is not None and chart(at, "rec:s4") is not None  # S3's and S4's pictures
    noisy = next(s for s in charts(at) if "denoising AE" in s)
    at.slider(key="rec:noise").set_value(0.8).run()
    assert not at.exception
    assert next(s for s in charts(at) if "denoising AE" in s) != noisy


@pytest.mark.slow
def test_a_second_session_waits_in_the_queue_and_sees_its_place(with_data, own_checkpoints, monkeypatch):
    from ui import training

    monkeypatch.setattr(training.job_queue(), "limit", 1)  # one trainer, as on a CPU
    first = _train_page("vae-2d", epochs=50, limit=60_000)
    first.button(key="train:start").click().run()
    second = _train_page("deep-ae-2d", epochs=1)
    second.button(key="train:start").click().run()
    assert not second.exception
    assert training.job_queue().position(second.session_state["job"]) == 1
    assert any("number 1 in the queue" in i.value for i in second.info)  # the user sees their place
    assert second.button(key="train:stop").disabled is False  # leaving the queue is allowed
    first.button(key="train:stop").click().run()
    _until_finished(first, timeout=30)
    _until_finished(second, timeout=120)  # its turn came, and it ran to the end
    assert second.session_state["job"].state == "done"


# --- Compare ------------------------------------------------------------------------------------------

def test_compare_puts_models_side_by_side_with_their_figures(with_data):
    at = page("compare.py").run()
    assert not at.exception
    assert at.multiselect(key="cmp:models").value == ["ae-2d.pt", "vae-2d.pt", "conv-vae.pt"]
    table = at.dataframe[0].value
    assert list(table["checkpoint"]) == ["ae-2d.pt", "vae-2d.pt", "conv-vae.pt"]
    assert table["KL"].isna().tolist() == [True, False, False]  # only VAEs have a KL term
    assert all(table["recognisable"].str.endswith("%"))
    assert len(charts(at)) == 1 + 3 + 3  # reconstructions, three sample grids, three maps
    at.multiselect(key="cmp:models").set_value(["vae-2d.pt"]).run()
    assert any("at least two" in i.value for i in at.info)


# --- Serving a class ---------------------------------------------------------------------------------

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


# --- β-VAE and latent arithmetic --------------------------------------------------------------------

def test_factors_page_sweeps_each_dimension_and_shows_its_kl(with_data):
    at = app()
    at.switch_page("pages/factors.py").run()
    assert not at.exception
    assert at.selectbox(key="factors:model").value == "beta-vae-4.pt"
    rows = json.loads(chart(at, "factors:rows"))
    assert len(rows["layout"]["yaxis"]["ticktext"]) == 10  # one row per code dimension
    bars = json.loads(chart(at, "factors:kl"))["data"][0]
    assert len(bars["x"]) == 10 and "in use" in json.loads(chart(at, "factors:kl"))["layout"]["title"]["text"]
    table = at.dataframe[0].value
    assert sorted(table["β"]) == sorted({1.0, 4.0, 16.0} & set(table["β"])) and len(table) >= 3
    before = chart(at, "factors:rows")
    at.slider(key="factors:digit").set_value(7).run()
    assert chart(at, "factors:rows") != before


def test_arithmetic_page_moves_digits_and_measures_the_ink(with_data):
    at = app()
    at.switch_page("pages/arithmetic.py").run()
    assert not at.exception
    rows = json.loads(chart(at, "arith:rows"))
    assert len(rows["layout"]["yaxis"]["ticktext"]) == 6  # the real digits, then five strengths
    note = next(c.value for c in at.caption if "Measured on the first 1,000 test digits" in c.value)
    before, after = (float(v) for v in re.search(r"from ([\d.]+) to ([\d.]+)", note).groups())
    assert after > before  # thicker is thicker
    at.radio(key="arith:kind").set_value("class").run()
    at.selectbox(key="arith:to").set_value(7).run()
    assert not at.exception and chart(at, "arith:rows") != json.dumps(rows)
    at.number_input(key="arith:a").set_value(0).run()
    assert not at.exception and chart(at, "arith:analogy") is not None


def test_conditional_page_draws_the_digit_asked_for_in_every_style(with_data, tmp_path):
    at = app()
    at.switch_page("pages/conditional.py").run()
    assert not at.exception and at.selectbox(key="cond:model").value == "cvae-2d.pt"
    plane = chart(at, "cond:plane")
    at.selectbox(key="cond:digit").set_value(3).run()
    assert chart(at, "cond:plane") != plane  # another digit, the same styles
    every = json.loads(chart(at, "cond:every"))
    assert every["layout"]["xaxis"]["ticktext"][:3] == ["0", "1", "2"]  # one column per class
    assert any("97." in c.value or "9" in c.value for c in at.caption if "as the class asked for" in c.value)
    at.number_input(key="cond:index").set_value(5).run()
    assert not at.exception and chart(at, "cond:every") != json.dumps(every)


def test_train_page_sets_beta_for_vaes_only_and_trains_a_conditional_vae(with_data, own_checkpoints):
    at = _train_page("beta-vae", 1)
    beta = at.select_slider(key="train:beta-vae:beta")
    assert beta.value == 4.0  # the preset's recipe
    beta.set_value(16.0).run()
    at.button(key="train:start").click().run()
    job = at.session_state["job"]
    assert job.config.beta == 16.0
    _until_finished(at)
    assert not at.exception and job.state == "done" and job.view().evals[-1]["kl"] > 0
    at = _train_page("ae-2d", 1)
    assert not [s for s in at.select_slider if s.key == "train:ae-2d:beta"]  # a plain AE has no KL to weigh
    at = _train_page("cvae-2d", 1)
    at.button(key="train:start").click().run()
    _until_finished(at)
    job = at.session_state["job"]
    assert not at.exception and job.state == "done" and chart(at, "train:map") is not None


def test_neighbourhood_maps_compute_once_then_come_from_the_disk(with_data, tmp_path, monkeypatch):
    from aelib import neighbours

    monkeypatch.setenv("AELIB_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(neighbours, "embed", lambda codes, method, progress=None: (
        calls.append(method), progress(0.5), codes[:, :2] * 3)[-1])  # a quick stand-in for the real minute
    at = app()
    at.switch_page("pages/neighbours.py").run()
    assert not at.exception and at.selectbox(key="nb:model").value == "vae.pt"
    pca = json.loads(chart(at, "nb:vae.pt:pca"))
    assert pca["layout"]["xaxis"]["title"]["text"] == "PC1"
    at.radio(key="nb:method").set_value("tsne").run()
    assert not at.exception and calls == ["tsne"]
    assert json.loads(chart(at, "nb:vae.pt:tsne"))["layout"]["xaxis"]["title"]["text"] == "t-SNE1"
    assert any("cannot be turned back into codes" in c.value for c in at.caption)
    at.radio(key="nb:method").set_value("pca").run()
    at.radio(key="nb:method").set_value("tsne").run()
    assert calls == ["tsne"]  # the second time from the disk


# --- VQ-VAE --------------------------------------------------------------------------------------------

def _grid(at, key: str) -> list[list[int]]:
    """The entry numbers of the code grid drawn with `key` (Plotly sends arrays packed as base64)."""
    import base64

    import numpy as np

    z = json.loads(chart(at, key))["data"][0]["z"]
    if isinstance(z, dict):
        z = np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape([int(v) for v in z["shape"].split(",")])
    return np.asarray(z).tolist()


def test_codebook_page_edits_a_cell_and_shows_the_digit_change(with_data):
    at = app()
    at.switch_page("pages/codebook.py").run()
    assert not at.exception and at.selectbox(key="vq:model").value == "vq-vae.pt"
    own = _grid(at, "vq:vq-vae.pt:0:grid")
    assert len(own) == 7 and all(len(r) == 7 for r in own)  # the 7x7 grid of entry numbers
    assert any("0 of 49 cells changed" in c.value for c in at.caption)
    entry = next(n for n in at.number_input if n.key.startswith("vq:vq-vae.pt:0:entry:"))
    row, col = (int(v) for v in entry.key.split(":")[-2:])
    assert entry.value == own[row][col]  # the cell's own entry
    before = chart(at, "vq:as edited")
    entry.set_value((own[row][col] + 1) % 128).run()
    assert not at.exception and any("1 of 49 cells changed" in c.value for c in at.caption)
    assert _grid(at, "vq:vq-vae.pt:0:grid")[row][col] == (own[row][col] + 1) % 128
    assert chart(at, "vq:as edited") != before  # the digit decoded from the edited grid changed
    at.button(key="vq:reset").click().run()
    assert any("0 of 49 cells changed" in c.value for c in at.caption)
    usage = json.loads(chart(at, "vq:usage"))
    assert "perplexity" in usage["layout"]["title"]["text"] and len(usage["data"][0]["x"]) == 128
    assert chart(at, "vq:random") is not None and any("out of scope" in c.value for c in at.caption)
    at.number_input(key="vq:index").set_value(3).run()
    assert not at.exception and _grid(at, "vq:vq-vae.pt:3:grid") != own
    # The edges of every setting: the last test digit, the first and the last codebook entry, the last seed.
    at.number_input(key="vq:index").set_value(9999).run()
    for value in (0, 127):
        next(n for n in at.number_input if n.key.startswith("vq:vq-vae.pt:9999:entry:")).set_value(value).run()
        assert not at.exception and any("1 of 49 cells changed" in c.value or "0 of 49" in c.value for c in at.caption)
    at.number_input(key="vq:seed").set_value(2**31 - 1).run()
    assert not at.exception and chart(at, "vq:random") is not None


def test_train_page_trains_a_vq_vae_with_its_perplexity_live(with_data, own_checkpoints):
    at = _train_page("vq-vae", 1)
    at.button(key="train:start").click().run()
    _until_finished(at)
    job = at.session_state["job"]
    assert not at.exception and job.state == "done" and job.view().evals[-1]["perplexity"] > 1
    loss = json.loads(chart(at, "train:loss"))
    assert "codebook perplexity (entries in use)" in [a["text"] for a in loss["layout"]["annotations"]]
    at.text_input(key="train:name").set_value("my-vq")
    at.button(key="train:save").click().run()
    metrics = aelib.read_metadata(own_checkpoints / "trained" / "my-vq.pt")["test_metrics"]
    assert 1 < metrics["perplexity"] <= 128 and metrics["entries_used"] <= 128

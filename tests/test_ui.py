"""The app's own units, without a browser: a map click, a shared link's code, file caches, wording."""

import os
import time

import pytest

import aelib
from aelib.jobs import JobView
from ui import shared, words
from ui.picker import parse_code
from ui.sliders import clicked_point


def test_a_click_is_read_from_a_chart_selection():
    event = {"selection": {"points": [{"x": 1.25, "y": -0.5, "curve_number": 0, "point_index": 7}]}}
    assert clicked_point(event) == (1.25, -0.5)
    assert clicked_point({"selection": {"points": []}}) is None
    assert clicked_point(None) is None


def test_a_links_code_is_parsed_or_refused_with_the_reason():
    assert parse_code("0.5,-1.25", 2) == [0.5, -1.25]
    for text, reason in [("a,b", "not a list of numbers"), ("1,2,3", "has 3 numbers"), ("1,inf", "not finite")]:
        with pytest.raises(ValueError, match=reason):
            parse_code(text, 2)


def test_file_caches_are_kept_apart_and_follow_the_files(tmp_path):
    calls = []

    @shared.by_mtime()
    def size(path):
        calls.append(("size", path.name))
        return path.stat().st_size

    @shared.by_mtime(copy=True)
    def text(path):
        calls.append(("text", path.name))
        return path.read_text()

    f = tmp_path / "a.txt"
    f.write_text("one")
    assert (size(f), text(f), size(f), text(f)) == (3, "one", 3, "one")  # two caches, not one shared
    assert calls == [("size", "a.txt"), ("text", "a.txt")]  # each read once
    f.write_text("three")
    os.utime(f, (time.time() + 5, time.time() + 5))  # a newer file...
    assert (size(f), text(f)) == (5, "three")  # ...is read anew
    assert len(calls) == 4


def test_pages_name_priors_figures_and_endings():
    assert words.prior_name(aelib.build("vae-2d")) == "the prior N(0, I)"
    assert words.prior_name(aelib.build("vae-2d", prior_components=7)) == "its learned prior, a mixture of 7 Gaussians"
    assert words.prior_name(aelib.build("ae-2d")) == "the prior N(0, I)"
    assert words.test_figure({"metric": "loss", "test_metrics": {"loss": 138.123}}) == "138.12 nats/image"
    bce = {"metric": "bce_per_pixel", "test_metrics": {"bce_per_pixel": 0.16493}}
    assert words.test_figure(bce) == "0.1649 BCE/pixel"
    assert words.test_figure({}) == "–"
    assert [words.kind(aelib.get_preset(n)) for n in ("ae-2d", "vae-2d", "vae-mixture")] == ["AE", "VAE",
                                                                                            "VAE, learned prior"]
    asked = JobView("stopped", "Training stopped on request.", None)
    assert words.job_message(asked) == "Training stopped on request."
    gone = JobView("stopped", "Training stopped on request.", None, abandoned=True)
    assert "page was closed" in words.job_message(gone)


def test_the_live_bar_moves_on_at_the_runs_pace_and_asks_when_the_run_should_end():
    from types import SimpleNamespace

    from aelib.train import Event
    from ui import training

    job = SimpleNamespace(config=SimpleNamespace(epochs=2), number=1)
    starting = training.live_bar_data(job, JobView("loading", "Loading MNIST…", None))
    assert starting["text"] == "Loading MNIST…" and "template" not in starting
    assert starting["askIn"] == training.POLL_S  # no pace yet: the page asks the server

    early = JobView("running", "", Event("step", 0.25, 100, 400, elapsed=10.0, samples_per_s=1280.0))
    bar = training.live_bar_data(job, early)
    assert bar["stepsPerS"] == 10 and bar["eta"] == 30 and bar["perEpoch"] == 200 and bar["fraction"] == 0.25
    assert bar["askIn"] is None  # the end is further off than the live view's own redraw
    # The page fills in the template as the server would have written it.
    assert bar["template"].format(epoch=1, step="100", left="30") == training.progress_text(job, early)
    assert bar["text"] == training.progress_text(job, early) == ("Epoch 1 of 2 · step 100 of 400 · 1,280 images/s · "
                                                                 "30 s left")

    late = JobView("running", "", Event("step", 1.95, 390, 400, elapsed=39.0, samples_per_s=1280.0))
    assert training.live_bar_data(job, late)["askIn"] == pytest.approx(1.0 + training.ASK_AFTER_S)

    done = JobView("done", "Finished", Event("done", 2.0, 400, 400, elapsed=40.0, samples_per_s=1280.0))
    assert training.live_bar_data(job, done)["askIn"] is None and "template" not in training.live_bar_data(job, done)


def test_a_kept_drawing_is_checked_before_the_model_sees_it():
    from aelib.images import ImageError
    from ui.pad import drawing

    good = [0.0] * 784
    good[14 * 28 + 14] = 0.8
    assert drawing(good).shape == (1, 28, 28) and float(drawing(good).max()) == pytest.approx(0.8)
    for bad, says in [([0.0] * 784, "no ink"), ([0.5] * 10, "did not arrive whole"), ("ink", "did not arrive"),
                      ([float("nan")] * 784, "did not arrive whole"), ([2.0] * 784, "did not arrive whole"),
                      (None, "did not arrive")]:
        with pytest.raises(ImageError, match=says):
            drawing(bad)


@pytest.mark.slow
def test_prepare_writes_the_browser_files_of_every_shipped_model_before_the_first_visit(tmp_path, monkeypatch,
                                                                                         data_root):
    import shutil

    from aelib.export import FILES
    from ui import pad, prepare

    ckpt = tmp_path / "checkpoints"
    ckpt.mkdir()
    shutil.copy(shared.ROOT / "checkpoints" / "vae-2d.pt", ckpt / "vae-2d.pt")
    monkeypatch.setenv("AELIB_CHECKPOINTS", str(ckpt))
    monkeypatch.setenv("AELIB_DATA", str(data_root))
    monkeypatch.setattr(pad, "EXPORTS", tmp_path / "models")
    assert prepare.main() == 0
    (folder,) = (tmp_path / "models").iterdir()
    assert folder.name.startswith("vae-2d-")
    assert {f.name for f in folder.iterdir()} >= {*FILES, pad.MAP_FILE, pad.PAINTED_FILE}
    assert pad.exported(ckpt / "vae-2d.pt") == (folder.name, None)  # what the explorer will find

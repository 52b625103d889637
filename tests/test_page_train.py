"""The Train page: its settings, a run from Start to the saved checkpoint, Stop, NaN, the queue."""

import json
import re

import pytest
import torch

import aelib
from aelib.presets import PRESETS
from tests.apptest import app, chart, charts, explorer, page, train_page, until_finished
from tests.conftest import wait_until


def test_train_page_opens_on_a_quick_2d_run_and_says_how_long_it_takes(with_data, standin_pool):
    at = app()
    at.switch_page("pages/train.py").run()
    assert not at.exception
    assert at.selectbox(key="train:preset").value == "vae-2d" and at.radio(key="train:vae-2d:length").value == "quick"
    assert at.number_input(key="train:vae-2d:quick:epochs").value == 1
    quick = next(c.value for c in at.caption if "takes about" in c.value)
    assert quick.startswith("The trainer is free: starts at once") and "training images a second" in quick
    at.radio(key="train:vae-2d:length").set_value("recipe").run()  # the seed's or preset's whole recipe
    assert at.number_input(key="train:vae-2d:recipe:epochs").value == 60
    full = next(c.value for c in at.caption if "takes about" in c.value)
    assert _seconds(full) > 20 * _seconds(quick)  # 60 epochs against one, at the same measured speed


# Each opening times a second of training steps: three presets in the quick loop (a fixed code, a discrete one, a
# learned prior), the rest with the slow tests.
@pytest.mark.parametrize("preset", [p if p in ("conv-ae", "vq-vae", "vae-2d-mixture") else
                                    pytest.param(p, marks=pytest.mark.slow) for p in PRESETS])
def test_train_page_opens_on_every_preset_with_its_own_settings(preset, with_data, standin_pool):
    at = app()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train:preset").set_value(preset).run()
    assert not at.exception  # the conv AEs' and the VQ-VAE's fixed codes are longer than a chosen one may be
    latent = at.number_input(key=f"train:{preset}:latent")
    assert latent.value == PRESETS[preset].config.latent_dim and latent.disabled == PRESETS[preset].latent_fixed


def test_train_page_shows_the_curve_to_beat_before_start(with_data, standin_pool):
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
    value, unit = re.search(r"takes about \*\*([\d.]+) (s|min|h)\*\*", note).groups()
    return float(value) * {"s": 1, "min": 60, "h": 3600}[unit]


@pytest.mark.slow
def test_the_default_run_finishes_and_draws_its_map(with_data, own_checkpoints):
    from ui import training

    wait_until(lambda: not training.pool().running, "runs of earlier tests to end")  # this run has the machine
    at = app()
    at.switch_page("pages/train.py").run()
    at.button(key="train:start").click().run()  # the page's own settings: vae-2d, 1 epoch, all 60,000 images
    job = at.session_state["job"]
    assert job.config.epochs == 1 and job.config.limit is None and job.preset.name == "vae-2d"
    # The live chart is there from the start, with the shipped run's curve to beat.
    live = json.loads(chart(at, "train:loss"))
    assert live["data"][-1]["name"] == "shipped vae-2d.pt"
    until_finished(at, timeout=300)
    assert not at.exception and job.state == "done"
    assert chart(at, "train:map") is not None  # the 2-D codes of the test digits, coloured by class
    assert job.view().evals[-1]["loss"] < 175  # nats/image: clusters have formed
    assert job.view().startup_s is not None and job.expected_s is not None  # it was foreseen, and measured
    # Once the pool has let the run go, the page foresees the next run as one alone again.
    wait_until(lambda: not training.pool().running, "the pool to let the run go")
    at.run()
    note = next(c.value for c in at.caption if "takes about" in c.value)
    # The next estimate counts the start this run measured, and corrects the speed by this run's time.
    assert f"starts a run in {job.view().startup_s:.1f} s" in note and "corrected by the last runs' times" in note


@pytest.mark.slow
def test_train_one_epoch_then_save_and_use_the_model(with_data, own_checkpoints):
    at = train_page("deep-ae-2d", epochs=1)
    assert not at.exception and at.button(key="train:start").disabled is False
    at.button(key="train:start").click().run()
    assert not at.exception
    job = at.session_state["job"]
    assert job.config.epochs == 1 and job.config.limit == 1_000
    assert at.query_params["run"].startswith("deep-ae-2d@")  # the address bar names the unsaved run
    until_finished(at)
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


def test_a_run_lost_with_its_server_is_reported_once(with_data, standin_pool):
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


def test_a_run_is_named_for_the_board_and_a_second_start_at_once_is_refused(with_data, standin_pool):
    from tests.standin import StandIn

    at = app()
    at.switch_page("pages/train.py").run()
    at.text_input(key="train:run_name").set_value("  Mia's <b>first</b> run ").run()
    at.button(key="train:start").click().run()
    job = at.session_state["job"]
    assert not at.exception and job.name == "Mia's bfirstb run" and job.title == job.name  # no HTML
    assert standin_pool.jobs() == [job] and StandIn.made[0].runs == [job.number]  # the warm worker took it
    assert any(f"lists this run as **{job.title}**" in c.value for c in at.caption)
    start = at.button(key="train:start")
    start.proto.disabled = False  # a browser that had not yet drawn Start grey: its second press arrives
    start.click().run()
    assert not at.exception and standin_pool.jobs() == [job]  # no second run: Start is grey on the server too
    assert at.session_state["job"] is job


@pytest.mark.slow
def test_train_stop_ends_the_run(with_data, own_checkpoints):
    at = train_page("vae-2d", epochs=50, limit=60_000)
    at.button(key="train:start").click().run()
    assert at.button(key="train:start").disabled is True  # at once, so a second press cannot start another
    job = at.session_state["job"]
    wait_until(lambda: job.view().steps, "the run's first steps")
    at.run()
    assert at.button(key="train:stop").disabled is False and at.button(key="train:start").disabled is True
    at.button(key="train:stop").click().run()
    until_finished(at, timeout=30)
    assert not at.exception
    assert job.state == "stopped" and at.warning[0].value == job.view().message
    assert at.button(key="train:start").disabled is False


@pytest.mark.parametrize("field", ["quick:epochs", "seed", "latent", "prior"])
def test_train_zero_or_negative_settings_are_refused(field, with_data, standin_pool):
    at = train_page("vae-2d", epochs=3)
    low = at.number_input(key=f"train:vae-2d:{field}").min
    for bad in (0, -3) if field not in ("seed", "prior") else (-1,):
        at.number_input(key=f"train:vae-2d:{field}").set_value(bad).run()
        assert not at.exception
        assert at.number_input(key=f"train:vae-2d:{field}").value >= low >= 0  # not taken: back to a valid value
    assert "job" not in at.session_state


@pytest.mark.slow
def test_train_save_while_it_trains_on(with_data, own_checkpoints):
    at = train_page("vae-2d", epochs=200)
    at.number_input(key="train:vae-2d:prior").set_value(10).run()  # with a learned mixture prior
    at.button(key="train:start").click().run()
    job = at.session_state["job"]
    wait_until(lambda: job.saved_epoch is not None, "the run's first completed epoch")
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
    until_finished(at)


@pytest.mark.slow
def test_train_learning_rate_10_diverges_with_a_message_and_keeps_good_weights(with_data, own_checkpoints):
    at = train_page("vae-2d", epochs=2)
    at.select_slider(key="train:vae-2d:quick:lr").set_value(10.0).run()
    at.button(key="train:start").click().run()
    until_finished(at)
    assert not at.exception
    assert at.session_state["job"].state == "diverged"
    assert any("diverged" in e.value and "10x smaller" in e.value for e in at.error)
    assert at.button(key="train:save")  # the last good weights can be kept
    at.text_input(key="train:name").set_value("last-good")
    at.button(key="train:save").click().run()
    model = aelib.load(own_checkpoints / "trained" / "last-good.pt", device="cpu")
    assert all(torch.isfinite(t).all() for t in model.state_dict().values())


@pytest.mark.slow
def test_a_second_session_waits_in_the_queue_and_sees_its_place(with_data, own_checkpoints):
    from ui import training

    # Every trainer busy with a long run (one on a CPU of two cores or fewer, two on more)...
    firsts = [train_page("vae-2d", epochs=50, limit=60_000) for _ in range(training.pool().limit)]
    for first in firsts:
        first.button(key="train:start").click().run()
    # ...so the next run waits for its turn.
    second = train_page("deep-ae-2d", epochs=1)
    second.button(key="train:start").click().run()
    assert not second.exception
    assert training.pool().position(second.session_state["job"]) == 1
    assert any("number 1 in the queue" in i.value for i in second.info)  # the user sees their place
    assert second.button(key="train:stop").disabled is False  # leaving the queue is allowed
    for first in firsts:
        first.button(key="train:stop").click().run()
        until_finished(first, timeout=30)
    until_finished(second, timeout=120)  # its turn came, and it ran to the end
    assert second.session_state["job"].state == "done"


@pytest.mark.slow
def test_train_page_sets_beta_for_vaes_only_and_trains_a_conditional_vae(with_data, own_checkpoints):
    at = train_page("beta-vae", 1)
    beta = at.select_slider(key="train:beta-vae:beta")
    assert beta.value == 4.0  # the preset's recipe
    beta.set_value(16.0).run()
    at.button(key="train:start").click().run()
    job = at.session_state["job"]
    assert job.config.beta == 16.0
    until_finished(at)
    assert not at.exception and job.state == "done" and job.view().evals[-1]["kl"] > 0
    at = train_page("ae-2d", 1)
    assert not [s for s in at.select_slider if s.key == "train:ae-2d:beta"]  # a plain AE has no KL to weigh
    at = train_page("cvae-2d", 1)
    at.button(key="train:start").click().run()
    until_finished(at)
    job = at.session_state["job"]
    assert not at.exception and job.state == "done" and chart(at, "train:map") is not None


@pytest.mark.slow
def test_train_page_trains_a_vq_vae_with_its_perplexity_live(with_data, own_checkpoints):
    at = train_page("vq-vae", 1)
    at.button(key="train:start").click().run()
    until_finished(at)
    job = at.session_state["job"]
    assert not at.exception and job.state == "done" and job.view().evals[-1]["perplexity"] > 1
    loss = json.loads(chart(at, "train:loss"))
    assert "codebook perplexity (entries in use)" in [a["text"] for a in loss["layout"]["annotations"]]
    at.text_input(key="train:name").set_value("my-vq")
    at.button(key="train:save").click().run()
    metrics = aelib.read_metadata(own_checkpoints / "trained" / "my-vq.pt")["test_metrics"]
    assert 1 < metrics["perplexity"] <= 128 and metrics["entries_used"] <= 128

"""The training loop: progress events, learning, determinism, stopping, divergence."""

import math

import pytest
import torch

import aelib
from aelib import TrainConfig, build
from aelib.bench import Speed, training_speed
from aelib.presets import PRESETS
from aelib.metrics import evaluate
from aelib.train import Trainer


def make(name, synth, overrides: dict | None = None, **cfg):
    images, labels = synth
    train = (images[:192], labels[:192])
    test = (images[192:], labels[192:])
    cfg.setdefault("epochs", 2)
    cfg.setdefault("batch_size", 32)
    cfg.setdefault("lr", 1e-3)
    model = build(name, seed=0, **(overrides or {}))
    return Trainer(model, TrainConfig(**cfg), device="cpu", train_data=train, test_data=test)


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_few_steps_lower_the_loss(name, synth):
    opt = "adadelta" if PRESETS[name].recipe.optimizer == "adadelta" else "adam"
    t = make(name, synth, epochs=3, lr=1.0 if opt == "adadelta" else 2e-3, optimizer=opt)
    before = evaluate(t.model, t.test_images)["loss"]
    events = list(t.run())
    after = t.history[-1]["loss"]
    assert events[-1].kind == "done"
    assert after < before - 5, f"{name}: test loss {before:.1f} -> {after:.1f}"


def test_events_carry_progress(synth):
    t = make("mlp-vae", synth, epochs=3, log_every=2)
    events = list(t.run())
    steps = [e for e in events if e.kind == "step"]
    evals = [e for e in events if e.kind == "eval"]
    assert len(evals) == 3 and [round(e.epoch) for e in evals] == [1, 2, 3]
    assert all(e.total_steps == 3 * 6 for e in events)
    assert [e.step for e in steps] == sorted(e.step for e in steps)
    assert all(e.samples_per_s > 0 and e.elapsed >= 0 for e in steps)
    assert {"loss", "recon", "kl"} <= set(steps[0].train)
    assert set(evals[0].test) >= {"loss", "recon", "kl", "bce_per_pixel", "epoch"}
    assert events[-1].final and events[-1].fraction == 1.0
    assert steps[-1].eta == 0


def test_deterministic_for_a_seed(synth):
    def weights(seed):
        t = make("mlp-vae", synth, seed=seed)
        list(t.run())
        return torch.cat([p.flatten() for p in t.model.parameters()])

    assert torch.equal(weights(3), weights(3))
    assert not torch.equal(weights(3), weights(4))


def test_stop_between_steps(synth):
    t = make("mlp-vae", synth, epochs=50, log_every=1)
    seen = []
    for ev in t.run():
        seen.append(ev)
        if ev.kind == "step" and ev.step == 3:
            t.stop()
    assert seen[-1].kind == "stopped"
    assert seen[-1].step == 3 and "stopped" in seen[-1].message.lower()


def test_nan_stops_with_message_and_keeps_last_good_weights(synth):
    t = make("mlp-vae", synth, epochs=5, log_every=2)
    real_loss = t.model.loss
    calls = {"n": 0}

    def poisoned(x):
        calls["n"] += 1
        out = real_loss(x)
        if calls["n"] > 5:  # steps 6+ produce NaN; the last check (step 4) was good
            out["loss"] = out["loss"] * float("nan")
        return out

    t.model.loss = poisoned
    good = None
    events = []
    for ev in t.run():
        events.append(ev)
        if ev.kind == "step":
            good = [p.detach().clone() for p in t.model.parameters()]
    last = events[-1]
    assert last.kind == "diverged"
    assert "learning rate" in last.message and "last good" in last.message
    assert all(torch.isfinite(p).all() for p in t.model.parameters())
    assert all(torch.equal(p, g) for p, g in zip(t.model.parameters(), good, strict=True))


def test_huge_learning_rate_never_leaves_nan_weights(synth):
    t = make("mlp-vae", synth, epochs=3, lr=10.0, log_every=1)
    events = list(t.run())
    assert all(torch.isfinite(p).all() for p in t.model.parameters())
    if events[-1].kind == "diverged":
        assert "10" in events[-1].message


def test_target_loss_stops_early(synth):
    t = make("mlp-vae", synth, epochs=20, target_loss=1e9)
    events = list(t.run())
    assert events[-1].kind == "done" and "target" in events[-1].message
    assert events[-1].step == t.steps_per_epoch  # stopped after the first evaluation


def test_snapshots_and_batch_larger_than_data(synth):
    t = make("vae-2d", synth, epochs=2, batch_size=10_000, snapshots=True, snapshot_points=50)
    events = list(t.run())
    assert t.batch_size == 192 and t.steps_per_epoch == 1
    snaps = [e.snapshot for e in events if e.snapshot is not None]
    assert len(snaps) == 2
    assert snaps[0].recon.shape == (10, 1, 28, 28) and snaps[0].codes.shape == (50, 2)
    assert not torch.equal(snaps[0].codes, snaps[1].codes)


@pytest.mark.parametrize("bad", [dict(epochs=0), dict(batch_size=-1), dict(lr=0.0), dict(lr=-1e-3),
                                 dict(lr=math.nan), dict(optimizer="sgd"), dict(limit=0),
                                 dict(prior_lr_scale=0)])
def test_invalid_settings_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_schedule_cosine_anneals_to_zero(synth):
    # With a learned prior, whose parameters have a group of their own at 10x the rate.
    t = make("vae-2d", synth, {"prior_components": 3}, schedule="cosine", lr=1e-3, prior_lr_scale=10.0, log_every=1)
    rates = [(ev.step, [g["lr"] for g in t.optimizer.param_groups]) for ev in t.run() if ev.kind == "step"]
    for step, (base, prior) in rates:  # the learning rate after `step` steps
        assert base == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * step / t.total_steps)), abs=1e-12)
        assert prior == pytest.approx(10 * base, abs=1e-12)
    assert rates[-1][0] == t.total_steps and rates[-1][1] == pytest.approx([0, 0], abs=1e-12)


def test_constant_schedule_keeps_the_rate(synth):
    t = make("mlp-vae", synth, lr=3e-3, log_every=1)
    assert t.scheduler is None
    assert {g["lr"] for ev in t.run() if ev.kind == "step" for g in t.optimizer.param_groups} == {3e-3}


def test_a_learned_prior_trains_at_its_own_rate_and_fits_the_codes(synth):
    def gain(scale: float) -> tuple[Trainer, float]:
        """How much closer the prior came to the codes: log p(codes) under the trained prior minus
        under the prior it started as."""
        t = make("vae-mixture", synth, epochs=3, schedule="cosine", prior_lr_scale=scale)
        start = [p.detach().clone() for p in t.model.prior.parameters()]
        list(t.run())
        with torch.no_grad():
            codes = t.model.encode(t.test_images.float() / 255)
            fitted = float(t.model.prior.log_prob(codes).mean())
            for p, s in zip(t.model.prior.parameters(), start, strict=True):
                p.copy_(s)
            return t, fitted - float(t.model.prior.log_prob(codes).mean())

    t, slow = gain(1.0)
    rest, prior = t.optimizer.param_groups
    assert {id(p) for p in prior["params"]} == {id(p) for p in t.model.prior.parameters()}
    assert prior["initial_lr"] == rest["initial_lr"]
    t, fast = gain(10.0)
    rest, prior = t.optimizer.param_groups
    assert prior["initial_lr"] == 10 * rest["initial_lr"]
    assert 0 < slow < fast - 0.5, (slow, fast)  # a faster prior follows the codes more closely


@pytest.mark.parametrize("preset", ["deep-ae-2d", "conv-vae"])
def test_the_speed_probe_times_training_and_evaluation(preset):
    speed = training_speed(preset, batch_size=32, seconds=0.1)
    assert 0 < speed.train_per_s < 1e7 and 0 < speed.eval_per_s < 1e8
    assert speed.eval_per_s > speed.train_per_s  # a forward pass alone is quicker than a training step


def test_a_run_takes_its_steps_and_evaluations_at_the_measured_speed():
    speed = Speed(train_per_s=1000.0, eval_per_s=5000.0)
    cfg = aelib.recipe("vae-2d", epochs=2, batch_size=100)
    assert speed.run_seconds(cfg, 6000) == pytest.approx(2 * (6000 / 1000 + 10_000 / 5000))
    limited = aelib.recipe("vae-2d", epochs=2, batch_size=128, limit=1000, evals_per_epoch=2)
    assert speed.run_seconds(limited, 60_000) == pytest.approx(2 * ((1000 // 128) * 128 / 1000 + 2 * 2.0))

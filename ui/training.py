"""Training from the app: the queue every session shares, this session's job, its live figures, and
the sidebar badge that keeps a run in sight from other pages."""

from __future__ import annotations

import dataclasses
import math
import threading
import time

import plotly.graph_objects as go
import streamlit as st
import torch

from aelib import figures
from aelib.bench import Speed, training_speed
from aelib.checkpoint import path_for
from aelib.config import ModelConfig, TrainConfig
from aelib.data import CLASS_NAMES
from aelib.jobs import JobQueue, JobView, TrainingJob
from aelib.presets import get_preset, recipe
from ui import shared
from ui.checkpoints import remember_trained, shipped_dir, trained_dir

# A job nobody has polled for this long is stopped. An open page polls every 2-10 s, but a tab hidden for
# minutes may be throttled to once a minute, so this leaves room for that.
ABANDON_AFTER_S = 150
# How often the live view redraws: each redraw costs the browser's renderer CPU (a progress bar about 0.05 s,
# the charts 0.2-0.4 s), which a run on the same two cores pays in full, as its two threads wait for each
# other (bench/RESULTS.md). So the charts redraw every FIGURES_S, and the progress bar moves on in the page
# between. It asks the server sooner only while a run waits or starts (every POLL_S), and at its expected end
# (ASK_AFTER_S after it, then every POLL_S until it has ended); an ask redraws the bar alone, not the charts.
POLL_S, FIGURES_S, ASK_AFTER_S = 2.0, 10.0, 1.0
FULL_SET = 60_000  # training images in MNIST and Fashion-MNIST: no limit
TEST_SET = 10_000  # test images, each evaluated once an epoch
# The page opens on a run that draws a 2-D map with digit clusters while a teacher explains it
# (bench/classroom.py first-run); the seeds' recipes are one choice away.
FIRST_PRESET, QUICK_EPOCHS = "vae-2d", 1


@st.cache_resource
def job_queue() -> JobQueue:
    """The trainer shared by every session of this server: a few jobs at once, the others wait."""
    return JobQueue(abandon_after=ABANDON_AFTER_S)


def job() -> TrainingJob | None:
    """This session's training job, if it started one."""
    return st.session_state.get("job")


def model_overrides(preset: str, latent: int, prior_components: int | None, noise: float | None) -> dict:
    """The Train page's model settings, as overrides of the preset's config."""
    overrides = {} if get_preset(preset).latent_fixed else {"latent_dim": int(latent)}
    if prior_components is not None:
        overrides["prior_components"] = int(prior_components)
    if noise is not None:
        overrides["noise"] = float(noise)
    return overrides


def run_config(preset: str, overrides: dict, limit: int, **train) -> TrainConfig:
    """The Train page's run settings as a recipe: the map's history is kept for 2-D codes."""
    two_d = overrides.get("latent_dim", get_preset(preset).config.latent_dim) == 2
    return recipe(preset, limit=None if limit >= FULL_SET else int(limit), snapshots=True,
                  snapshot_points=2000 if two_d else 0, **train)


def start(preset: str, overrides: dict, config: TrainConfig) -> TrainingJob:
    """Queue a run of `preset` with the Train page's settings as this session's job; it is stopped if
    the session's browser tab closes."""
    new = TrainingJob(preset, config, **overrides)
    new.owner_alive = _session_alive()
    new.started_at = time.strftime("%H:%M")
    st.session_state["job"] = new
    return job_queue().submit(new)


_PROBE = threading.Lock()  # one speed probe at a time: two would time each other


@st.cache_resource
def _measured() -> dict:
    """What this server measured of its machine: ("speed", preset, batch, overrides) -> Speed, and
    "startup" -> the seconds the last run's training process took to start."""
    return {}


def _speed(preset: str, overrides: dict, batch_size: int) -> Speed | None:
    """The measured speed of these settings; None while a run trains here, as timing it then would
    time the run too, and slow it."""
    key = ("speed", preset, batch_size, tuple(sorted(overrides.items())))
    if key not in _measured():
        if job_queue().running:
            return None
        with st.spinner("Timing a few training steps of these settings on this machine…"), _PROBE:
            # At the training process's own thread count, not the server's one thread (see ui/shared.py).
            threads = torch.get_num_threads()
            torch.set_num_threads(shared.TRAIN_THREADS)
            try:
                _measured()[key] = training_speed(preset, batch_size, **overrides)
            finally:
                torch.set_num_threads(threads)
    return _measured()[key]


def remember_startup(v: JobView) -> None:
    if v.startup_s is not None:
        _measured()["startup"] = v.startup_s


def duration_note(preset: str, overrides: dict, config: TrainConfig) -> str:
    """How long these settings will take on this machine, from its measured speed, said before Start."""
    speed = _speed(preset, overrides, config.batch_size)
    if speed is None:
        return "How long this takes shows here once the machine is free: timing it now would slow the run training."
    seconds = speed.run_seconds(config, FULL_SET, TEST_SET)
    startup = _measured().get("startup")
    start = (f", plus {startup:.0f} s to start the training process" if startup is not None
             else ", plus a few seconds to start the training process")
    return (f"These settings take about **{_duration(seconds)}** on this machine{start}: measured just now, "
            f"at {speed.train_per_s:,.0f} training images a second.")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def _session_alive():
    """A check that this session's browser is still connected, or None outside a server."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        runtime, session_id = Runtime.instance(), get_script_run_ctx().session_id
    except (RuntimeError, AttributeError):  # AppTest and bare mode have no server runtime
        return None
    return lambda: runtime.is_active_session(session_id)


def waiting_note(j: TrainingJob) -> str:
    queue = job_queue()
    return (f"Waiting for a free trainer: you are number {queue.position(j)} in the queue. This machine trains "
            f"{queue.limit} model{'s' if queue.limit > 1 else ''} at a time; yours starts by itself.")


def progress_text(j: TrainingJob, v: JobView) -> str:
    """Where the run is, how fast it goes and how long is left; what it is doing before its first step."""
    ev = v.last
    if ev is None:
        return v.message
    epoch = min(int(ev.epoch) + 1, j.config.epochs) if v.running else round(ev.epoch, 2)
    return _progress_line(j, v).format(epoch=epoch, step=f"{ev.step:,}", left=f"{ev.eta:.0f}")


def _progress_line(j: TrainingJob, v: JobView) -> str:
    """progress_text with {epoch}, {step} and {left} still to fill in, as the live bar does while the run goes."""
    ev = v.last
    rate = ev.samples_per_s if v.running else v.mean_samples_per_s
    left = "{left} s left" if v.running and not math.isnan(ev.eta) else f"{ev.elapsed:.1f} s in all"
    return (f"Epoch {{epoch}} of {j.config.epochs} · step {{step}} of {ev.total_steps:,} · {rate:,.0f} images/s · "
            f"{left}")


def live_bar_data(j: TrainingJob, v: JobView) -> dict:
    """What the live bar draws, and moves on by itself at the run's pace once it has one; `askIn`: seconds
    until it asks the server again (None: the live view's own timer asks first), and `askEvery` after that."""
    ev = v.last
    queued = v.state == "queued"
    data = {"run": str(id(j)), "fraction": ev.fraction if ev else 0.0,
            "text": "Waiting for a free trainer…" if queued else progress_text(j, v),
            "askIn": POLL_S if v.running else None, "askEvery": POLL_S}
    if v.running and not queued and ev is not None and ev.step and ev.elapsed > 0:
        due = ev.eta + ASK_AFTER_S  # the run's end, and the test set's last pass after it
        data |= {"template": _progress_line(j, v), "step": ev.step, "total": ev.total_steps, "eta": ev.eta,
                 "stepsPerS": ev.step / ev.elapsed, "perEpoch": ev.total_steps / j.config.epochs,
                 "epochs": j.config.epochs, "askIn": due if due < FIGURES_S else None}
    return data


def reference_run(model: dict, dataset: str, beta: float = 1.0) -> tuple[str, list[dict]] | None:
    """The shipped checkpoint with this model config, dataset and β, as (file name, test metrics per
    evaluation), to train against; None when no shipped checkpoint has them."""
    for path in sorted(shipped_dir().glob("*.pt")):
        meta, _ = shared.inspected(path)
        if (meta and meta.get("dataset") == dataset and meta.get("history")
                and meta.get("train_config", {}).get("beta", 1.0) == beta
                and ModelConfig.from_dict(meta["config"]).to_dict() == model):
            return path.name, meta["history"]
    return None


def planned_figure(preset: str, overrides: dict, config: TrainConfig) -> go.Figure | None:
    """Before Start: the shipped checkpoint's test curve with the planned run's part shaded; None without one.
    Drawing it also has the browser load its charting code now, not in the run's first seconds, where
    it took a core from the training for over a second (bench/RESULTS.md)."""
    ref = reference_run(dataclasses.replace(get_preset(preset).config, **overrides).to_dict(), config.dataset,
                        config.beta)
    return None if ref is None else figures.reference_curve(ref[1], ref[0], get_preset(preset).variational,
                                                            config.epochs)


def loss_figure(j: TrainingJob, v: JobView) -> go.Figure:
    """The training and test curves so far, with the shipped run of the same settings in grey to beat."""
    ref = reference_run(j.model.config.to_dict(), j.config.dataset, j.config.beta)
    return figures.loss_chart(v.steps, v.evals, j.preset.variational, reference_name=ref and f"shipped {ref[0]}",
                              reference=ref and [h for h in ref[1] if h["epoch"] <= j.config.epochs + 1e-6])


def snapshot_figures(j: TrainingJob, v: JobView) -> tuple[go.Figure | None, go.Figure | None]:
    """The fixed test digits rebuilt, and the 2-D map, at the latest evaluation (built once per
    evaluation); None for what is not there yet, or not 2-D."""
    key = (id(j), len(v.snapshots))
    cached = st.session_state.get("train:snap_figs")
    if cached and cached[0] == key:
        return cached[1]
    recon = scatter = None
    if v.snapshots:
        snap = v.snapshots[-1]
        recon = figures.image_rows([j.test_digits, snap.recon], ["test digit", "rebuilt"], scale=2.2)
        if snap.codes.shape[1:] == (2,):
            scatter = figures.training_map(snap.codes, j.snapshot_labels, CLASS_NAMES[j.config.dataset])
    st.session_state["train:snap_figs"] = (key, (recon, scatter))
    return recon, scatter


def formation(j: TrainingJob, v: JobView) -> go.Figure | None:
    """How a finished run's 2-D latent space formed, as an animation; None for other runs."""
    if len(v.snapshots) < 2 or v.snapshots[0].codes.shape[1:] != (2,):
        return None
    return figures.latent_animation(torch.stack([s.codes for s in v.snapshots]), [s.epoch for s in v.snapshots],
                                    j.snapshot_labels, CLASS_NAMES[j.config.dataset])


def save(j: TrainingJob, name: str, running: bool) -> None:
    """Save this session's run under `name` (never over someone else's file), list it on every page
    and make it the current model. Raises ValueError or OSError with the reason."""
    path = path_for(trained_dir(), name)
    if path.exists() and str(path) not in st.session_state.get("trained", {}).values():
        raise ValueError(f"{path.name} already exists and is not yours; pick another name.")
    j.save(path, judge=shared.judge(j.config.dataset))
    # Kept in the session, not shown once: the live view redraws every few seconds and would wipe it.
    st.session_state["train:saved"] = (id(j), f"Saved as {remember_trained(path)}. It is now the model on every "
                                              "page" + ("; training goes on." if running else "."))
    _mark_run(j)  # saved: a lost server would no longer lose it


def saved_note(j: TrainingJob) -> str | None:
    """What the last save of this job said, if it was saved."""
    saved = st.session_state.get("train:saved")
    return saved[1] if saved and saved[0] == id(j) else None


def _mark_run(j: TrainingJob) -> None:
    """Keep the address bar in step with this session's run: named while unsaved (`?run=vae-2d@10:32`),
    gone once saved."""
    mark = None if saved_note(j) is not None else f"{j.preset.name}@{j.started_at}"
    if st.query_params.get("run") != mark:
        if mark is None:
            del st.query_params["run"]
        else:
            st.query_params["run"] = mark


def lost_run_note(j: TrainingJob | None) -> str | None:
    """What this session lost when the session that held its run ended (a reload, a server that stopped),
    if it did. The address bar
    names an unsaved run (see `_mark_run`): the browser keeps it, and sends it again when it
    reconnects, to another replica behind a load balancer or to the same server started again, where
    this session and its run no longer exist."""
    if j is not None:
        _mark_run(j)
        return None
    if (lost := st.query_params.get("run")) is None:
        return None
    del st.query_params["run"]
    preset, _, at = lost[:60].partition("@")
    return (f"Your training run ({preset}, started at {at}) is no longer here: it ended with this page's earlier "
            "session (a reload, or a server that stopped), and what it had learned is lost unless you saved it. "
            "Press Start to train it again.")


def badge() -> None:
    """A line in the sidebar while this session trains, so a run on another page is never forgotten."""
    j = job()
    if j is not None and j.view().running:
        with st.sidebar:
            _badge(j)


@st.fragment(run_every=POLL_S)
def _badge(j: TrainingJob) -> None:
    v = j.view()
    if v.running:
        pct = (f"number {job_queue().position(j)} in the queue" if v.state == "queued"
               else f"{100 * v.last.fraction:.0f}%" if v.last else "starting")
        st.info(f"Training {j.preset.name}: {pct}. It goes on while you use other pages.")
    else:
        st.success(f"Training {j.preset.name}: {v.state}. See the Train page.")

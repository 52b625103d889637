"""Training from the app: the pool of warm trainers every session shares, this session's run, what any run
shows live (its own, or one a session follows), and the sidebar badge that keeps a run in sight from other
pages."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import threading
import time

import plotly.graph_objects as go
import streamlit as st
import torch

from aelib import figures
from aelib.checkpoint import path_for
from aelib.config import ModelConfig, TrainConfig
from aelib.data import CLASS_NAMES
from aelib.cluster import Cluster, ClusterError
from aelib.jobs import JobView, TrainingJob, TrainingPool
from aelib.presets import get_preset
from ui import forecast, shared
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
FULL_SET = forecast.FULL_SET
# The page opens on a run that draws a 2-D map with digit clusters while a teacher explains it
# (bench/classroom.py first-run); the seeds' recipes are one choice away.
FIRST_PRESET, QUICK_EPOCHS = "vae-2d", 1
NAME_CHARS = 40  # a run's name, as the class board shows it


@st.cache_resource
def _pools() -> dict:
    """This server's pools: "local" (warm workers here), "cluster" (a Ray cluster's, with $AELIB_RAY_ADDRESS),
    "note" (why the cluster is not used, once it is not), and "all" (every pool it has had, for the board)."""
    return {"local": None, "cluster": None, "note": None, "all": [], "lock": threading.Lock()}


def pool() -> TrainingPool:
    """The trainers every session of this server shares: a Ray cluster's with $AELIB_RAY_ADDRESS (aelib.cluster),
    while it answers; else warm workers here. A few runs at once, the others wait."""
    p = _pools()
    with p["lock"]:
        address = os.environ.get("AELIB_RAY_ADDRESS", "").strip()
        if address and p["cluster"] is None and p["note"] is None:
            with st.spinner(f"Connecting to the training cluster at {address}…"):
                try:
                    # Replicas of the app (deploy/class.sh) split the cluster's places between them.
                    share = int(os.environ.get("AELIB_REPLICAS", "1") or 1)
                    p["cluster"] = Cluster(address).pool(abandon_after=ABANDON_AFTER_S, share=share)
                    p["all"].append(p["cluster"])
                except ClusterError as err:
                    p["note"] = f"Training on this machine, not on the cluster: {err}"
        if p["cluster"] is not None and p["cluster"].cluster.gone is not None:
            p["note"] = f"{p['cluster'].cluster.gone} Runs train on this machine now; saved models are all still here."
            p["cluster"] = None
        if p["cluster"] is not None:
            return p["cluster"]
        if p["local"] is None:
            p["local"] = TrainingPool(abandon_after=ABANDON_AFTER_S)
            p["all"].append(p["local"])
        return p["local"]


def where_runs_train() -> tuple[str, str] | None:
    """("warning", why runs train here and not on the cluster), ("info", the cluster they train on), or None for a
    server without a cluster."""
    current = pool()
    note = _pools()["note"]
    if note is not None:
        return "warning", note
    cluster = getattr(current, "cluster", None)
    if cluster is None:
        return None
    f = cluster.facts
    return "info", (f"Runs train on the cluster at {cluster.address}: {len(f['nodes'])} machine"
                    f"{'s' if len(f['nodes']) != 1 else ''}, {current.limit} of this server's runs at once"
                    + (f"; without the dataset: {', '.join(f['without_data'])}" if f["without_data"] else "") + ".")


def jobs() -> list[TrainingJob]:
    """Every run of this server, on each pool it has had, the first first."""
    pool()
    return sorted((j for p in _pools()["all"] for j in p.jobs()), key=lambda j: j.number)


def job() -> TrainingJob | None:
    """This session's training job, if it started one."""
    return st.session_state.get("job")


def run(number: int | None) -> TrainingJob | None:
    """Any run of this server, by its number."""
    return next((j for j in jobs() if j.number == number), None)


def clean_name(text: str | None) -> str | None:
    """A run's name as the class sees it: letters, digits, spaces and a little punctuation, at most NAME_CHARS;
    None for nothing left (the run is then "run N")."""
    kept = re.sub(r"[^\w .,'!?()+-]", "", " ".join(str(text or "").split()), flags=re.UNICODE)
    return kept[:NAME_CHARS].strip() or None


def model_overrides(preset: str, latent: int, prior_components: int | None, noise: float | None) -> dict:
    """The Train page's model settings, as overrides of the preset's config."""
    overrides = {} if get_preset(preset).latent_fixed else {"latent_dim": int(latent)}
    if prior_components is not None:
        overrides["prior_components"] = int(prior_components)
    if noise is not None:
        overrides["noise"] = float(noise)
    return overrides


def run_config(preset: str, base: TrainConfig, overrides: dict, limit: int, **train) -> TrainConfig:
    """The Train page's run settings over `base` (the preset's first look, or its full recipe): the map's history
    is kept for 2-D codes."""
    two_d = overrides.get("latent_dim", get_preset(preset).config.latent_dim) == 2
    return dataclasses.replace(base, limit=None if limit >= FULL_SET else int(limit), snapshots=True,
                               snapshot_points=2000 if two_d else 0, **train)


def length_words(config: TrainConfig) -> str:
    """A recipe's length in a few words: '1 epoch'."""
    return f"{config.epochs} epoch{'s' if config.epochs != 1 else ''}"


def first_look_words(first: TrainConfig, full: TrainConfig) -> str | None:
    """What a preset's first look does beyond cutting its recipe short, said under the choice; None for nothing."""
    said = []
    if first.lr != full.lr or first.batch_size != full.batch_size:
        said.append(f"a learning rate of {first.lr:g} in batches of {first.batch_size}")
    if first.warmup_steps:
        said.append(f"the rate warmed up over the first {first.warmup_steps} steps")
    if first.betas != full.betas:
        said.append(f"Adam's averages over shorter spans (betas {first.betas[0]:g}, {first.betas[1]:g})")
    if first.kl_warmup:
        said.append("the KL's weight rising from 0 over " + ("the run" if first.kl_warmup >= 1 else
                                                              f"the first {first.kl_warmup:.0%} of it"))
    if not said:
        return None
    return ("The first look trains with " + ", ".join(said) + ", so that the map shows the digits' clusters "
            "within seconds (bench/first_look.py measured it).")


def start(preset: str, overrides: dict, config: TrainConfig, name: str | None = None) -> TrainingJob | None:
    """Queue a run of `preset` with the Train page's settings as this session's job, called `name`; it is
    stopped if the session's browser tab closes. None when this session has a run waiting or training already
    (two presses of Start at once): one run a session."""
    old = job()
    if old is not None and old.view().running:
        return None
    new = TrainingJob(preset, config, name=clean_name(name), **overrides)
    new.owner_alive = _session_alive()
    new.started_at = time.strftime("%H:%M")
    forecast.foresee(new, pool())
    new.expected_wait_s = forecast.forecast(pool(), new.expected_s).starts_in  # before it joins the queue
    if old is not None:
        old.release()  # the old run can no longer be saved from this page: its weights may go
    st.session_state["job"] = new
    return pool().submit(new)


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
    """Where a waiting run stands in the queue and when it should start, kept current at every look."""
    p = pool()
    place = p.position(j)
    if place is None:
        return "Its turn has come: starting…"
    f = forecast.forecast(p, j.expected_s, j)
    when = f" It should start in about {forecast.duration(f.starts_in)}." if f.starts_in is not None else ""
    return (f"Waiting for a free trainer: number {place} in the queue.{when} This machine trains {p.limit} "
            f"model{'s' if p.limit > 1 else ''} at a time; each starts by itself.")


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
    ask = POLL_S if v.running else None
    if queued:  # a waiting run asks when it should start, not every POLL_S: a class waits many at a time
        starts = forecast.forecast(pool(), j.expected_s, j).starts_in
        ask = max(POLL_S, starts + ASK_AFTER_S) if starts is not None and starts < FIGURES_S else None
    data = {"run": str(j.number), "fraction": ev.fraction if ev else 0.0,
            "text": "Waiting for a free trainer…" if queued else progress_text(j, v), "askIn": ask,
            "askEvery": POLL_S}
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


@st.cache_resource
def _shown() -> dict:
    """The live figures of every run as they stand, by (run, figure): built once for all who watch it (its owner,
    and a class following it), and again only when the run has more to show."""
    return {}


def _once(j: TrainingJob, name: str, version: tuple, build, keep: int = 60):
    kept = _shown()
    entry = kept.get((j.number, name))
    if entry is None or entry[0] != version:
        kept.pop((j.number, name), None)
        entry = kept[(j.number, name)] = (version, build())
        for old in list(kept)[:-keep]:  # the runs shown least lately
            kept.pop(old, None)
    return entry[1]


def loss_figure(j: TrainingJob, v: JobView) -> go.Figure:
    """The training and test curves so far, with the shipped run of the same settings in grey to beat."""
    def build() -> go.Figure:
        ref = reference_run(j.model.config.to_dict(), j.config.dataset, j.config.beta)
        return figures.loss_chart(v.steps, v.evals, j.preset.variational,
                                  reference_name=ref and f"shipped {ref[0]}",
                                  reference=ref and [h for h in ref[1] if h["epoch"] <= j.config.epochs + 1e-6])

    return _once(j, "loss", (len(v.steps), len(v.evals)), build)


def snapshot_figures(j: TrainingJob, v: JobView) -> tuple[go.Figure | None, go.Figure | None]:
    """The fixed test digits rebuilt, and the 2-D map, at the latest evaluation (built once per
    evaluation); None for what is not there yet, or not 2-D."""
    def build() -> tuple[go.Figure | None, go.Figure | None]:
        recon = scatter = None
        if v.snapshots:
            snap = v.snapshots[-1]
            recon = figures.image_rows([j.test_digits, snap.recon], ["test digit", "rebuilt"], scale=2.2)
            if snap.codes.shape[1:] == (2,):
                scatter = figures.training_map(snap.codes, j.snapshot_labels, CLASS_NAMES[j.config.dataset])
        return recon, scatter

    return _once(j, "snapshots", (len(v.snapshots),), build)


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
    j.saved_as = remember_trained(path)  # for those who follow the run: the explorer opens it by this name
    # Kept in the session, not shown once: the live view redraws every few seconds and would wipe it.
    st.session_state["train:saved"] = (id(j), f"Saved as {j.saved_as}. It is now the model on every "
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
        pct = (f"number {pool().position(j)} in the queue" if v.state == "queued"
               else f"{100 * v.last.fraction:.0f}%" if v.last else "starting")
        st.info(f"Training {j.preset.name}: {pct}. It goes on while you use other pages.")
    else:
        st.success(f"Training {j.preset.name}: {v.state}. See the Train page.")

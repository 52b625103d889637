"""Train page: pick a preset and its settings, watch it learn live, save the result as a checkpoint."""

import time

import streamlit as st
import torch

import ui
from aelib import figures
from aelib.checkpoint import path_for
from aelib.data import CLASS_NAMES
from aelib.jobs import TrainingJob
from aelib.presets import PRESETS, get_preset, recipe

st.title("Train an autoencoder")
BATCHES = [16, 32, 64, 100, 128, 256, 512, 1024]
RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
LIMITS = [1_000, 5_000, 10_000, 30_000, 60_000]
POLL_S, LOSS_REDRAW_S = 2.0, 10.0  # progress every 2 s; the loss curve every 10 s and at each evaluation

job = ui.job()
busy = job is not None and job.view().running

# Settings. Keys carry the preset's name, so picking another preset resets them to its recipe.
preset = st.selectbox("Preset", list(PRESETS), disabled=busy, key="train:preset",
                      format_func=lambda n: f"{n}  ·  {PRESETS[n].seed_ref or 'improved'}")
p = get_preset(preset)
st.caption(p.origin)
r = p.recipe
c1, c2, c3, c4 = st.columns(4)
latent = c1.number_input("Latent size", 1, 64, p.config.latent_dim, disabled=busy or p.latent_fixed,
                         key=f"train:{preset}:latent",
                         help="Fixed by this architecture." if p.latent_fixed else "2 gives a map you can explore.")
epochs = c2.number_input("Epochs", 1, 200, r.epochs, disabled=busy, key=f"train:{preset}:epochs")
batch = c3.select_slider("Batch size", sorted({*BATCHES, r.batch_size}), r.batch_size, disabled=busy,
                         key=f"train:{preset}:batch")
lr = c4.select_slider("Learning rate", sorted({*RATES, r.lr}), r.lr, disabled=busy, key=f"train:{preset}:lr",
                      format_func=lambda v: f"{v:g}", help=f"Optimizer: {r.optimizer}.")
c1, c2, c3, c4 = st.columns(4)
if p.variational:
    mixture = c1.number_input("Prior: learned Gaussians", 0, 500, p.config.prior_components, disabled=busy,
                              key=f"train:{preset}:prior",
                              help="0 keeps the standard prior N(0, I). K learns a mixture of K Gaussians along with "
                                   "the model: it can follow the clusters of the codes, so more random samples "
                                   "land on real-looking digits.")
else:
    noise = c1.slider("Input noise", 0.0, 1.0, float(p.config.noise), 0.05, disabled=busy,
                      key=f"train:{preset}:noise",
                      help="Corrupt the inputs with this much Gaussian noise and learn to undo it (S4 uses 0.4).")
seed = c2.number_input("Seed", 0, 2**31 - 1, r.seed, disabled=busy, key=f"train:{preset}:seed")
dataset = c3.radio("Dataset", list(CLASS_NAMES), disabled=busy, key=f"train:{preset}:dataset", horizontal=True,
                   format_func={"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}.get)
limit = c4.select_slider("Training images", LIMITS, 60_000, disabled=busy, key=f"train:{preset}:limit",
                         format_func=lambda n: f"{n:,}", help="Fewer images make a quick demo.")

b1, b2, _ = st.columns([1, 1, 4])
if b1.button("Start training", type="primary", disabled=busy, use_container_width=True, key="train:start"):
    overrides = {} if p.latent_fixed else {"latent_dim": int(latent)}
    if p.variational:
        overrides["prior_components"] = int(mixture)
    else:
        overrides["noise"] = float(noise)
    config = recipe(preset, epochs=int(epochs), batch_size=int(batch), lr=float(lr), seed=int(seed),
                    dataset=dataset, limit=None if limit == 60_000 else int(limit), snapshots=True,
                    snapshot_points=2000 if overrides.get("latent_dim", p.config.latent_dim) == 2 else 0)
    job = ui.submit(TrainingJob(preset, config, **overrides))
    st.rerun()  # redraw the settings and Start as disabled; the live view below only redraws itself
if b2.button("Stop", disabled=not busy, use_container_width=True, key="train:stop"):
    job.stop()


def loss_figure(job: TrainingJob, v):
    """The loss chart, rebuilt at most every few seconds while training: each redraw costs the
    browser CPU time that a laptop's training would otherwise get."""
    t, key, fig = st.session_state.get("train:loss_fig", (0.0, None, None))
    if key != (id(job), len(v.evals)) or not v.running or time.monotonic() - t > LOSS_REDRAW_S:
        fig = figures.loss_chart(v.steps, v.evals, job.preset.variational)
        st.session_state["train:loss_fig"] = (time.monotonic(), (id(job), len(v.evals)), fig)
    return fig


def snapshot_figures(job: TrainingJob, v) -> tuple:
    """Reconstructions and the 2-D map of the latest evaluation, built once per evaluation."""
    key = (id(job), len(v.snapshots))
    cached = st.session_state.get("train:snap_figs")
    if cached and cached[0] == key:
        return cached[1]
    snap = v.snapshots[-1]
    recon = figures.image_rows([job.test_digits.squeeze(1) / 255, snap.recon.squeeze(1)],
                               ["test digit", "rebuilt"], scale=2.2)
    scatter = None
    if snap.codes.shape[1:] == (2,):
        lo, hi = snap.codes.min(0).values.tolist(), snap.codes.max(0).values.tolist()
        pad = [0.05 * (h - l) + 1e-3 for l, h in zip(lo, hi)]
        scatter = figures.latent_scatter(
            snap.codes, job.snapshot_labels, CLASS_NAMES[job.config.dataset],
            (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]), clickable=False, height=360,
            webgl=False)
    st.session_state["train:snap_figs"] = (key, (recon, scatter))
    return recon, scatter


def show(job: TrainingJob) -> None:
    """Progress, curves, reconstructions and the 2-D map of one job, as it stands now."""
    v = job.view()
    ev = v.last
    if v.state == "queued":
        queue = ui.job_queue()
        st.info(f"Waiting for a free trainer: you are number {v.queue_position} in the queue. This machine "
                f"trains {queue.limit} model{'s' if queue.limit > 1 else ''} at a time; yours starts by itself.")
        return
    if ev is None:
        st.progress(0.0, text=v.message)
        return
    eta = f"{ev.eta:.0f} s left" if v.running and ev.eta == ev.eta else f"{ev.elapsed:.1f} s in all"
    st.progress(ev.fraction, text=(
        f"Epoch {min(int(ev.epoch) + 1, job.config.epochs) if v.running else round(ev.epoch, 2)} of "
        f"{job.config.epochs} · step {ev.step:,} of {ev.total_steps:,} · "
        f"{(ev.samples_per_s if v.running else v.mean_samples_per_s):,.0f} images/s · {eta}"))
    recon, scatter = snapshot_figures(job, v) if v.snapshots else (None, None)
    left, right = st.columns([3, 2], gap="large") if scatter is not None else (st.container(), None)
    left.plotly_chart(loss_figure(job, v), key="train:loss")
    epoch = v.snapshots[-1].epoch if v.snapshots else 0
    if scatter is not None:
        right.caption(f"The 2-D codes of {len(v.snapshots[-1].codes):,} test digits after epoch {epoch:.2f}")
        right.plotly_chart(scatter, key="train:map", config=ui.STILL)
    if recon is None:
        st.caption("Reconstructions of fixed test digits appear after the first epoch.")
    else:
        st.caption(f"Fixed test digits and their reconstructions after epoch {epoch:.2f}")
        st.plotly_chart(recon, key="train:recon", config=ui.STILL)


def save_form(job: TrainingJob, running: bool) -> None:
    """Name and save the model: the finished run, or the last completed epoch of a running one."""
    epochs = job.saved_epoch if running else job.config.epochs
    with st.form("save_now" if running else "save"):
        name = st.text_input("Checkpoint name", f"{job.preset.name}-{job.config.dataset}-{job.model.latent_dim}d-"
                                                f"{epochs}ep", key="train:name_now" if running else "train:name",
                             help="Letters, digits, '-' and '_'.")
        label = f"Save as of epoch {epochs}" if running else "Save checkpoint"
        submitted = st.form_submit_button(label, type="primary", key="train:save_now" if running else "train:save")
    if submitted:
        try:
            path = path_for(ui.trained_dir(), name)
            if path.exists() and str(path) not in st.session_state.get("trained", {}).values():
                raise ValueError(f"{path.name} already exists and is not yours; pick another name.")
            with st.spinner("Measuring on the test set and saving…"):
                job.save(path, judge=ui.judge(job.config.dataset))
            # Kept in the session: the live view redraws every 2 s and would wipe a one-off message.
            st.session_state["train:saved"] = (id(job), f"Saved as {ui.remember_trained(path)}. It is now the "
                                               "model on every page" + ("; training goes on." if running else "."))
        except (ValueError, OSError) as err:
            st.error(str(err))
    saved = st.session_state.get("train:saved")
    if saved and saved[0] == id(job):
        st.success(saved[1])
        st.page_link("pages/explorer.py", label="Explore it", icon=":material/scatter_plot:")


@st.fragment(run_every=POLL_S)
def live(job: TrainingJob) -> None:
    show(job)
    v = job.view()
    if not v.running:
        st.rerun()  # the whole page, which now shows the finished run and the save form
    if job.can_save:
        with st.expander("Keep the model as it is now, while it trains on"):
            save_form(job, running=True)


if job is not None:
    st.divider()
    v = job.view()
    if v.running:
        live(job)
    else:
        {"done": st.success, "stopped": st.warning}.get(v.state, st.error)(v.message)
        show(job)
        if v.snapshots and v.snapshots[0].codes.shape[1:] == (2,) and len(v.snapshots) > 1:
            st.subheader("How the latent space formed")
            st.plotly_chart(figures.latent_animation(
                torch.stack([s.codes for s in v.snapshots]), [s.epoch for s in v.snapshots], job.snapshot_labels,
                CLASS_NAMES[job.config.dataset]), key="train:animation")
        if job.can_save:
            st.subheader("Keep this model" if v.state != "diverged" else "Keep the last good weights")
            save_form(job, running=False)

"""Train page: pick a preset and its settings, watch it learn live, save the result as a checkpoint."""

import streamlit as st

import ui
from aelib.data import CLASS_NAMES
from aelib.presets import PRESETS, get_preset
from ui import training, words
from ui.livebar import live_bar

st.title("Train an autoencoder")
BATCHES = [16, 32, 64, 100, 128, 256, 512, 1024]
RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
BETAS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # positive only: β <= 0 is not a VAE objective
LIMITS = [1_000, 5_000, 10_000, 30_000, training.FULL_SET]

job = training.job()
busy = job is not None and job.view().running
if (lost := training.lost_run_note(job)) is not None:
    st.warning(lost)

# Settings. Keys carry the preset's name, so picking another preset resets them to its recipe.
preset = st.selectbox("Preset", list(PRESETS), list(PRESETS).index(training.FIRST_PRESET), disabled=busy,
                      key="train:preset", format_func=lambda n: f"{n}  ·  {PRESETS[n].seed_ref or 'improved'}")
p = get_preset(preset)
st.caption(p.origin)
r = p.recipe
quick = min(training.QUICK_EPOCHS, r.epochs)
length = st.radio("Length", ["quick", "recipe"], horizontal=True, disabled=busy, key=f"train:{preset}:length",
                  format_func={"quick": f"A quick first look: {quick} epoch{'s' if quick > 1 else ''}",
                               "recipe": f"The full recipe: {r.epochs} epochs"}.get)
c1, c2, c3, c4 = st.columns(4)
latent = c1.number_input("Latent size", 1, max(64, p.config.latent_dim), p.config.latent_dim, disabled=busy or p.latent_fixed,
                         key=f"train:{preset}:latent",
                         help="Fixed by this architecture." if p.latent_fixed else "2 gives a map you can explore.")
epochs = c2.number_input("Epochs", 1, 200, quick if length == "quick" else r.epochs, disabled=busy,
                         key=f"train:{preset}:{length}:epochs")
batch = c3.select_slider("Batch size", sorted({*BATCHES, r.batch_size}), r.batch_size, disabled=busy,
                         key=f"train:{preset}:batch")
lr = c4.select_slider("Learning rate", sorted({*RATES, r.lr}), r.lr, disabled=busy, key=f"train:{preset}:lr",
                      format_func=lambda v: f"{v:g}", help=f"Optimizer: {r.optimizer}.")
c1, c5, c2, c3, c4 = st.columns([2, 2, 2, 3, 3])
mixture = noise = None
beta = 1.0
if p.variational:
    mixture = c1.number_input("Prior: learned Gaussians", 0, 500, p.config.prior_components, disabled=busy,
                              key=f"train:{preset}:prior",
                              help="0 keeps the standard prior N(0, I). K learns a mixture of K Gaussians along with "
                                   "the model: it can follow the clusters of the codes, so more random samples "
                                   "land on real-looking digits.")
    beta = c5.select_slider("β: weight of the KL", sorted({*BETAS, r.beta}), r.beta, disabled=busy,
                            key=f"train:{preset}:beta", format_func=lambda v: f"{v:g}",
                            help="1 trains a plain VAE. A larger β (a β-VAE) uses fewer code dimensions, each a "
                                 "tidier trait of the digit, and draws blurrier digits.")
else:
    noise = c1.slider("Input noise", 0.0, 1.0, float(p.config.noise), 0.05, disabled=busy,
                      key=f"train:{preset}:noise",
                      help="Corrupt the inputs with this much Gaussian noise and learn to undo it (S4 uses 0.4).")
seed = c2.number_input("Seed", 0, 2**31 - 1, r.seed, disabled=busy, key=f"train:{preset}:seed")
dataset = c3.radio("Dataset", list(CLASS_NAMES), disabled=busy, key=f"train:{preset}:dataset", horizontal=True,
                   format_func={"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}.get)
limit = c4.select_slider("Training images", LIMITS, training.FULL_SET, disabled=busy, key=f"train:{preset}:limit",
                         format_func=lambda n: f"{n:,}", help="Fewer images make a quick demo.")

overrides = training.model_overrides(preset, latent, mixture, noise)
config = training.run_config(preset, overrides, limit, epochs=int(epochs), batch_size=int(batch), lr=float(lr),
                             seed=int(seed), dataset=dataset, beta=float(beta))
if not busy:
    st.caption(training.duration_note(preset, overrides, config))
b1, b2, _ = st.columns([1, 1, 4])
if b1.button("Start training", type="primary", disabled=busy, use_container_width=True, key="train:start"):
    training.start(preset, overrides, config)
    st.rerun()  # redraw the settings and Start as disabled; the live view below only redraws itself
if b2.button("Stop", disabled=not busy, use_container_width=True, key="train:stop"):
    job.stop()


def show_progress(job, v) -> None:
    """How far the finished run got, and how fast."""
    training.remember_startup(v)
    if v.last is not None:  # a run that ended before its first step has its message above
        st.progress(v.last.fraction, text=training.progress_text(job, v))


def show_figures(job, v) -> None:
    """Curves, reconstructions and the 2-D map of one job, as it stands now. Drawn from Start on, while the
    training process starts: the chart's first draw then takes no core from the training."""
    if v.last is None and not v.running:
        return
    recon, scatter = training.snapshot_figures(job, v)
    left, right = st.columns([3, 2], gap="large") if scatter is not None else (st.container(), None)
    left.plotly_chart(training.loss_figure(job, v), key="train:loss")
    epoch = v.snapshots[-1].epoch if v.snapshots else 0
    if scatter is not None:
        right.caption(f"The 2-D codes of {len(v.snapshots[-1].codes):,} test digits after epoch {epoch:.2f}")
        right.plotly_chart(scatter, key="train:map", config=ui.STILL)
    if recon is None:
        st.caption("Reconstructions of fixed test digits appear after the first epoch.")
    else:
        st.caption(f"Fixed test digits and their reconstructions after epoch {epoch:.2f}")
        st.plotly_chart(recon, key="train:recon", config=ui.STILL)


def save_form(job, running: bool) -> None:
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
            with st.spinner("Measuring on the test set and saving…"):
                training.save(job, name, running)
        except (ValueError, OSError) as err:
            st.error(str(err))
    if (note := training.saved_note(job)) is not None:
        st.success(note)
        st.page_link("pages/explorer.py", label="Explore it", icon=":material/scatter_plot:")


# The live view: a progress bar that moves on in the page and asks the server only while the run starts and when
# it should have ended, and charts redrawn every FIGURES_S. Two fragments, so that an ask redraws the bar alone: a
# redraw of the charts takes the browser a few tenths of a second of a core, which the training would lose.
def running_view(job):
    """The job's view while it runs; once it has ended, the whole page again, which shows the finished run and
    the save form."""
    v = job.view()
    if not v.running:
        st.rerun()
    return v


@st.fragment(run_every=training.FIGURES_S)
def live_progress(job) -> None:
    v = running_view(job)
    training.remember_startup(v)
    if v.state == "queued":
        st.info(training.waiting_note(job))
    live_bar(training.live_bar_data(job, v), key="train:progress")


@st.fragment(run_every=training.FIGURES_S)
def live_figures(job) -> None:
    """Drawn at Start, so the chart is there before the first step."""
    v = running_view(job)
    show_figures(job, v)
    if job.can_save:
        with st.expander("Keep the model as it is now, while it trains on"):
            save_form(job, running=True)


if job is None and (planned := training.planned_figure(preset, overrides, config)) is not None:
    st.divider()
    st.caption("What the full recipe reached: the shipped checkpoint of these settings, tested after each epoch. "
               "Your run's live curves draw here once you press Start, with this one in grey to beat.")
    st.plotly_chart(planned, key="train:planned", config=ui.STILL)
elif job is not None:
    st.divider()
    v = job.view()
    if v.running:
        live_progress(job)
        live_figures(job)
    else:
        {"done": st.success, "stopped": st.warning}.get(v.state, st.error)(words.job_message(v))
        show_progress(job, v)
        show_figures(job, v)
        if (animation := training.formation(job, v)) is not None:
            st.subheader("How the latent space formed")
            st.plotly_chart(animation, key="train:animation")
        if job.can_save:
            st.subheader("Keep this model" if v.state != "diverged" else "Keep the last good weights")
            save_form(job, running=False)

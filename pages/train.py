"""Train page: pick a preset and its settings, see when the run would start, watch it learn live, save it."""

import streamlit as st

import ui
from aelib.data import CLASS_NAMES
from aelib.presets import PRESETS, get_preset
from ui import forecast, runview, training

st.title("Train an autoencoder")
BATCHES = [16, 32, 64, 100, 128, 256, 512, 1024]
RATES = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0, 10.0]
BETAS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # positive only: β <= 0 is not a VAE objective
LIMITS = [1_000, 5_000, 10_000, 30_000, training.FULL_SET]

pool = training.pool()
if (where := training.where_runs_train()) is not None:
    getattr(st, where[0])(where[1])
job = training.job()
busy = job is not None and job.view().running
if (lost := training.lost_run_note(job)) is not None:
    st.warning(lost)

# Settings. Keys carry the preset's name, so picking another preset resets them to its recipe; the run's length
# too for those the first look sets (epochs, batch, learning rate).
preset = st.selectbox("Preset", list(PRESETS), list(PRESETS).index(training.FIRST_PRESET), disabled=busy,
                      key="train:preset", format_func=lambda n: f"{n}  ·  {PRESETS[n].seed_ref or 'improved'}")
p = get_preset(preset)
st.caption(p.origin)
first, full = p.first_look, p.recipe
length = st.radio("Length", ["quick", "recipe"], horizontal=True, disabled=busy, key=f"train:{preset}:length",
                  format_func={"quick": f"A quick first look: {training.length_words(first)}",
                               "recipe": f"The full recipe: {full.epochs} epochs"}.get)
r = first if length == "quick" else full
if length == "quick" and (how := training.first_look_words(first, full)):
    st.caption(how)
c1, c2, c3, c4 = st.columns(4)
latent = c1.number_input("Latent size", 1, max(64, p.config.latent_dim), p.config.latent_dim, disabled=busy or p.latent_fixed,
                         key=f"train:{preset}:latent",
                         help="Fixed by this architecture." if p.latent_fixed else "2 gives a map you can explore.")
epochs = c2.number_input("Epochs", 1, 200, r.epochs, disabled=busy, key=f"train:{preset}:{length}:epochs")
batch = c3.select_slider("Batch size", sorted({*BATCHES, r.batch_size}), r.batch_size, disabled=busy,
                         key=f"train:{preset}:{length}:batch")
lr = c4.select_slider("Learning rate", sorted({*RATES, r.lr}), r.lr, disabled=busy, key=f"train:{preset}:{length}:lr",
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
name = st.text_input("Name your run (optional)", max_chars=training.NAME_CHARS, disabled=busy, key="train:run_name",
                     placeholder="the class board calls it 'run N' otherwise",
                     help="How the class board lists it for everyone: letters, digits, spaces and a little "
                          "punctuation.")

overrides = training.model_overrides(preset, latent, mixture, noise)
config = training.run_config(preset, r, overrides, limit, epochs=int(epochs), batch_size=int(batch), lr=float(lr),
                             seed=int(seed), dataset=dataset, beta=float(beta))


@st.fragment(run_every=training.FIGURES_S)
def when_it_would_run() -> None:
    """When a run of these settings would start and how long it takes, kept current as the class starts runs."""
    shared = forecast.sharing(pool)  # beside other runs, a run has its part of the cores
    takes = forecast.expected_s(preset, overrides, config, pool, shared)
    st.caption(forecast.queue_note(forecast.forecast(pool, takes)) + " "
               + forecast.duration_note(forecast.speed(preset, overrides, config.batch_size, pool, shared), config))


if not busy:
    when_it_would_run()
b1, b2, _ = st.columns([1, 1, 4])
if b1.button("Start training", type="primary", disabled=busy, use_container_width=True, key="train:start"):
    if training.start(preset, overrides, config, name) is None:
        st.warning("This page has a run waiting or training already: one run a page. Stop it to start another.")
    else:
        st.rerun()  # redraw the settings and Start as disabled; the live view below only redraws itself
if b2.button("Stop", disabled=not busy, use_container_width=True, key="train:stop"):
    job.stop()


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


if job is None and (planned := training.planned_figure(preset, overrides, config)) is not None:
    st.divider()
    st.caption("What the full recipe reached: the shipped checkpoint of these settings, tested after each epoch. "
               "Your run's live curves draw here once you press Start, with this one in grey to beat.")
    st.plotly_chart(planned, key="train:planned", config=ui.STILL)
elif job is not None:
    st.divider()
    st.caption(f"The class board lists this run as **{job.title}**: anyone can follow it there, live.")
    st.page_link("pages/board.py", label="The class's runs", icon=":material/leaderboard:")
    runview.show(job, owner=True, key="train", keep=save_form)

"""Generate page: decode random codes from the prior, compare a plain AE with a VAE, download the digits."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.images import png_bytes
from aelib.judge import CONFIDENT
from aelib.latent import ClassGaussians, decode, sample_prior, tile
from aelib.presets import get_preset
from aelib.samples import draw
from ui import picker, shared, words
from ui.checkpoints import usable

st.title("Generate new digits")


def variational(meta: dict) -> bool:
    return get_preset(meta["preset"]).variational


choice, path = picker.pick_model()
model, lmap = shared.model(path), shared.latent_map(path)
dataset = shared.dataset_of(model)
names, judge = CLASS_NAMES[dataset], shared.judge(dataset)
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
side = c1.select_slider("Grid", [4, 6, 8, 10, 16], 8, format_func=lambda n: f"{n}x{n}", key="gen:side")
seed = int(c2.number_input("Random seed", 0, 2**31 - 1, 0, key="gen:seed",
                           help="The same seed draws the same codes, on every model."))
modes = [words.prior_name(model)] + (["one Gaussian per class (balanced)"] if lmap is not None else [])
mode = c3.radio("Draw codes from", modes, horizontal=True, key="gen:mode",
                help="Per class: a Gaussian fitted to the codes of each class's test digits, drawn in turn, so "
                     "every class comes out equally often and each digit's intended class is known.")
per_class = ClassGaussians(lmap.codes, lmap.labels, len(names)) if mode != modes[0] else None
samples = draw(model, side * side, seed, per_class, judge)
st.markdown(f"**{side * side} codes drawn from {mode}, decoded by `{choice}`** ({model.latent_dim} numbers each)")
if model.discrete and per_class is None:
    st.caption("This is a VQ-VAE, which has no prior of its own: each of the 49 cells gets a random codebook entry, "
               "and the cells do not agree on a digit. The page 'A code of whole numbers' shows why.")
elif not model.variational and per_class is None:
    st.caption("This is a plain autoencoder: nothing in its training made its codes follow N(0, I), so "
               "expect smudges where the random codes fall outside the region it uses. See the comparison below.")
left, right = st.columns([3, 2], gap="large")
left.plotly_chart(figures.sample_sheet(samples.images, side, names, samples.labels, samples.confidence),
                  width="content", key="gen:grid", config=ui.STILL)
if judge is not None:
    left.caption(f"In each corner: the judge's verdict (red with ? when under {CONFIDENT:.0%} sure). "
                 f"{samples.recognisable} of {len(samples.images)} are recognisable.")
with right:
    st.markdown("**How recognisable are this model's digits?**")
    score, real = shared.recognisability_of(path), shared.real_recognisability(dataset)
    if score is None:
        st.info(words.no_judge(dataset))
    else:
        rows = [("this model", score)] + ([("real test set", real)] if real else [])
        st.dataframe({"digits": [r[0] for r in rows],
                      "recognisable": [f"{r[1]['confident_share']:.1%}" for r in rows],
                      "entropy (bits)": [f"{r[1]['label_entropy']:.2f}" for r in rows]},
                     hide_index=True, use_container_width=True)
        st.plotly_chart(figures.label_histograms([r[1]["histogram"] for r in rows], [r[0] for r in rows], names),
                        key="gen:hist", config=ui.STILL)
        st.caption(f"Over {shared.SCORE_SAMPLES:,} prior samples, judged by a CNN classifier "
                   f"({judge.metadata.get('test_accuracy', 0):.2%} on the real test set). Recognisable: the share "
                   "it names with at least 90% confidence. Entropy: how evenly the classes come out, "
                   "3.32 bits when all ten are equally common.")
    st.markdown("**Download**")
    stem = f"{choice.removesuffix('.pt').replace('/', '-')}-seed{seed}"
    st.download_button("PNG grid", png_bytes(tile(samples.images, side, side)), f"{stem}.png", "image/png",
                       use_container_width=True)
    st.download_button(".npz dataset (images, codes" + (", judge's labels and confidence" if judge else "") + ")",
                       samples.npz(), f"{stem}.npz", "application/octet-stream", use_container_width=True)
    st.caption("Generated digits can extend a training set (S1's data-augmentation use): `numpy.load` gives "
               "`images` (uint8, N x 28 x 28), `codes`, and with a judge `judge_labels` and `judge_confidence`"
               + ("; per-class drawing adds `drawn_class`." if per_class is not None else "."))

st.divider()
st.subheader("A plain autoencoder against a VAE: the same random codes")
vaes = usable(variational)
left, right = st.columns(2, gap="large")
vae_name = picker.choose(right, "VAE", vaes, "vae-2d.pt", key="gen:vae")
vae = shared.model(vaes[vae_name])
aes = usable(lambda m: not variational(m) and m["config"]["latent_dim"] == vae.latent_dim)
if not aes:
    left.info(f"No plain autoencoder with a {vae.latent_dim}-number code to compare with. Pick a 2-D VAE, "
              "or train a plain AE with that latent size on the Train page.")
    st.stop()
ae_name = picker.choose(left, "Plain autoencoder", aes, "ae-2d.pt", key="gen:ae")
z, from_vae = sample_prior(vae, 64, seed=seed)  # the same 64 codes for both models
from_ae = decode(shared.model(aes[ae_name]), z)
for col, path, images in [(left, aes[ae_name], from_ae), (right, vaes[vae_name], from_vae)]:
    col.plotly_chart(figures.image(tile(images, 8, 8), height=380), width="content", key=f"gen:cmp:{path}",
                     config=ui.STILL)
    if (cmp_map := shared.latent_map(path)) is not None and vae.latent_dim == 2:
        col.plotly_chart(figures.latent_scatter(
            cmp_map.points, cmp_map.labels, CLASS_NAMES[shared.dataset_of(shared.model(path))], cmp_map.x_range,
            cmp_map.y_range, clickable=False, height=330, overlay=z, overlay_name="the 64 random codes", legend=False),
            key=f"gen:map:{path}", config=ui.STILL)
st.caption("Under each grid, the model's map of the test digits (coloured by class) with the 64 random codes as "
           "black crosses, drawn from the VAE's prior. The VAE was trained to keep its codes near that prior, "
           "so they land among real ones and decode to digits. The plain autoencoder put its codes wherever it "
           "liked: the crosses miss most of its map, and what lies between its clusters was never trained to be a "
           "digit. Its latent space is not dense.")

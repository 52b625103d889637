"""Generate page: decode random codes from the prior, compare a plain AE with a VAE, download the digits."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES
from aelib.images import npz_bytes, png_bytes
from aelib.latent import decode, sample_prior, tile
from aelib.presets import get_preset

st.title("Generate new digits")


def variational(meta: dict) -> bool:
    return get_preset(meta["preset"]).variational


choice, path = ui.pick_model()
model = ui.model(path)
c1, c2, c3 = st.columns([1, 1, 2], vertical_alignment="bottom")
side = c1.select_slider("Grid", [4, 6, 8, 10, 16], 8, format_func=lambda n: f"{n}x{n}", key="gen:side")
seed = c2.number_input("Random seed", 0, 2**31 - 1, 0, key="gen:seed",
                       help="The same seed draws the same codes, on every model.")
z, digits = sample_prior(model, side * side, seed=int(seed))  # (n, D), (n, 28, 28)
sheet = tile(digits, side, side)
st.markdown(f"**{side * side} codes drawn from N(0, I) and decoded by `{choice}`** "
            f"({model.latent_dim} numbers each)")
if not model.variational:
    st.caption("This is a plain autoencoder: nothing in its training made its codes follow N(0, I), so "
               "expect smudges where the random codes fall outside the region it uses. See the comparison below.")
left, right = st.columns([3, 2], gap="large")
left.plotly_chart(figures.image(sheet, height=560), width="content", key="gen:grid", config=ui.STILL)
with right:
    st.markdown("**Download**")
    stem = f"{choice.removesuffix('.pt').replace('/', '-')}-seed{seed}"
    st.download_button("PNG grid", png_bytes(sheet), f"{stem}.png", "image/png", use_container_width=True)
    st.download_button(".npz array (images uint8 N x 28 x 28, codes N x D)", npz_bytes(digits, z), f"{stem}.npz",
                       "application/octet-stream", use_container_width=True)
    st.caption("Generated digits can extend a training set (S1's data-augmentation use). "
               "Load the array with `numpy.load`.")

st.divider()
st.subheader("A plain autoencoder against a VAE: the same random codes")
vaes = ui.usable(variational)
left, right = st.columns(2, gap="large")
vae_name = ui.choose(right, "VAE", vaes, "vae-2d.pt", key="gen:vae")
vae = ui.model(vaes[vae_name])
aes = ui.usable(lambda m: not variational(m) and m["config"]["latent_dim"] == vae.latent_dim)
if not aes:
    left.info(f"No plain autoencoder with a {vae.latent_dim}-number code to compare with. Pick a 2-D VAE, "
              "or train a plain AE with that latent size on the Train page.")
    st.stop()
ae_name = ui.choose(left, "Plain autoencoder", aes, "ae-2d.pt", key="gen:ae")
z, from_vae = sample_prior(vae, 64, seed=int(seed))  # the same 64 codes for both models
for col, path, imgs in [(left, aes[ae_name], decode(ui.model(aes[ae_name]), z)), (right, vaes[vae_name], from_vae)]:
    with col:
        st.plotly_chart(figures.image(tile(imgs, 8, 8), height=380), width="content", key=f"gen:cmp:{path}",
                        config=ui.STILL)
        lmap = ui.latent_map(path)
        if lmap is not None and vae.latent_dim == 2:
            st.plotly_chart(figures.latent_scatter(
                lmap.points, lmap.labels, CLASS_NAMES[ui.dataset_of(ui.model(path))],
                lmap.x_range, lmap.y_range, clickable=False,
                height=330, overlay=z, overlay_name="the 64 random codes", legend=False),
                key=f"gen:map:{path}", config=ui.STILL)
st.caption("Under each grid, the model's map of the test digits (coloured by class) with the 64 random codes as "
           "black crosses. The VAE was trained to keep its codes near N(0, I), so random codes land among real "
           "ones and decode to digits. The plain autoencoder put its codes wherever it liked: the crosses miss most of its map, "
           "and what lies between its clusters was never trained to be a digit. Its latent space is not dense.")

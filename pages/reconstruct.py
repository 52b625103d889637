"""Reconstruct & denoise page: test digits above their redrawings, noise and its removal, your own digit."""

import streamlit as st

import ui
from aelib import figures
from aelib.data import CLASS_NAMES, load_split, random_subset, to_float
from aelib.images import MAX_BYTES, ImageError, prepare_digit
from aelib.latent import encode_dataset, reconstruct
from aelib.models import add_noise
from ui import picker, shared
from ui.checkpoints import usable

st.title("Reconstruct & denoise")
choice, path = picker.pick_model()
model = shared.model(path)
dataset = shared.dataset_of(model)
names = CLASS_NAMES[dataset]

try:
    train_images, train_labels = load_split(dataset, "train")
    test_images, _ = load_split(dataset, "test")
except FileNotFoundError as err:
    train_images = None
    st.info(f"The test digits need the {dataset} dataset, which is not on this machine: {err} "
            "You can still upload your own digit below.")

if train_images is not None:
    st.subheader(f"Digits above their reconstructions by `{choice}`")
    s3 = train_images[110:120]  # (10, 1, 28, 28) uint8: the digits S3 shows
    st.caption("S3's picture: training digits 110 to 119, with their labels.")
    st.plotly_chart(figures.image_rows([s3, reconstruct(model, s3)], ["digit", "rebuilt"],
                                       [names[int(c)] for c in train_labels[110:120]]),
                    key="rec:s3", config=ui.STILL)
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    c1.caption("S4's picture: ten random test digits.")
    if c2.button("New random digits", use_container_width=True):
        st.session_state["rec:draw"] = st.session_state.get("rec:draw", 0) + 1
    s4 = random_subset(test_images, 10, seed=st.session_state.get("rec:draw", 0))  # (10, 1, 28, 28) uint8
    st.plotly_chart(figures.image_rows([s4, reconstruct(model, s4)], ["digit", "rebuilt"]),
                    key="rec:s4", config=ui.STILL)

    st.divider()
    st.subheader("Noise in, digit out")
    level = st.slider("Noise level", 0.0, 1.0, 0.4, 0.05, key="rec:noise",
                      help="Each pixel gets this much Gaussian noise, then is clipped to [0, 1] (S4 uses 0.4).")
    noisy = add_noise(to_float(s4), level, seed=0)  # (10, 1, 28, 28)
    denoisers = usable(lambda m: m["config"].get("noise", 0) > 0)
    plain = usable(lambda m: m["config"].get("noise", 0) == 0)
    c1, c2 = st.columns(2)
    d_name = picker.choose(c1, "A model trained on noisy inputs", denoisers, "denoising-conv-ae.pt", key="rec:denoiser")
    p_name = picker.choose(c2, "A model trained on clean inputs only", plain, "conv-ae.pt", key="rec:plain")
    rows, titles = [s4, noisy], ["clean", "noisy"]
    for name, pool, title in [(d_name, denoisers, "denoising AE"), (p_name, plain, "plain AE")]:
        if name is not None:
            rows.append(reconstruct(shared.model(pool[name]), noisy))
            titles.append(title)
    st.plotly_chart(figures.image_rows(rows, titles), key="rec:noisy_rows", config=ui.STILL)
    st.caption("The same noisy digits go into both models. Only the one trained to undo noise gives clean digits back.")

st.divider()
st.subheader("Your own digit")
st.caption("A photo or a drawing of one digit, PNG or JPG, any size. It is prepared the way MNIST was: "
           "grey, light ink on dark, fitted into 20x20 pixels and centred in 28x28.")
upload = st.file_uploader("Upload a picture of a digit",
                          type=["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"])
if upload is not None:
    try:
        if upload.size > MAX_BYTES:
            raise ImageError(f"The file is {upload.size / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB. "
                             "Upload a smaller picture.")
        digit = prepare_digit(upload.getvalue())  # (1, 28, 28)
    except ImageError as err:
        st.error(str(err))
    else:
        left, right = st.columns([2, 3], gap="large")
        left.plotly_chart(figures.image_rows([digit, reconstruct(model, digit)], ["as MNIST", "rebuilt"], scale=5),
                          key="rec:upload", config=ui.STILL)
        lmap = shared.latent_map(path)
        if lmap is not None and model.latent_dim == 2:
            code = encode_dataset(model, digit)[0]  # (2,)
            right.plotly_chart(figures.latent_scatter(
                lmap.points, lmap.labels, names, lmap.x_range, lmap.y_range, marked=code.tolist(),
                marked_name="your digit", clickable=False, height=420), key="rec:upload_map", config=ui.STILL)
            right.caption(f"Your digit lands at ({code[0]:.2f}, {code[1]:.2f}), marked ✕, among the test digits.")
        elif model.latent_dim != 2:
            right.caption("Pick a 2-D model to see where your digit lands on the map.")

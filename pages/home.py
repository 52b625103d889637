"""Home page: what an autoencoder is, the device in use, and every checkpoint one click from the explorer."""

import streamlit as st

import aelib
from aelib.device import describe_device
from ui import checkpoints, words

st.title("Autoencoder explorer")
st.markdown(
    "An **autoencoder** squeezes each 28x28 image of a digit into a few numbers, its **code**, and then "
    "tries to redraw the image from that code alone. Training teaches it which few numbers matter. "
    "A **variational** autoencoder also learns to keep the codes spread like a bell curve, so that any "
    "point you pick decodes to a plausible new digit."
)
st.markdown("`image (784 pixels)` → **encoder** → `code (2–32 numbers)` → **decoder** → `redrawn image`")
st.caption(f"Running on {describe_device(aelib.pick_device())}.")

st.subheader("Checkpoints")
st.caption("Press Explore to open one on the latent explorer. Models you train and save on the Train page "
           "appear here too.")
widths = [2.2, 1.4, 1.0, 0.6, 1.6, 1.0]
head = st.columns(widths)
for col, text in zip(head, ["checkpoint", "preset", "seed", "latent", "test figure", ""]):
    if text:  # an empty "****" would draw a horizontal rule
        col.markdown(f"**{text}**")
for row in checkpoints.catalogue():
    meta = row["meta"]
    cols = st.columns(widths if meta else [widths[0], sum(widths[1:])], vertical_alignment="center")
    cols[0].markdown(f"`{row['name']}`" + (" · yours" if row["source"] != "shipped" else ""))
    if meta is None:
        cols[1].warning(f"Unusable: {row['error']}", icon="⚠️")
        continue
    cols[1].write(meta["preset"])
    cols[2].write(aelib.get_preset(meta["preset"]).seed_ref or "improved")
    cols[3].write(str(meta["config"]["latent_dim"]))
    cols[4].write(words.test_figure(meta))
    if cols[5].button("Explore →", key=f"explore:{row['name']}"):
        st.session_state["model"] = row["name"]
        st.switch_page("pages/explorer.py")

note = st.session_state.get("home:upload_note")
with st.expander("Add a checkpoint file", icon=":material/upload_file:", expanded=note is not None):
    upload = st.file_uploader("A `.pt` file saved by this app or by `python -m aelib train`", type=["pt", "pth"],
                              key="home:upload")
    # The uploader keeps its file across reruns: take each file in once.
    if upload is not None and st.session_state.get("home:upload_id") != upload.file_id:
        st.session_state["home:upload_id"] = upload.file_id
        try:
            name = checkpoints.add_upload(upload.name, upload.getvalue())
            st.session_state["home:upload_note"] = ("success", f"Added {name}: it is listed above, and is now "
                                                               "the model on every page.")
        except ValueError as err:
            st.session_state["home:upload_note"] = ("error", f"Not added: {err}")
        st.rerun()  # so the table above lists it
    if note:
        getattr(st, note[0])(note[1])

"""A code of whole numbers: the VQ-VAE's grid edited cell by cell."""

import json

import pytest

from tests.apptest import app, chart


def _grid(at, key: str) -> list[list[int]]:
    """The entry numbers of the code grid drawn with `key` (Plotly sends arrays packed as base64)."""
    import base64

    import numpy as np

    z = json.loads(chart(at, key))["data"][0]["z"]
    if isinstance(z, dict):
        z = np.frombuffer(base64.b64decode(z["bdata"]), z["dtype"]).reshape([int(v) for v in z["shape"].split(",")])
    return np.asarray(z).tolist()


@pytest.mark.slow  # codes of the whole test set, and 128 decoded tiles
def test_codebook_page_edits_a_cell_and_shows_the_digit_change(with_data):
    at = app()
    at.switch_page("pages/codebook.py").run()
    assert not at.exception and at.selectbox(key="vq:model").value == "vq-vae.pt"
    own = _grid(at, "vq:vq-vae.pt:0:grid")
    assert len(own) == 7 and all(len(r) == 7 for r in own)  # the 7x7 grid of entry numbers
    assert any("0 of 49 cells changed" in c.value for c in at.caption)
    entry = next(n for n in at.number_input if n.key.startswith("vq:vq-vae.pt:0:entry:"))
    row, col = (int(v) for v in entry.key.split(":")[-2:])
    assert entry.value == own[row][col]  # the cell's own entry
    before = chart(at, "vq:as edited")
    entry.set_value((own[row][col] + 1) % 128).run()
    assert not at.exception and any("1 of 49 cells changed" in c.value for c in at.caption)
    assert _grid(at, "vq:vq-vae.pt:0:grid")[row][col] == (own[row][col] + 1) % 128
    assert chart(at, "vq:as edited") != before  # the digit decoded from the edited grid changed
    at.button(key="vq:reset").click().run()
    assert any("0 of 49 cells changed" in c.value for c in at.caption)
    usage = json.loads(chart(at, "vq:usage"))
    assert "perplexity" in usage["layout"]["title"]["text"] and len(usage["data"][0]["x"]) == 128
    assert chart(at, "vq:random") is not None and any("out of scope" in c.value for c in at.caption)
    at.number_input(key="vq:index").set_value(3).run()
    assert not at.exception and _grid(at, "vq:vq-vae.pt:3:grid") != own
    # The edges of every setting: the last test digit, the first and the last codebook entry, the last seed.
    at.number_input(key="vq:index").set_value(9999).run()
    for value in (0, 127):
        next(n for n in at.number_input if n.key.startswith("vq:vq-vae.pt:9999:entry:")).set_value(value).run()
        assert not at.exception and any("1 of 49 cells changed" in c.value or "0 of 49" in c.value for c in at.caption)
    at.number_input(key="vq:seed").set_value(2**31 - 1).run()
    assert not at.exception and chart(at, "vq:random") is not None

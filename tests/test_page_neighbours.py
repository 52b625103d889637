"""Neighbourhood maps: t-SNE and UMAP computed once, then read from the disk."""

import json

from tests.apptest import app, chart


def test_neighbourhood_maps_compute_once_then_come_from_the_disk(with_data, tmp_path, monkeypatch):
    from aelib import neighbours

    monkeypatch.setenv("AELIB_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(neighbours, "embed", lambda codes, method, progress=None: (
        calls.append(method), progress(0.5), codes[:, :2] * 3)[-1])  # a quick stand-in for the real minute
    at = app()
    at.switch_page("pages/neighbours.py").run()
    assert not at.exception and at.selectbox(key="nb:model").value == "vae.pt"
    pca = json.loads(chart(at, "nb:vae.pt:pca"))
    assert pca["layout"]["xaxis"]["title"]["text"] == "PC1"
    at.radio(key="nb:method").set_value("tsne").run()
    assert not at.exception and calls == ["tsne"]
    assert json.loads(chart(at, "nb:vae.pt:tsne"))["layout"]["xaxis"]["title"]["text"] == "t-SNE1"
    assert any("cannot be turned back into codes" in c.value for c in at.caption)
    at.radio(key="nb:method").set_value("pca").run()
    at.radio(key="nb:method").set_value("tsne").run()
    assert calls == ["tsne"]  # the second time from the disk

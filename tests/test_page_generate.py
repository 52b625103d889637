"""Generate: prior samples judged, and a plain AE beside a VAE."""

from tests.apptest import charts, page


def test_generate_draws_prior_samples_and_compares_ae_with_vae(with_data):
    at = page("generate.py").run()
    assert not at.exception
    grid = charts(at)[0]
    assert len(at.get("download_button")) == 2
    assert at.selectbox(key="gen:vae").value == "vae-2d.pt" and at.selectbox(key="gen:ae").value == "ae-2d.pt"
    assert len(charts(at)) == 6  # samples, the judge's label shares, two grids, two maps with the random codes
    table = at.dataframe[0].value
    assert list(table["digits"]) == ["this model", "real test set"]
    real = float(table.iloc[1, 1].rstrip("%"))
    assert real > 95  # the judge is sure of nearly every real digit
    assert any("recognisable" in c.value for c in at.caption)
    at.number_input(key="gen:seed").set_value(5).run()
    assert not at.exception and charts(at)[0] != grid
    at.radio(key="gen:mode").set_value("one Gaussian per class (balanced)").run()
    assert not at.exception and charts(at)[0] != grid

"""Compare: checkpoints side by side."""

import pytest

from tests.apptest import charts, page


@pytest.mark.slow  # judges 10,000 samples of each of three models
def test_compare_puts_models_side_by_side_with_their_figures(with_data):
    at = page("compare.py").run()
    assert not at.exception
    assert at.multiselect(key="cmp:models").value == ["ae-2d.pt", "vae-2d.pt", "conv-vae.pt"]
    table = at.dataframe[0].value
    assert list(table["checkpoint"]) == ["ae-2d.pt", "vae-2d.pt", "conv-vae.pt"]
    assert table["KL"].isna().tolist() == [True, False, False]  # only VAEs have a KL term
    assert all(table["recognisable"].str.endswith("%"))
    assert len(charts(at)) == 1 + 3 + 3  # reconstructions, three sample grids, three maps
    at.multiselect(key="cmp:models").set_value(["vae-2d.pt"]).run()
    assert any("at least two" in i.value for i in at.info)

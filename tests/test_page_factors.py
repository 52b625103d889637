"""What each number means: traversals and each dimension's KL."""

import json

from tests.apptest import app, chart


def test_factors_page_sweeps_each_dimension_and_shows_its_kl(with_data):
    at = app()
    at.switch_page("pages/factors.py").run()
    assert not at.exception
    assert at.selectbox(key="factors:model").value == "beta-vae-4.pt"
    rows = json.loads(chart(at, "factors:rows"))
    assert len(rows["layout"]["yaxis"]["ticktext"]) == 10  # one row per code dimension
    bars = json.loads(chart(at, "factors:kl"))["data"][0]
    assert len(bars["x"]) == 10 and "in use" in json.loads(chart(at, "factors:kl"))["layout"]["title"]["text"]
    table = at.dataframe[0].value
    assert sorted(table["β"]) == sorted({1.0, 4.0, 16.0} & set(table["β"])) and len(table) >= 3
    before = chart(at, "factors:rows")
    at.slider(key="factors:digit").set_value(7).run()
    assert chart(at, "factors:rows") != before

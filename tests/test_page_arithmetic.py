"""Latent arithmetic: directions added to codes, and analogies."""

import json
import re

from tests.apptest import app, chart


def test_arithmetic_page_moves_digits_and_measures_the_ink(with_data):
    at = app()
    at.switch_page("pages/arithmetic.py").run()
    assert not at.exception
    rows = json.loads(chart(at, "arith:rows"))
    assert len(rows["layout"]["yaxis"]["ticktext"]) == 6  # the real digits, then five strengths
    note = next(c.value for c in at.caption if "Measured on the first 1,000 test digits" in c.value)
    before, after = (float(v) for v in re.search(r"from ([\d.]+) to ([\d.]+)", note).groups())
    assert after > before  # thicker is thicker
    at.radio(key="arith:kind").set_value("class").run()
    at.selectbox(key="arith:to").set_value(7).run()
    assert not at.exception and chart(at, "arith:rows") != json.dumps(rows)
    at.number_input(key="arith:a").set_value(0).run()
    assert not at.exception and chart(at, "arith:analogy") is not None

"""Ask for a digit: the conditional VAE's style plane and every digit in one style."""

import json

from tests.apptest import app, chart


def test_conditional_page_draws_the_digit_asked_for_in_every_style(with_data, tmp_path):
    at = app()
    at.switch_page("pages/conditional.py").run()
    assert not at.exception and at.selectbox(key="cond:model").value == "cvae-2d.pt"
    plane = chart(at, "cond:plane")
    at.selectbox(key="cond:digit").set_value(3).run()
    assert chart(at, "cond:plane") != plane  # another digit, the same styles
    every = json.loads(chart(at, "cond:every"))
    assert every["layout"]["xaxis"]["ticktext"][:3] == ["0", "1", "2"]  # one column per class
    assert any("97." in c.value or "9" in c.value for c in at.caption if "as the class asked for" in c.value)
    at.number_input(key="cond:index").set_value(5).run()
    assert not at.exception and chart(at, "cond:every") != json.dumps(every)

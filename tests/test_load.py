"""A small class at once: real sessions over Streamlit's websocket protocol pin spots on the explorer's
latent pad and reload it, and every answer must name the code pinned. bench/load.py holds the full-size version."""

import pytest

from bench import load as L


@pytest.mark.slow
def test_five_students_for_twenty_seconds_without_an_error(data_root):
    r = L.run_load(5, 20, think=(0.3, 1.0), env={"AELIB_DATA": str(data_root)})
    assert r["errors"] == []
    assert r["pin"]["n"] >= 10 and r["load"]["n"] >= 1  # they really pinned and reloaded
    assert r["open_s"]["max"] > 0


def test_a_run_without_the_decoded_code_is_an_error():
    run = L.Run(sent=0.0)
    with pytest.raises(L.LoadError, match="no decoded code"):
        L.code_of(run)


def test_the_code_is_read_from_the_caption():
    from streamlit.proto.Element_pb2 import Element

    e = Element()
    e.markdown.body = "Pinned: the code (1.25, -0.50)  \nLeft: the nearest real digit"
    assert L.code_of(L.Run(sent=0.0, elements=[(0.1, e)])) == ([1.25, -0.5], 0.1)

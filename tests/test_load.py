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


@pytest.mark.slow
def test_the_live_bars_asks_redraw_the_bar_alone_not_the_charts(data_root):
    """The bar asks the server every 2 s while a run starts: each ask reruns only the bar's fragment, since a
    redraw of the charts costs the browser a few tenths of a second of the cores the run trains on."""
    import asyncio

    from bench.browser import serve

    def kinds(run: L.Run) -> set[str]:
        return {e.WhichOneof("type") for _, e in run.elements}

    async def watch(url: str) -> tuple[L.Run, L.Run, L.Run | None]:
        s = L.Session(url)
        await s.open("train")
        s.set_value("train:vae-2d:quick:epochs", int_value=20)  # long enough to be running throughout
        s.press("train:start")
        started = await s.rerun()
        try:
            bar = s.fragment_of["train:progress"]
            asked = await s.rerun(fragment_id=bar)  # what the bar's "due" trigger does
            charts = next((f for f in s.timers if f != bar), None)  # the charts' own timer
            timed = charts and await s.rerun(fragment_id=charts, auto=True)
        finally:
            s.press("train:stop")
            await s.rerun()
            await s.close()
        return started, asked, timed

    with serve({"AELIB_DATA": str(data_root)}) as server:
        started, asked, timed = asyncio.run(watch(server.url))
    assert {"bidi_component", "plotly_chart"} <= kinds(started)
    assert "bidi_component" in kinds(asked) and "plotly_chart" not in kinds(asked)
    assert timed is not None and "plotly_chart" in kinds(timed) and "bidi_component" not in kinds(timed)

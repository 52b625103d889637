"""A small class at once: real sessions over Streamlit's websocket protocol pin spots on the explorer's latent pad
and reload it, and every answer must name the code pinned. bench/load.py holds the full-size version."""

import asyncio

import pytest
from streamlit.proto.Element_pb2 import Element

from drivers.serve import serve
from drivers.students import a_class
from drivers.wire import LoadError, Run, Session, code_of


@pytest.mark.slow
def test_five_students_for_twenty_seconds_without_an_error(data_root):
    with serve({"AELIB_DATA": str(data_root)}) as server:
        students, _ = asyncio.run(a_class(server.url, 5, 20, think=(0.3, 1.0)))
    assert [e for s in students for e in s.errors] == []
    assert sum(len(s.latencies["pin"]) for s in students) >= 10  # they really pinned
    assert sum(len(s.latencies["load"]) for s in students) >= 1  # and reloaded
    assert all(s.open_s > 0 for s in students)


def test_a_run_without_the_decoded_code_is_an_error():
    with pytest.raises(LoadError, match="no decoded code"):
        code_of(Run(sent=0.0))


def test_the_code_is_read_from_the_caption():
    e = Element()
    e.markdown.body = "Pinned: the code (1.25, -0.50)  \nLeft: the nearest real digit"
    assert code_of(Run(sent=0.0, elements=[(0.1, e)])) == ([1.25, -0.5], 0.1)


@pytest.mark.slow
def test_the_live_bars_asks_redraw_the_bar_alone_not_the_charts(data_root):
    """The bar asks the server every 2 s while a run starts: each ask reruns only the bar's fragment, since a
    redraw of the charts costs the browser a few tenths of a second of the cores the run trains on."""

    def kinds(run: Run) -> set[str]:
        return {e.WhichOneof("type") for _, e in run.elements}

    async def watch(url: str) -> tuple[Run, Run, Run | None]:
        s = Session(url)
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

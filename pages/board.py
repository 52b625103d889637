"""The class's runs: every run of this server on one page, live, and any one of them followed as its owner sees it."""

import streamlit as st

from ui import board, runview, training

st.title("The class's runs")
pool = training.pool()
if (where := training.where_runs_train()) is not None:
    getattr(st, where[0])(where[1])
if not training.jobs():
    st.info("No runs on this server yet. Start one on the Train page: every run of the class shows here, live, for "
            "everyone to follow.")
    st.page_link("pages/train.py", label="Train a model", icon=":material/model_training:")
    st.stop()


def followed() -> int | None:
    """The run this page follows: the one picked in the table, or the link's (?follow=N)."""
    try:
        return int(st.query_params.get("follow", ""))
    except ValueError:
        return None


@st.fragment(run_every=training.FIGURES_S)
def overview() -> None:
    """The table and the chart, redrawn every few seconds: runs come, train and end."""
    jobs = training.jobs()
    setting = st.selectbox("Colour the curves by", board.SETTINGS, key="board:colour")
    st.plotly_chart(board.curves(jobs, setting), key="board:curves")
    table = board.table(jobs, pool)
    # A new table widget after each pick, so that a pick never sticks to a row that new runs push down.
    picks = st.session_state.setdefault("board:picks", 0)
    picked = st.dataframe(table, hide_index=True, column_config=board.COLUMNS, key=f"board:table:{picks}",
                          on_select="rerun", selection_mode="single-row", row_height=60)
    st.caption("Click a row to follow that run below; sort by a column by clicking its name.")
    if picked.selection.rows:
        st.session_state["board:picks"] = picks + 1
        st.query_params["follow"] = str(int(table.iloc[picked.selection.rows[0]]["run"]))
        st.rerun()  # the whole page: the followed run shows below the table


overview()
job = training.run(followed())
if job is not None:
    st.divider()
    st.subheader(f"Following {job.title}: {job.preset.name}, {training.length_words(job.config)}")
    if job.saved_as:
        st.page_link("pages/explorer.py", label=f"Open {job.saved_as} in the explorer",
                     icon=":material/scatter_plot:", query_params={"model": job.saved_as})
    runview.show(job, owner=False, key="follow")
elif followed() is not None:
    st.warning(f"This server has no run {followed()} (any more): the link may come from another server, or from "
               "before it started again. Pick a run in the table.")

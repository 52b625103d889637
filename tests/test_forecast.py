"""The honest queue: when a run would start, and what the Train page says of it."""

import pytest

from aelib.jobs import starts_in
from ui.forecast import Forecast, queue_note
from ui.training import clean_name


@pytest.mark.parametrize("training, waiting, workers, start", [
    ([], [], 1, 0.0),  # a free trainer: at once
    ([5.0], [], 1, 5.0),  # after the run training now
    ([5.0], [4.0, 4.0], 1, 13.0),  # and the two waiting before it
    ([5.0], [4.0, 4.0], 3, 4.0),  # the two idle trainers take the two waiting: the first of them ends at 4
    ([5.0, 2.0], [4.0, 4.0, 1.0], 2, 7.0),  # 2->6, 5->9, 6->7: the first free is at 7
    ([9.0, 9.0, 9.0], [], 2, 9.0),  # more runs than trainers (the pool shrank): the earliest to end
])
def test_a_run_starts_when_the_first_trainer_is_free_after_those_ahead(training, waiting, workers, start):
    assert starts_in(training, waiting, workers) == pytest.approx(start)


def test_the_queue_note_says_how_many_are_ahead_when_it_starts_and_how_long_it_takes():
    assert queue_note(Forecast(7, 50.2, 6.4)) == "7 runs ahead: starts in about **50 s**, takes about **6 s**."
    assert queue_note(Forecast(0, 0.0, 6.4)) == "The trainer is free: starts at once, takes about **6 s**."
    assert queue_note(Forecast(1, 0.2, None)) == "1 run ahead: starts in about **1 s**."
    assert "once their lengths are measured" in queue_note(Forecast(3, None, 4.0))
    assert "about **3 min**" in queue_note(Forecast(30, 170, 6))


@pytest.mark.parametrize("typed, shown", [
    ("  Mia's   first run ", "Mia's first run"),
    ("<script>alert(1)</script>", "scriptalert(1)script"),  # no HTML reaches the board
    ("**bold** [link](http://x)", "bold link(httpx)"),  # nor Markdown that would render as a link
    ("x" * 10_000, "x" * 40),  # at most 40 characters
    ("   ", None),  # nothing left: the board calls it "run N"
    (None, None),
])
def test_a_run_name_keeps_what_the_board_can_show_safely(typed, shown):
    assert clean_name(typed) == shown

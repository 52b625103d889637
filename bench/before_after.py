"""Before and after a change, in one run: `python bench/before_after.py --before DIR [--after DIR]`.

A refactoring must leave the app as fast as it was, and on a shared machine only figures taken side
by side can show it. This measures two checkouts of the project (say, `git worktree add ../before
HEAD~1`) alternately, rep by rep, each measurement in a fresh process started in its checkout:

- the app in headless Chromium (`bench/browser.py`): click and slider to digit, cold start, home to
  explorer drawn, and the Train page's training time against the CLI's;
- the explorer's server side alone, through Streamlit's AppTest: its first run, a slider move;
- a class at once (`bench/load.py`): sessions clicking and dragging on the explorer, alone and
  beside a training run;
- optionally `aelib bench` epoch times for some presets.

It prints medians side by side, after/before ratios, and writes the raw figures as JSON with --json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

BROWSER = "import json, sys; from bench import browser; print(json.dumps(browser.measure(1, {clicks}, {trainings})))"
# The explorer's server side alone, through Streamlit's AppTest (no browser, so less noise): its
# first run in a fresh process, then the median of 25 slider moves, in wall time and in CPU time (on a
# shared machine a process waits for a core in its wall time, not in its CPU time). On the server's own
# path, where a slider is the server's (a browser that runs the model moves its own).
SERVER = """import json, statistics, time
from streamlit.testing.v1 import AppTest
t, c = time.perf_counter(), time.process_time()
at = AppTest.from_file("pages/explorer.py", default_timeout=120)
at.session_state["explore:pad_failed"] = "measuring the server's path"
at.run()
first, first_cpu, moves, moves_cpu = time.perf_counter() - t, time.process_time() - c, [], []
assert not at.exception
for i in range(25):
    t, c = time.perf_counter(), time.process_time()
    at.slider(key="vae-2d.pt:z0").set_value(-2 + 0.15 * i).run()
    moves.append(time.perf_counter() - t)
    moves_cpu.append(time.process_time() - c)
print(json.dumps({"first": first, "first_cpu": first_cpu, "slider": statistics.median(moves),
                  "slider_cpu": statistics.median(moves_cpu)}))"""
EPOCH = ("import json; from aelib.bench import measure_preset; "
         "print(json.dumps(measure_preset({preset!r}, epoch_fraction={fraction})))")
LOAD = ("import json; from bench import load; "
        "print(json.dumps(load.run_load({sessions}, {seconds}, (1.0, 3.0), train={train!r})))")


def in_checkout(tree: Path, code: str) -> dict | list:
    """Run `code` in a fresh interpreter inside checkout `tree`; the JSON it prints last."""
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r})\n{code}"],
                         cwd=tree, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"measurement failed in {tree}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_once(tree: Path, args) -> dict:
    trainings = [(t.split(":")[0], int(t.split(":")[1])) for t in args.train]
    r = {"server": in_checkout(tree, SERVER)}
    if args.clicks:
        r["browser"] = in_checkout(tree, BROWSER.format(clicks=args.clicks, trainings=trainings))
    for train in (None, "vae-2d") if args.sessions else ():
        key = f"load {args.sessions}" + (" + training" if train else "")
        r[key] = in_checkout(tree, LOAD.format(sessions=args.sessions, seconds=args.seconds, train=train))
    for preset in args.presets:
        r[f"epoch {preset}"] = in_checkout(tree, EPOCH.format(preset=preset, fraction=args.epoch_fraction))
    return r


def rows(runs: list[dict]) -> dict[str, list[float]]:
    """Every figure of a checkout's runs, pooled: name -> samples."""
    out: dict[str, list[float]] = {}

    def add(name: str, values) -> None:
        out.setdefault(name, []).extend(values if isinstance(values, list) else [values])

    for r in runs:
        if "browser" in r:
            b = r["browser"]
            add("click to digit, ms", [1000 * v for v in b["clicks"]])
            add("slider to digit, ms", [1000 * v for v in b["sliders"]])
            add("cold start, s", b["cold"])
            add("home to explorer drawn, s", b["explorer"])
            for preset, app in b["app"].items():
                add(f"{preset}: Train page s", app)
                add(f"{preset}: CLI s", b["cli"][preset])
        add("explorer's first run on the server (AppTest), s", r["server"]["first"])
        add("  the same, CPU s", r["server"]["first_cpu"])
        add("slider move on the server (AppTest), ms", 1000 * r["server"]["slider"])
        add("  the same, CPU ms", 1000 * r["server"]["slider_cpu"])
        for key, load in r.items():
            if key.startswith("load"):
                add(f"{key}: errors", len(load["errors"]))
                add(f"{key}: p50 ms", 1000 * load["all"]["p50"])
                add(f"{key}: p95 ms", 1000 * load["all"]["p95"])
                add(f"{key}: server cores", load["server_cores"])
                add(f"{key}: server CPU ms per action", 1000 * load["server_cores"] * load["seconds"] / load["actions"])
                if "training" in key:
                    add(f"{key}: training steps/s", load["train_steps_per_s"])
            elif key.startswith("epoch"):
                add(f"{key}: s", load["epoch_s"])
    return out


def table(before: dict[str, list[float]], after: dict[str, list[float]]) -> str:
    lines = ["| measure | n | before: median | after: median | after / before |", "|---|---|---|---|---|"]
    for name in before:
        b, a = statistics.median(before[name]), statistics.median(after[name])
        ratio = f"{a / b:.2f}" if b else "–"
        lines.append(f"| {name} | {len(before[name])}, {len(after[name])} | {b:.3g} | {a:.3g} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, required=True, help="a checkout of the project before the change")
    ap.add_argument("--after", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clicks", type=int, default=12, help="clicks and slider moves in the browser (0: no browser)")
    ap.add_argument("--train", nargs="*", default=["vae-2d:2", "vae:1"], help="PRESET:EPOCHS on the Train page and CLI")
    ap.add_argument("--sessions", type=int, default=30, help="class size for bench/load.py (0: no load test)")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--presets", nargs="*", default=[], help="also `aelib bench` these presets' epoch time")
    ap.add_argument("--epoch-fraction", type=float, default=0.25)
    ap.add_argument("--json", type=Path, help="write every raw figure here")
    args = ap.parse_args()
    runs: dict[str, list[dict]] = {"before": [], "after": []}
    for rep in range(args.reps):
        for name, tree in (("before", args.before), ("after", args.after)):  # alternating, so drift hits both
            runs[name].append(measure_once(tree.resolve(), args))
            print(f"rep {rep + 1}/{args.reps}: {name} measured", file=sys.stderr, flush=True)
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    print(table(rows(runs["before"]), rows(runs["after"])))


if __name__ == "__main__":
    main()

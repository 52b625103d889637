"""Load test: a class of students on one server, each a real session speaking the browser's protocol.

`python bench/load.py --sessions 30 --seconds 60 [--train] [--write]` starts `streamlit run app.py`
on localhost and opens N sessions over the websocket Streamlit's own front end uses
(`/_stcore/stream`, protobuf `BackMsg` up, `ForwardMsg` down). Each opens the latent explorer, then
until the time is up sends what the page's latent pad still sends (it decodes in the browser): a pin
of a random spot, or now and then a reload, pausing like a person between actions. Every answer is
checked: the caption must name the code pinned, and no exception may come back. `--train` also starts a training run from
the Train page in one more session, to measure decoding while a job trains.

The latency of an action is from sending it to the arrival of the caption that names the new
code, which comes right after the decoded digit. A browser would also draw it (about 20 ms);
bench/browser.py measures that end to end with Chromium. The sessions are drivers.students'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from drivers.serve import ROOT, cpu_seconds, serve  # noqa: E402
from drivers.students import a_class  # noqa: E402


def _machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine."""
    vals = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = vals[3] + vals[4]
    return sum(vals) - idle, sum(vals)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def run_load(n: int, seconds: float, think: tuple[float, float] = (1.0, 3.0), model: str = "vae-2d.pt",
             seed: int = 0, train: str | None = None, env: dict | None = None) -> dict:
    """Serve the app, send a class of `n` at it for `seconds` (and a training run with `train`);
    the latencies, every error, and the CPU used."""
    with serve(env or {}) as server:
        b0, tot0 = _machine_busy()
        c0, t0 = cpu_seconds(server.pid), time.perf_counter()
        students, notes = asyncio.run(a_class(server.url, n, seconds, think, model, seed, train))
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(server.pid) - c0
        b1, tot1 = _machine_busy()
    lat = {k: [v for s in students for v in s.latencies[k]] for k in ("pin", "load")}
    both = lat["pin"] + lat["load"]
    errors = [e for s in students for e in s.errors]
    if train and not notes.get("started"):
        errors.append("the training run did not start: " + notes.get("error", "no live view"))
    elif "error" in notes:
        errors.append("training session: " + notes["error"])
    opened = [s.open_s for s in students]
    return {
        "sessions": n, "think_s": list(think), "seconds": round(wall, 1), "actions": len(both), "errors": errors,
        "open_s": {"p50": percentile(opened, 50), "max": max(opened, default=float("nan"))},
        **{k: {"n": len(v), "p50": percentile(v, 50), "p95": percentile(v, 95), "max": max(v, default=float("nan"))}
           for k, v in [("all", both), *lat.items()]},
        "server_cores": cpu / wall,  # the Streamlit process alone; a training run is a child process
        "machine_busy": (b1 - b0) / max(1, tot1 - tot0),  # share of both cores, the load script included
        "train_steps_per_s": notes.get("steps_per_s", float("nan")),
    }


def _row(r: dict) -> str:
    def num(v: float, fmt: str) -> str:
        return "-" if math.isnan(v) else format(v, fmt)

    a, o = r["all"], r["open_s"]
    cells = [r["sessions"], f"{r['think_s'][0]:g}-{r['think_s'][1]:g}", r["label"], r["actions"], len(r["errors"]),
             num(1000 * a["p50"], ".0f"), num(1000 * a["p95"], ".0f"), num(1000 * a["max"], ".0f"),
             f"{num(o['p50'], '.1f')} / {num(o['max'], '.1f')}", f"{r['server_cores']:.2f}",
             f"{100 * r['machine_busy']:.0f}%", num(r["train_steps_per_s"], ".0f")]
    return "| " + " | ".join(str(c) for c in cells) + " |"


def write_results(rows: list[str], command: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else ""
    block = "\n".join([
        "<!-- load:start -->",
        "## A class at once: `bench/load.py`",
        "",
        f"`{command}` on this 2-core machine, server and clients on the same cores. Each session speaks",
        "Streamlit's websocket protocol and opens the explorer on `vae-2d.pt`. The model runs in the page, so",
        "hovering and drawing send nothing: what a student still sends is a pin (a click on the map, or a",
        "slider let go: 90% of actions) or a reload of the page (10%), pausing between them for the time shown.",
        "Every answer is checked (the caption names the code pinned; no exception). Latency: pin sent → caption",
        "with the pinned code received; a reload: connect → explorer drawn. Open: connect → explorer drawn, the",
        "whole class arriving at once. Server cores: CPU seconds of the Streamlit process per second (of 2).",
        "Training: a `vae-2d` run started from the Train page by one more session, in training steps per s.",
        "",
        "| sessions | pause s | also | actions | errors | p50 ms | p95 ms | max ms | open s p50 / max | server cores | machine busy | training steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "<!-- load:end -->",
    ])
    if "<!-- load:start -->" in text:
        text = re.sub(r"<!-- load:start -->.*<!-- load:end -->", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[30])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), help="pause between actions, s")
    ap.add_argument("--train", action="store_true",
                    help="also run each class with a vae-2d job training, and the job alone")
    ap.add_argument("--stress", action="store_true", help="also the first class size with 0.1-0.3 s pauses")
    ap.add_argument("--write", action="store_true", help="write the table into bench/RESULTS.md")
    args = ap.parse_args()
    plan = [(n, tuple(args.think), None) for n in args.sessions]
    if args.train:
        plan += [(0, tuple(args.think), "vae-2d")] + [(n, tuple(args.think), "vae-2d") for n in args.sessions]
    if args.stress:
        plan.append((args.sessions[0], (0.1, 0.3), None))
    rows, failed = [], False
    for n, think, train in plan:
        r = run_load(n, args.seconds, think, train=train)
        r["label"] = f"{train} training" if train else ""
        print(json.dumps(r, indent=1), flush=True)
        rows.append(_row(r))
        failed |= bool(r["errors"])
    print("\n".join(rows))
    if args.write:
        write_results(rows, "python bench/load.py " + " ".join(sys.argv[1:]))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""The app in headless Chromium, measured: `python bench/browser.py [--reps 3]` times cold start, click and slider
latency on the explorer, and the Train page's speed against the CLI, and writes them into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from drivers.chromium import (browser, goto_page, idle, open_home, pin_at, press_pad_slider,  # noqa: E402
                              row_of, train_in_app, wait_explorer)
from drivers.serve import ROOT, serve  # noqa: E402


def train_in_cli(preset: str, epochs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "aelib", "train", "--preset", preset, "--epochs", str(epochs),
                              "--out", f"{tmp}/m.pt"], cwd=ROOT, capture_output=True, text=True, check=True)
    return float(re.search(r"Finished \d+ epochs? in ([\d.]+) s", out.stdout).group(1))


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def measure(reps: int, clicks: int, trainings: list[tuple[str, int]]) -> dict:
    res: dict = {"cold": [], "explorer": [], "clicks": [], "sliders": [], "cli": {}, "app": {}}
    with browser() as b:
        for _ in range(reps):
            t0 = time.perf_counter()
            with serve() as (url, _, _):
                page, _ = open_home(b, url)
                res["cold"].append(time.perf_counter() - t0)
                t1 = time.perf_counter()
                page.get_by_role("button", name="Explore →").nth(row_of(page, "vae-2d.pt")).click()
                wait_explorer(page)
                res["explorer"].append(time.perf_counter() - t1)
                idle(page)
                for i in range(clicks):  # pins on the latent pad: the server's answer is the pinned digit's caption
                    fx, fy = 0.1 + 0.8 * ((i * 37) % 11) / 10, 0.1 + 0.8 * ((i * 53) % 7) / 6
                    res["clicks"].append(pin_at(page, fx, fy)[2])
                    page.wait_for_timeout(250)
                for i in range(clicks):
                    res["sliders"].append(press_pad_slider(page, "ArrowRight" if i % 2 else "ArrowLeft"))
                    page.wait_for_timeout(250)
                page.close()
            for preset, epochs in trainings:  # interleaved: app, CLI, app, CLI...
                with serve() as (url, _, _):
                    page, _ = open_home(b, url)
                    goto_page(page, "Train")
                    page.get_by_role("button", name="Start training").wait_for()
                    res["app"].setdefault(preset, []).append(train_in_app(page, preset, epochs))
                    page.close()
                res["cli"].setdefault(preset, []).append(train_in_cli(preset, epochs))
    return res


def report(res: dict, args, trainings: list[tuple[str, int]]) -> str:
    ms = lambda v: f"{1000 * v:.0f}"  # noqa: E731
    lines = [
        f"## App in the browser, {time.strftime('%Y-%m-%d')}",
        "",
        f"Command: `python bench/browser.py --reps {args.reps} --clicks {args.clicks}` (headless Chromium 1280x720, "
        f"`streamlit run app.py` on localhost, shipped `vae-2d.pt`; {os.cpu_count()} cores, browser and server on "
        "the same machine).",
        "",
        "| measure | n | p50 | p95 | max | target |",
        "|---|---|---|---|---|---|",
        f"| pin on the pad's map → the server's caption of it shown, ms | {len(res['clicks'])} | {ms(statistics.median(res['clicks']))} | "
        f"{ms(pct(res['clicks'], 95))} | {ms(max(res['clicks']))} | p50 ≤ 250, p95 ≤ 500 |",
        f"| pad slider step → the server's caption of it shown, ms | {len(res['sliders'])} | {ms(statistics.median(res['sliders']))} | "
        f"{ms(pct(res['sliders'], 95))} | {ms(max(res['sliders']))} | p50 ≤ 250, p95 ≤ 500 |",
        f"| cold start: `streamlit run` → home page drawn, s | {len(res['cold'])} | "
        f"{statistics.median(res['cold']):.2f} | – | {max(res['cold']):.2f} | ≤ 6 |",
        f"| home → explorer drawn (one click), s | {len(res['explorer'])} | "
        f"{statistics.median(res['explorer']):.2f} | – | {max(res['explorer']):.2f} | ≤ 3 |",
        "",
        "Training speed: the same preset and epochs on all 60,000 images, on the Train page (watched in the "
        "browser, charts updating) and with `python -m aelib train`, runs interleaved. Seconds as each "
        "reports them (training and test passes, data loading excluded); the ratio is of medians.",
        "",
        "| preset, epochs | CLI s | Train page s | page speed / CLI speed | target |",
        "|---|---|---|---|---|",
    ]
    for preset, epochs in trainings:
        cli, app = res["cli"][preset], res["app"][preset]
        lines.append(f"| `{preset}`, {epochs} | {statistics.median(cli):.1f} ({', '.join(f'{v:.1f}' for v in cli)}) "
                     f"| {statistics.median(app):.1f} ({', '.join(f'{v:.1f}' for v in app)}) | "
                     f"**{100 * statistics.median(cli) / statistics.median(app):.0f}%** | ≥ 80% |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--clicks", type=int, default=12)
    ap.add_argument("--train", nargs="*", default=["vae-2d:2", "vae:1"], help="PRESET:EPOCHS to time")
    args = ap.parse_args()
    trainings = [(t.split(":")[0], int(t.split(":")[1])) for t in args.train]
    text = report(measure(args.reps, args.clicks, trainings), args, trainings)
    print(text)
    write_block(text, "app")


def write_block(text: str, name: str) -> None:
    """Put `text` into bench/RESULTS.md between the `name` markers: in place of the last run's, or, the
    first time, above the first section (newest first)."""
    results = ROOT / "bench" / "RESULTS.md"
    old = results.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{text}{end}"
    if start in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end):]
    else:  # before the first section, a heading or another block, whichever comes first
        first = re.search(r"^(## |<!-- [\w-]+:start -->)", old, flags=re.M)
        new = (f"{old[: first.start()]}{block}\n\n{old[first.start():]}" if first
               else f"{old.rstrip()}\n\n{block}\n")
    results.write_text(new)


if __name__ == "__main__":
    main()

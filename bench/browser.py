"""Drive the real app in headless Chromium: helpers for the browser test, and the app benchmark.

`python bench/browser.py [--reps 3]` measures cold start, click and slider latency on the explorer,
and the Train page's speed against the CLI, and writes them into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("AELIB_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1280, "height": 720}
CODE_RE = re.compile(r"the code \(([^)]*)\)")


def chromium_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).is_file()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server(NamedTuple):
    url: str
    startup_s: float  # from launch until the server answered
    pid: int


@contextlib.contextmanager
def serve(env: dict | None = None, timeout: float = 60, args: tuple[str, ...] = (), root: Path = ROOT):
    """`streamlit run app.py` in `root` (this checkout) on a free localhost port, with extra command-line
    `args`; yields a Server."""
    port = _free_port()
    log = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *args],
        cwd=root, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.perf_counter() - t0 > timeout:
                    log.seek(0)
                    raise RuntimeError(f"streamlit did not start:\n{log.read().decode()[-3000:]}") from None
                time.sleep(0.1)
        yield Server(url, time.perf_counter() - t0, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_home(b, url: str):
    """A new 1280x720 page on the home page, fully drawn; returns (page, seconds)."""
    page = b.new_page(viewport=VIEWPORT)
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_role("button", name="Explore →").first.wait_for(timeout=60_000)
    return page, time.perf_counter() - t0


def goto_page(page, name: str) -> None:
    page.get_by_role("link", name=name).first.click()


def wait_explorer(page, timeout: float = 90_000) -> None:
    """The explorer is drawn: the latent pad with its model running (or the server's map, on the fallback),
    the nearest real digit, the manifold."""
    page.wait_for_function("(globalThis.aelibPad && globalThis.aelibPad.ready) || "
                           "document.body.innerText.includes('Decoding on the server')", timeout=timeout)
    page.get_by_text("the nearest real digit").first.wait_for(timeout=timeout)
    page.locator("[data-testid=stTab]").first.wait_for(timeout=timeout)
    # The nearest real digit and the manifold are plain pictures; wait until they have loaded.
    page.wait_for_function("[...document.querySelectorAll('[data-testid=stImage] img')].filter(i => i.complete "
                           "&& i.naturalWidth).length >= 2", timeout=timeout)


# --- the latent pad: the model run in the page -------------------------------------------------------

def pad_geometry(page) -> dict:
    """The pad's plot area in page pixels and its axis ranges."""
    return page.evaluate("""() => { const p = globalThis.aelibPad, b = p.over.getBoundingClientRect();
        return {x: b.x + p.rect.x, y: b.y + p.rect.y, w: p.rect.w, h: p.rect.h, xr: p.info.x_range, yr: p.info.y_range}; }""")


def spot_px(g: dict, x: float, y: float) -> tuple[float, float]:
    """Page pixels of the spot (x, y) of the pad's map."""
    return (g["x"] + (x - g["xr"][0]) / (g["xr"][1] - g["xr"][0]) * g["w"],
            g["y"] + (g["yr"][1] - y) / (g["yr"][1] - g["yr"][0]) * g["h"])


def hover(page, moves: int, pause_ms: float = 16, seed: int = 0) -> None:
    """Move the mouse over the pad's map like a person exploring it, one move a frame."""
    g = pad_geometry(page)
    rng = random.Random(seed)
    fx, fy = 0.5, 0.5
    for _ in range(moves):
        fx = min(max(fx + rng.uniform(-0.04, 0.04), 0.02), 0.98)
        fy = min(max(fy + rng.uniform(-0.04, 0.04), 0.02), 0.98)
        page.mouse.move(g["x"] + fx * g["w"], g["y"] + fy * g["h"])
        page.wait_for_timeout(pause_ms)


def pad_digit(page) -> list[float]:
    """The 784 grey levels in [0, 1] of the digit the pad shows."""
    return page.evaluate("""() => Array.from(globalThis.aelibPad.digit.getContext('2d').getImageData(0, 0, 28, 28).data)
        .filter((_, i) => i % 4 === 0).map(v => v / 255)""")


def pin_at(page, fx: float, fy: float, timeout: float = 10_000) -> tuple[float, float, float]:
    """Click the pad's map at fractions (fx, fy) of its plot area; returns (x, y) in data units and the
    seconds until the server's caption named the pinned code."""
    g = pad_geometry(page)
    before = code_shown(page)
    t0 = time.perf_counter()
    page.mouse.click(g["x"] + fx * g["w"], g["y"] + fy * g["h"])
    _wait_code_change(page, before, timeout)
    return (g["xr"][0] + fx * (g["xr"][1] - g["xr"][0]), g["yr"][1] - fy * (g["yr"][1] - g["yr"][0]),
            time.perf_counter() - t0)


def draw(page, strokes: list[list[tuple[float, float]]], steps: int = 4) -> None:
    """Draw strokes on the pad's canvas with the mouse, each a list of (fx, fy) fractions of the canvas."""
    b = page.locator("canvas.draw").bounding_box()
    at = lambda p: (b["x"] + p[0] * b["width"], b["y"] + p[1] * b["height"])  # noqa: E731
    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for p in stroke[1:]:
            page.mouse.move(*at(p), steps=steps)
        page.mouse.up()
    page.wait_for_function("!globalThis.aelibPad.busy")


def clear_drawing(page) -> None:
    page.locator(".pad button.clear").click()


ONE = [[(0.52, 0.15), (0.5, 0.5), (0.48, 0.85)]]
ZERO = [[(0.5 + 0.22 * math.sin(t * math.pi / 6), 0.5 - 0.33 * math.cos(t * math.pi / 6)) for t in range(13)]]


def code_shown(page) -> list[float]:
    """The decoded code the explorer's caption shows."""
    return [float(v) for v in CODE_RE.search(page.locator("body").inner_text()).group(1).split(", ")
            if v != "…"]


def _wait_code_change(page, before: list[float], timeout: float = 10_000) -> None:
    text = "the code (" + ", ".join(f"{v:.2f}" for v in before)
    page.wait_for_function("t => !document.body.innerText.includes(t)", arg=text, timeout=timeout)


def map_axes(page) -> dict:
    """The map's plot area in page pixels and its axis ranges."""
    return page.evaluate("""() => {
        const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.data && e.data.some(t => t.name === 'click grid'));
        const r = el.querySelector('.nsewdrag').getBoundingClientRect();
        const L = el._fullLayout;
        return {x: r.x, y: r.y, w: r.width, h: r.height, xr: L.xaxis.range, yr: L.yaxis.range};
    }""")


def empty_spot(page) -> tuple[float, float]:
    """A spot of the map, as fractions of the plot area, with no data point within 12 pixels."""
    return tuple(page.evaluate("""() => {
        const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.data && e.data.some(t => t.name === 'click grid'));
        const L = el._fullLayout, xa = L.xaxis, ya = L.yaxis;
        const pts = [];
        el._fullData.forEach(t => { if (t.name !== 'click grid' && t.x && t.visible === true) Array.from(t.x).forEach((x, i) => { if (x !== null && t.y[i] !== null) pts.push([xa.d2p(x), ya.d2p(t.y[i])]); }); });
        for (const fy of [0.1, 0.9, 0.2, 0.8, 0.3]) for (const fx of [0.1, 0.9, 0.2, 0.8, 0.3]) {
            const px = fx * xa._length, py = fy * ya._length;
            if (pts.every(([a, b]) => (a - px) ** 2 + (b - py) ** 2 > 144)) return [fx, fy];
        }
        return [0.05, 0.05];
    }"""))


def click_map(page, fx: float, fy: float) -> tuple[float, float, float]:
    """Click the map at fractions (fx, fy) of its plot area; returns (x, y) in data units and the
    seconds until the explorer showed a new code."""
    a = map_axes(page)
    before = code_shown(page)
    t0 = time.perf_counter()
    page.mouse.click(a["x"] + fx * a["w"], a["y"] + fy * a["h"])
    _wait_code_change(page, before)
    x = a["xr"][0] + fx * (a["xr"][1] - a["xr"][0])
    y = a["yr"][1] - fy * (a["yr"][1] - a["yr"][0])
    return x, y, time.perf_counter() - t0


def press_slider(page, key: str = "ArrowRight") -> float:
    """Move the first slider one step with the keyboard; seconds until a new code is shown."""
    before = code_shown(page)
    page.locator("[data-testid=stSlider] input[type=range]").first.focus()
    t0 = time.perf_counter()
    page.keyboard.press(key)
    _wait_code_change(page, before)
    return time.perf_counter() - t0


def drag_slider(page, dx: float = 60) -> float:
    """Drag the first slider's handle sideways with the mouse; seconds until a new code is shown."""
    before = code_shown(page)
    # The visible handle wraps the slider's (visually hidden) range input.
    handle = page.locator("[data-testid=stSlider] input[type=range]").first.locator("xpath=../..")
    handle.scroll_into_view_if_needed()
    thumb = handle.bounding_box()
    cx, cy = thumb["x"] + thumb["width"] / 2, thumb["y"] + thumb["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx + dx, cy, steps=8)
    t0 = time.perf_counter()
    page.mouse.up()
    _wait_code_change(page, before)
    return time.perf_counter() - t0


def digit_pixels(page) -> list[list[float]]:
    """The image data of the explorer's decoded digit (its first heatmap)."""
    return page.evaluate("""() => {
        const charts = [...document.querySelectorAll('.js-plotly-plot')].filter(e => e.data && e.data[0].type === 'heatmap');
        return charts[0]._fullData[0].z.map(r => Array.from(r));
    }""")


def settle(page, timeout: float = 30_000) -> None:
    """Wait until the script run a widget change started has finished."""
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout)


def set_number(page, label: str, value) -> None:
    # A widget whose key changed (another preset, another run length) may linger, stale, for a moment.
    page.wait_for_function("l => document.querySelectorAll(`input[aria-label='${l}']`).length === 1", arg=label)
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def choose(page, label: str, option: str) -> None:
    """Pick an option of a selectbox: typed to filter the list, then the option that is `option` itself
    (or starts with it and a space, as "vae  ·  improved") clicked. Enter would take the first match,
    which for "vae" can be "conv-vae"."""
    page.get_by_label(label, exact=True).click()
    page.keyboard.type(option)
    page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}(\s|$)")).first.click()


LIVE_BAR = ".st-key-train-progress .livebar"  # the Train page's live progress bar (in the component's shadow root)


def progress(page) -> int:
    """The training step the Train page's live progress bar shows."""
    text = page.locator(LIVE_BAR).first.inner_text()
    return int(re.search(r"step ([\d,]+) of", text).group(1).replace(",", ""))


def set_up_run(page, preset: str, epochs: int) -> None:
    """Pick `preset` and `epochs` on the Train page, leaving its other settings as they are."""
    choose(page, "Preset", preset)
    settle(page)
    set_number(page, "Epochs", epochs)
    settle(page)


def start_and_finish(page, timeout: float = 600) -> float:
    """Press Start and wait for the run to finish; the run's own seconds as the page reports them."""
    page.get_by_role("button", name="Start training").click()
    done = page.get_by_text(re.compile(r"Finished \d+ epochs? in [\d.]+ s"))
    done.wait_for(timeout=timeout * 1000)
    return float(re.search(r"in ([\d.]+) s", done.inner_text()).group(1))


def train_in_app(page, preset: str, epochs: int, timeout: float = 600) -> float:
    """Train on the Train page until it finishes; the run's own seconds as the page reports them."""
    set_up_run(page, preset, epochs)
    return start_and_finish(page, timeout)


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
                page.wait_for_timeout(2500)
                for i in range(clicks):
                    fx, fy = 0.1 + 0.8 * ((i * 37) % 11) / 10, 0.1 + 0.8 * ((i * 53) % 7) / 6
                    res["clicks"].append(click_map(page, fx, fy)[2])
                    page.wait_for_timeout(250)
                for i in range(clicks):
                    res["sliders"].append(press_slider(page, "ArrowRight" if i % 2 else "ArrowLeft"))
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


def row_of(page, name: str) -> int:
    names = page.locator("[data-testid=stMarkdownContainer] code").all_inner_texts()
    return [n for n in names if n.endswith(".pt")].index(name)


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
        f"| click on the map → new digit shown, ms | {len(res['clicks'])} | {ms(statistics.median(res['clicks']))} | "
        f"{ms(pct(res['clicks'], 95))} | {ms(max(res['clicks']))} | p50 ≤ 250, p95 ≤ 500 |",
        f"| slider step → new digit shown, ms | {len(res['sliders'])} | {ms(statistics.median(res['sliders']))} | "
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

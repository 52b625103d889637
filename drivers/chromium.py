"""The real page in headless Chromium, through Playwright: open it, find its parts, act as a user, read it back.

Chromium is Debian's (apt-get install chromium); Playwright drives it by its path and never downloads a browser.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import re
import shutil
import time
from pathlib import Path

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


@contextlib.contextmanager
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


_FINISHED = {"FINISHED_SUCCESSFULLY", "FINISHED_FRAGMENT_RUN_SUCCESSFULLY", "FINISHED_WITH_COMPILE_ERROR"}


def _script_finished(payload) -> bool:
    """A frame from the server that says a script run (the page's, or one fragment's) has ended, not only to
    start again at once (st.rerun)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    if isinstance(payload, str):
        return False
    msg = ForwardMsg()
    msg.ParseFromString(payload)
    return (msg.WhichOneof("type") == "script_finished"
            and ForwardMsg.ScriptFinishedStatus.Name(msg.script_finished) in _FINISHED)


def new_page(context, viewport: dict = VIEWPORT):
    """A new tab of `context` (a browser at `viewport`, or one of its contexts at the context's) that keeps its
    connection to the server at hand, for `rerun`."""
    page = context.new_page(viewport=viewport) if hasattr(context, "new_context") else context.new_page()
    page.on("websocket", lambda ws: setattr(page, "stream", ws) if ws.url.endswith("/_stcore/stream") else None)
    return page


@contextlib.contextmanager
def rerun(page, timeout: float = 60_000):
    """Around an action that runs the page's script (a widget changed, a page opened): on leaving the block,
    wait until the server says that run has ended."""
    if getattr(page, "stream", None) is None:  # no connection yet: the action opens the page
        with page.expect_websocket(lambda ws: ws.url.endswith("/_stcore/stream"), timeout=timeout) as ws:
            yield
        page.stream = ws.value
        page.stream.wait_for_event("framereceived", predicate=_script_finished, timeout=timeout)
        return
    with page.stream.expect_event("framereceived", predicate=_script_finished, timeout=timeout):
        yield


def open_home(b, url: str):
    """A new 1280x720 page on the home page, fully drawn; returns (page, seconds)."""
    page = new_page(b)
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_role("button", name="Explore →").first.wait_for(timeout=60_000)
    return page, time.perf_counter() - t0


def goto_page(page, name: str) -> None:
    """Open another page of the app from the sidebar, and wait until it is drawn (on it already: nothing to do)."""
    link = page.get_by_role("link", name=name).first
    if link.get_attribute("aria-current") == "page":
        return
    with rerun(page):
        link.click()


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
    return page.evaluate("""() => { const v = globalThis.aelibPad.view, b = v.over.getBoundingClientRect(), r = v.rect;
        return {x: b.x + r.x, y: b.y + r.y, w: r.w, h: r.h, xr: v.scene.xRange, yr: v.scene.yRange}; }""")


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


_SERVER_MAP = ("[...document.querySelectorAll('.js-plotly-plot')].find(e => e.data && e._fullLayout "
               "&& e.data.some(t => t.name === 'click grid'))")


def wait_charts(page, n: int, timeout: float = 60_000) -> None:
    """Wait until at least `n` Plotly charts are drawn on the page."""
    page.wait_for_function("n => [...document.querySelectorAll('.js-plotly-plot')].filter(e => e._fullLayout).length >= n",
                           arg=n, timeout=timeout)


def wait_server_map(page, timeout: float = 60_000) -> None:
    """Wait until the server's own map (the explorer's path for a browser that cannot run the model) is drawn."""
    page.wait_for_function(f"Boolean({_SERVER_MAP})", timeout=timeout)


def map_axes(page) -> dict:
    """The map's plot area in page pixels and its axis ranges."""
    wait_server_map(page)
    return page.evaluate("""() => {
        const el = [...document.querySelectorAll('.js-plotly-plot')].find(e => e.data && e.data.some(t => t.name === 'click grid'));
        const r = el.querySelector('.nsewdrag').getBoundingClientRect();
        const L = el._fullLayout;
        return {x: r.x, y: r.y, w: r.width, h: r.height, xr: L.xaxis.range, yr: L.yaxis.range};
    }""")


def empty_spot(page) -> tuple[float, float]:
    """A spot of the map, as fractions of the plot area, with no data point within 12 pixels."""
    wait_server_map(page)
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


def click_map(page, fx: float, fy: float, timeout: float = 10_000) -> tuple[float, float, float]:
    """Click the map at fractions (fx, fy) of its plot area; returns (x, y) in data units and the
    seconds until the explorer showed a new code."""
    a = map_axes(page)
    before = code_shown(page)
    t0 = time.perf_counter()
    page.mouse.click(a["x"] + fx * a["w"], a["y"] + fy * a["h"])
    _wait_code_change(page, before, timeout)
    x = a["xr"][0] + fx * (a["xr"][1] - a["xr"][0])
    y = a["yr"][1] - fy * (a["yr"][1] - a["yr"][0])
    return x, y, time.perf_counter() - t0


def click_map_until_answered(page, fx: float, fy: float, tries: int = 10) -> tuple[float, float, float]:
    """click_map, clicked again while a click gets no answer: one in the first moments after the map is drawn
    can be lost, before its chart listens."""
    for attempt in range(tries):
        try:
            return click_map(page, fx, fy, timeout=3_000)
        except Exception:  # noqa: BLE001 - a playwright timeout: that click got no answer
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def press_slider(page, key: str = "ArrowRight") -> float:
    """Move the first slider one step with the keyboard; seconds until a new code is shown."""
    before = code_shown(page)
    page.locator("[data-testid=stSlider] input[type=range]").first.focus()
    t0 = time.perf_counter()
    page.keyboard.press(key)
    _wait_code_change(page, before)
    return time.perf_counter() - t0


def press_pad_slider(page, key: str = "ArrowRight") -> float:
    """Move the pad's first slider one step with the keyboard and let it go (one pin); seconds until the
    server's caption names the new code."""
    before = code_shown(page)
    page.locator(".pad .slider input").first.focus()
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


def idle(page, timeout: float = 60_000) -> None:
    """Wait until no script run is going on (the page's status says so): after a page's first load."""
    page.wait_for_function("document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'",
                           timeout=timeout)


def set_number(page, label: str, value) -> None:
    """Type a number into a field, and wait for the run it starts."""
    # A widget whose key changed (another preset, another run length) may linger, stale, for a moment.
    page.wait_for_function("l => document.querySelectorAll(`input[aria-label='${l}']`).length === 1", arg=label)
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    with rerun(page):
        box.press("Enter")


def choose(page, label: str, option: str) -> None:
    """Pick an option of a selectbox, and wait for the run it starts: typed to filter the list, then the option
    that is `option` itself (or starts with it and a space, as "vae  ·  improved") clicked. Enter would take the
    first match, which for "vae" can be "conv-vae"."""
    page.get_by_label(label, exact=True).click()
    page.keyboard.type(option)
    choice = page.get_by_role("option", name=re.compile(rf"^{re.escape(option)}(\s|$)")).first
    if choice.get_attribute("aria-selected") == "true":  # chosen already: nothing changes, nothing runs
        page.keyboard.press("Escape")
        return
    with rerun(page):
        choice.click()


def pick(page, option: str) -> None:
    """Pick the radio button whose label starts with `option`, and wait for the run it starts (picked already:
    nothing changes, nothing runs)."""
    button = page.get_by_role("radio", name=re.compile(rf"^{re.escape(option)}")).first
    if button.is_checked():
        return
    with rerun(page):
        page.get_by_text(option).first.click()


def pick_row(page, row: int, row_height: float = 35, timeout: float = 60_000) -> None:
    """Tick the selection box of row `row` of the page's first table (st.dataframe draws it on a canvas, the box at
    the left of each row, rows `row_height` pixels high under a 35-pixel header), and wait for the run that starts."""
    grid = page.locator("[data-testid=stDataFrame]").first
    grid.wait_for(timeout=timeout)
    box = grid.bounding_box()
    with rerun(page, timeout):
        page.mouse.click(box["x"] + 18, box["y"] + 35 + row_height * (row + 0.5))


LIVE_BAR = ".st-key-train-progress .livebar"  # the Train page's live progress bar (in the component's shadow root)
FOLLOWED_BAR = ".st-key-follow-progress .livebar"  # the bar of the run the class board follows


def progress(page, bar: str = LIVE_BAR) -> int:
    """The training step a live progress bar shows (the Train page's, by default)."""
    text = page.locator(bar).first.inner_text()
    return int(re.search(r"step ([\d,]+) of", text).group(1).replace(",", ""))


def wait_progress_past(page, step: int, timeout: float = 60_000) -> None:
    """Wait until the live progress bar shows a step past `step`."""
    page.wait_for_function("""step => { const m = (globalThis.aelibLiveBar?.text.textContent || '')
        .match(/step ([\\d,]+) of/); return m && Number(m[1].replaceAll(',', '')) > step; }""", arg=step,
                           timeout=timeout)


def set_up_run(page, preset: str, epochs: int) -> None:
    """Pick `preset` and `epochs` on the Train page, leaving its other settings as they are."""
    choose(page, "Preset", preset)
    set_number(page, "Epochs", epochs)


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


def row_of(page, name: str) -> int:
    names = page.locator("[data-testid=stMarkdownContainer] code").all_inner_texts()
    return [n for n in names if n.endswith(".pt")].index(name)

"""The real app in headless Chromium: every page opens, a click on empty space decodes that spot,
a slider drags, and a training run starts, moves and stops. Screenshots go to bench/screenshots/
(or $AELIB_SCREENSHOTS); look at them."""

import base64
import os
import pickle
import random
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import torch

import aelib
from aelib.latent import decode
from drivers import chromium as B
from drivers.serve import children, serve
from tests.conftest import need, wait_until

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("AELIB_SCREENSHOTS") or ROOT / "bench" / "screenshots")

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("chromium")]  # one server, one tab, in order


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """A copy of the shipped checkpoints, so that uploads and saves land in a scratch folder."""
    folder = tmp_path_factory.mktemp("checkpoints")
    for path in (ROOT / "checkpoints").glob("*.pt"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture(scope="module")
def server(data_root, checkpoints):
    """The app, served by `streamlit run app.py`, over the data and a copy of the checkpoints."""
    if not B.chromium_available():
        need(f"Chromium or Playwright missing (looked for {B.CHROMIUM}); on Debian: apt-get install chromium, "
             "pip install playwright")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with serve({"AELIB_DATA": str(data_root), "AELIB_CHECKPOINTS": str(checkpoints)}) as server:
        yield server


@pytest.fixture(scope="module")
def session(server):
    """One browser tab on the home page, shared by the tests in order."""
    with B.browser() as b:
        page, _ = B.open_home(b, server.url)
        yield page


def no_exception(page) -> None:
    shown = page.locator("[data-testid=stException]")
    assert shown.count() == 0, shown.first.inner_text()


def test_home_then_explorer_hover_pin_and_slider(session):
    page = session
    no_exception(page)
    assert page.get_by_role("button", name="Explore →").count() == len(list((ROOT / "checkpoints").glob("*.pt")))
    page.screenshot(path=SHOTS / "home.png")

    page.get_by_role("button", name="Explore →").nth(B.row_of(page, "vae-2d.pt")).click()
    B.wait_explorer(page)
    no_exception(page)
    page.screenshot(path=SHOTS / "explorer.png")
    model = aelib.load(ROOT / "checkpoints" / "vae-2d.pt", device="cpu")

    g = B.pad_geometry(page)
    page.mouse.move(*B.spot_px(g, 1.0, 1.0))
    page.wait_for_function("!globalThis.aelibPad.busy")
    shown = torch.tensor(B.pad_digit(page)).reshape(28, 28)
    assert (shown - decode(model, [1.0, 1.0])[0]).abs().max() < 0.02  # the digit under the cursor
    page.screenshot(path=SHOTS / "explorer-hover.png")

    x, y, _ = B.pin_at(page, 0.1, 0.1)
    code = B.code_shown(page)
    pixel = (g["xr"][1] - g["xr"][0]) / g["w"]
    assert abs(code[0] - x) <= pixel + 0.005 and abs(code[1] - y) <= pixel + 0.005, (code, x, y)
    page.mouse.move(0, 0)  # off the map: the pad shows the pinned digit
    page.wait_for_function("!globalThis.aelibPad.busy")
    shown = torch.tensor(B.pad_digit(page)).reshape(28, 28)
    assert (shown - decode(model, code)[0]).abs().mean() < 0.02
    page.screenshot(path=SHOTS / "explorer-pinned.png")

    slider = page.locator(".pad .slider input").first
    slider.focus()
    page.keyboard.press("ArrowRight")  # a step right, then release: one pin
    page.wait_for_function("t => !document.body.innerText.includes(t)",
                           arg="the code (" + ", ".join(f"{v:.2f}" for v in code))
    assert B.code_shown(page)[0] > code[0] and B.code_shown(page)[1] == code[1]
    no_exception(page)


def _base(page) -> str:
    return "/".join(page.url.split("/", 3)[:3])


def test_hovering_decodes_in_the_page_and_sends_the_server_nothing(session):
    page = B.new_page(session.context.browser)
    frames = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))
    try:
        page.goto(_base(session) + "/explorer?model=conv-vae.pt")
        B.wait_explorer(page)
        B.idle(page)
        before, digit = len(frames), B.pad_digit(page)
        B.hover(page, 120)
        page.wait_for_function("!globalThis.aelibPad.busy")
        assert len(frames) == before, f"{len(frames) - before} websocket frames sent while hovering"
        assert B.pad_digit(page) != digit  # the digit followed the cursor
        stats = page.evaluate("globalThis.aelibPad.stats.hover")
        assert len(stats) >= 100  # every move was painted (a move may share its frame with the next)
        page.screenshot(path=SHOTS / "explorer-conv-vae-hover.png")
    finally:
        page.close()


@pytest.mark.parametrize("strokes, digit", [(B.ONE, 1), (B.ZERO, 0)])
def test_a_drawn_digit_lands_among_its_own_class(session, strokes, digit):
    page = B.new_page(session.context.browser)
    try:
        page.goto(_base(session) + "/explorer?model=vae-2d.pt")
        B.wait_explorer(page)
        B.draw(page, strokes)
        # The 25 test digits nearest the drawing's mark, by the map's own points and labels.
        near = page.evaluate("""() => { const p = globalThis.aelibPad, {points, labels} = p.map, d = [];
            for (let i = 0; i < labels.length; i++) d.push([(points[2*i] - p.mark.x) ** 2 + (points[2*i+1] - p.mark.y) ** 2, labels[i]]);
            return d.sort((a, b) => a[0] - b[0]).slice(0, 25).map(v => v[1]); }""")
        assert near.count(digit) >= 13, near
        assert page.evaluate("globalThis.aelibPad.mark.ring.length") == 49  # the posterior's 2-sigma ellipse
        page.screenshot(path=SHOTS / f"explorer-drawn-{digit}.png")
        if digit == 0:
            before = B.code_shown(page)
            page.locator(".pad button.keep").click()
            page.get_by_text("the drawing you kept").wait_for(timeout=30_000)
            assert B.code_shown(page) != before  # the kept drawing is the pinned spot now
            no_exception(page)
            B.clear_drawing(page)
            page.locator(".pad button.keep").click()
            page.get_by_text("Nothing to keep yet").wait_for()  # a hint, not an error
    finally:
        page.close()


def test_the_page_decodes_and_prepares_as_torch_does(session, data_root):
    """Every shipped checkpoint decodes 100 random codes in the page as torch does, and 20 strokes
    are prepared in the page as aelib.images.prepare_digit prepares the same picture."""
    from aelib.images import prepare_digit

    page = B.new_page(session.context.browser)
    base = _base(session)
    worst = {}
    try:
        for path in sorted((ROOT / "checkpoints").glob("*.pt")):
            page.goto(f"{base}/explorer?model={path.name}")
            B.wait_explorer(page)
            model = aelib.load(path, device="cpu")
            codes = torch.randn(100, model.latent_dim, generator=torch.Generator().manual_seed(3))
            got = page.evaluate("([c, n]) => globalThis.aelibPad.model.decode(c, n).then(Array.from)",
                                [codes.flatten().tolist(), 100])
            worst[path.name] = (torch.tensor(got).reshape(100, 28, 28) - decode(model, codes)).abs().max().item()
        assert max(worst.values()) <= 1e-3, worst
        rng = random.Random(0)
        errors = []
        for _ in range(20):
            strokes = [[(rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.85)) for _ in range(rng.randint(2, 5))]
                       for _ in range(rng.randint(1, 3))]
            B.draw(page, strokes, steps=3)
            png = page.evaluate("globalThis.aelibPad.drawing.canvas.toDataURL('image/png')")
            mine = page.evaluate("Array.from(globalThis.aelibPad.prepared)")
            want = prepare_digit(base64.b64decode(png.split(",", 1)[1]))
            errors.append((torch.tensor(mine).reshape(1, 28, 28) - want).abs().mean().item())
            B.clear_drawing(page)
        assert max(errors) <= 0.02, errors
    finally:
        page.close()


def test_a_browser_without_webassembly_gets_the_servers_path(session):
    context = session.context.browser.new_context(viewport=B.VIEWPORT)
    context.add_init_script("delete globalThis.WebAssembly")
    page = B.new_page(context)
    try:
        page.goto(_base(session) + "/explorer?model=vae-2d.pt")
        page.get_by_text("Decoding on the server instead").wait_for(timeout=90_000)
        B.wait_explorer(page)
        B.idle(page)
        assert "cannot run WebAssembly" in page.locator("[data-testid=stAlert]").first.inner_text()
        B.click_map_until_answered(page, *B.empty_spot(page))
        assert B.code_shown(page) != [0.0, 0.0]  # a click still decodes, on the server
        no_exception(page)
        page.screenshot(path=SHOTS / "explorer-fallback.png")
    finally:
        context.close()


def _start_vae_2d(page, go_to_train: bool = True) -> None:
    """Start vae-2d's full recipe: long enough to be stopped (the page's quick first look can end first)."""
    if go_to_train:
        B.goto_page(page, "Train")
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    B.choose(page, "Preset", "vae-2d")
    B.pick(page, "The full recipe:")
    page.get_by_role("button", name="Start training").click()


def test_training_starts_moves_and_stops(session):
    page = session
    _start_vae_2d(page)
    page.locator(B.LIVE_BAR).first.wait_for(timeout=60_000)
    page.get_by_text("images/s").wait_for(timeout=60_000)
    first = B.progress(page)
    B.wait_progress_past(page, first)  # the bar moves on by itself, between the server's reports
    page.screenshot(path=SHOTS / "train-running.png")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Training stopped on request.").wait_for(timeout=30_000)
    no_exception(page)
    page.screenshot(path=SHOTS / "train-stopped.png")


def test_the_pages_own_first_run_ends_by_itself_and_draws_its_map(session):
    """The Train page as it opens, Start pressed: the bar asks the server for news while the run starts, and the
    page shows the finished run with its 2-D map. Then the bar's own clock, driven by hand: it moves on at the
    run's pace, one step short of the end at most, and asks the server when the run should have ended."""
    page = B.new_page(session.context.browser, {"width": 1280, "height": 1600})  # its own session
    try:
        page.goto(_base(session) + "/train")
        page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
        B.idle(page)
        assert B.start_and_finish(page, timeout=120) > 0
        page.get_by_text("The 2-D codes of").wait_for(timeout=30_000)
        no_exception(page)
        page.screenshot(path=SHOTS / "train-first-run.png")
        assert "start" in page.evaluate("globalThis.aelibLiveBar.asks")  # its asks reached the server
        shown = page.evaluate("""async () => {
            const bar = globalThis.aelibLiveBar, asked = [];
            bar.update({run: "by hand", fraction: 0.5, text: "", template: "{epoch}|{step}|{left}",
                        step: 100, total: 200, perEpoch: 100, epochs: 2, stepsPerS: 50, eta: 2, askIn: 1.5,
                        askEvery: 60}, (name, value) => asked.push(name));
            const first = bar.text.textContent;
            await new Promise((r) => setTimeout(r, 2200));
            bar.stop();
            return {first, later: bar.text.textContent, asked, asks: bar.asks.slice(-1)};
        }""")
        assert shown["first"] == "2|100|2"
        assert shown["later"] == "2|199|0"  # 100 steps in 2 s at 50 a second, held one short of the end
        assert shown["asked"] == ["due"] and shown["asks"] == ["end"]  # asked once, 1.5 s in
    finally:
        page.close()


def test_a_second_tab_follows_a_run_from_the_board_and_sees_its_bar_move(session):
    """The teacher's run on every screen: one tab starts a named run, another picks it on the class board and
    follows it live; when its owner stops it, the follower is told."""
    owner = B.new_page(session.context.browser, {"width": 1280, "height": 1400})
    follower = B.new_page(session.context.browser, {"width": 1280, "height": 1600})
    try:
        owner.goto(_base(session) + "/train")
        owner.get_by_role("button", name="Start training").wait_for(timeout=60_000)
        B.idle(owner)
        B.pick(owner, "The full recipe:")  # long enough to be followed, then stopped
        name = owner.get_by_label("Name your run (optional)", exact=True)
        name.fill("Projector run")
        with B.rerun(owner):
            name.press("Enter")
        owner.get_by_role("button", name="Start training").click()
        owner.get_by_text("lists this run as Projector run").wait_for(timeout=30_000)
        follower.goto(_base(session) + "/board")
        follower.get_by_text("Colour the curves by").wait_for(timeout=60_000)
        B.idle(follower)
        B.pick_row(follower, 0, row_height=60)  # the newest run, first in the table
        follower.get_by_text("Following Projector run").wait_for(timeout=30_000)
        follower.locator(B.FOLLOWED_BAR).first.wait_for(timeout=60_000)
        B.wait_progress_past(follower, B.progress(follower, B.FOLLOWED_BAR))  # the bar moves on, on the follower's screen too
        assert "follow=" in follower.url  # a link the follower can share
        no_exception(follower)
        follower.screenshot(path=SHOTS / "board-following.png")
        owner.get_by_role("button", name="Stop").click()
        follower.get_by_text("Its owner stopped this run").wait_for(timeout=60_000)
        no_exception(follower)
    finally:
        owner.close()
        follower.close()


def test_a_shared_link_opens_the_same_view(session):
    page = B.new_page(session.context.browser)  # a second tab: its own session
    try:
        page.goto(_base(session) + "/explorer?model=deep-ae-2d.pt&z=1.5,-0.5&grid=20")
        B.wait_explorer(page)
        assert B.code_shown(page) == [1.5, -0.5]
        assert page.evaluate("globalThis.aelibPad.pinned") == [1.5, -0.5]  # the pad pins the link's spot
        B.pin_at(page, 0.2, 0.8)
        code = B.code_shown(page)
        page.wait_for_function("() => !location.search.includes('z=1.500')", timeout=10_000)
        query = parse_qs(urlparse(page.url).query)
        assert [round(float(v), 2) for v in query["z"][0].split(",")] == code  # the address follows the view
        assert query["model"] == ["deep-ae-2d.pt"] and query["grid"] == ["20"]
        no_exception(page)
        page.screenshot(path=SHOTS / "explorer-link.png")
    finally:
        page.close()


def test_a_link_can_be_the_first_visit_to_a_fresh_server(session, data_root, checkpoints):
    """Streamlit's older multipage mode would serve the page file alone, without the app around it."""
    env = {"AELIB_DATA": str(data_root), "AELIB_CHECKPOINTS": str(checkpoints)}
    with serve(env) as (url, _, _):
        page = B.new_page(session.context.browser)
        try:
            page.goto(url + "/explorer?model=deep-ae-2d.pt&z=1.5,-0.5&grid=20")
            B.wait_explorer(page)
            assert B.code_shown(page) == [1.5, -0.5]
            nav = page.locator("[data-testid=stSidebarNav]").inner_text()
            assert "Latent explorer" in nav and "Compare" in nav and "app" not in nav.split()  # app.py's pages
            no_exception(page)
        finally:
            page.close()


def test_fashion_mnist_end_to_end_explore_and_generate(session):
    page = B.new_page(session.context.browser)
    try:
        page.goto(_base(session) + "/explorer?model=vae-2d-fashion.pt")
        B.wait_explorer(page)
        page.get_by_text("Ankle boot").first.wait_for()  # class names in the legend and captions
        no_exception(page)
        page.screenshot(path=SHOTS / "explorer-fashion.png")
        B.goto_page(page, "Generate")
        page.get_by_text("How recognisable").wait_for(timeout=60_000)
        page.locator(".legendtext", has_text="real test set").wait_for()  # the reference bars are drawn
        no_exception(page)
        page.screenshot(path=SHOTS / "generate-fashion.png")
    finally:
        page.close()


def test_a_learned_prior_on_the_map_and_in_generate(session):
    page = B.new_page(session.context.browser)
    base = _base(session)
    try:
        page.goto(base + "/explorer?model=vae-2d-mixture.pt")
        B.wait_explorer(page)
        assert page.evaluate("globalThis.aelibPad.view.scene.rings.length") >= 5  # its Gaussians' ellipses
        B.idle(page)
        no_exception(page)
        page.screenshot(path=SHOTS / "explorer-mixture.png")
        page.goto(base + "/explorer?model=vae-mixture.pt")  # a new load is a new session: the link counts again
        B.wait_explorer(page)
        B.goto_page(page, "Generate")
        page.get_by_text("drawn from its learned prior, a mixture of 200 Gaussians").wait_for(timeout=60_000)
        page.locator(".legendtext", has_text="real test set").wait_for(timeout=60_000)
        B.idle(page)
        no_exception(page)
        page.screenshot(path=SHOTS / "generate-mixture.png")
    finally:
        page.close()


def test_refreshing_during_training_stops_the_run_and_frees_the_trainer(session, server):
    page = session
    _start_vae_2d(page)
    wait_until(lambda: children(server.pid), "the training process")  # the last run's view may still show
    page.get_by_text("images/s").wait_for(timeout=60_000)
    page.reload()  # a new session; the old one is gone, and its run with it
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    # The page's forecast counts the runs ahead of a new one: none once the closed session's run has stopped.
    page.get_by_text("The trainer is free").wait_for(timeout=120_000)
    _start_vae_2d(page, go_to_train=False)  # the trainer is free again: it starts at once, no queue
    page.get_by_text("images/s").wait_for(timeout=60_000)
    assert page.get_by_text("in the queue").count() == 0
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Training stopped on request.").wait_for(timeout=30_000)
    no_exception(page)


def test_uploading_a_digit_and_a_bad_file(session, tmp_path):
    from PIL import Image, ImageDraw

    page = session
    B.goto_page(page, "Reconstruct & denoise")
    drawing = Image.new("RGB", (240, 320), "white")
    ImageDraw.Draw(drawing).line([(120, 40), (120, 280)], fill="black", width=28)  # a "1", dark on paper
    drawing.save(tmp_path / "one.png")
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    uploader.set_input_files(str(tmp_path / "one.png"))
    page.get_by_text("lands at").wait_for(timeout=30_000)  # its landing spot on the 2-D map
    no_exception(page)
    page.get_by_text("lands at").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "upload.png")
    (tmp_path / "notes.png").write_bytes(b"these are lecture notes, not a picture")
    uploader.set_input_files(str(tmp_path / "notes.png"))
    page.get_by_text("not a readable picture").wait_for(timeout=30_000)
    no_exception(page)
    page.screenshot(path=SHOTS / "upload-bad.png")


class _Evil:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))  # would create the file if ever unpickled


def test_uploading_checkpoints_a_trap_and_a_good_one(session, checkpoints, tmp_path):
    page = session
    B.goto_page(page, "Home")
    page.get_by_text("Add a checkpoint file").click()
    uploader = page.locator("[data-testid=stFileUploader] input[type=file]")
    sentinel = tmp_path / "pwned"
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(_Evil(str(sentinel))))
    uploader.set_input_files(str(tmp_path / "evil.pt"))
    page.get_by_text("could run code when opened").wait_for(timeout=30_000)
    assert not sentinel.exists()  # refused without running its code
    assert not (checkpoints / "trained").exists() or not any((checkpoints / "trained").iterdir())
    no_exception(page)
    page.get_by_text("could run code when opened").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS / "upload-checkpoint-refused.png")
    shutil.copy(checkpoints / "deep-ae-2d.pt", tmp_path / "my model.pt")
    uploader.set_input_files(str(tmp_path / "my model.pt"))
    page.get_by_text("Added trained/my-model.pt").wait_for(timeout=30_000)
    assert (checkpoints / "trained" / "my-model.pt").read_bytes() == (checkpoints / "deep-ae-2d.pt").read_bytes()
    assert page.get_by_role("button", name="Explore →").count() == len(list(checkpoints.glob("*.pt"))) + 1
    no_exception(page)
    page.screenshot(path=SHOTS / "upload-checkpoint.png")


@pytest.mark.parametrize("name", ["Generate", "Reconstruct & denoise", "Compare", "Ask for a digit", "What each number means",
                                  "Neighbourhood maps", "Latent arithmetic", "A code of whole numbers", "Presets"])
def test_other_pages_open(session, name):
    page = session
    B.goto_page(page, name)
    no_exception(page)
    assert page.locator("h1").first.inner_text()
    page.screenshot(path=SHOTS / f"{name.split()[0].lower()}.png")


def _chart_point(page, chart: int, x: float, y: float) -> tuple[float, float]:
    """Where the point (x, y) of the `chart`-th Plotly chart of the page lies, in page pixels."""
    return tuple(page.evaluate("""([i, x, y]) => { const el = [...document.querySelectorAll('.js-plotly-plot')][i];
        const L = el._fullLayout, r = el.getBoundingClientRect();
        return [r.left + L.xaxis._offset + L.xaxis.l2p(x), r.top + L.yaxis._offset + L.yaxis.l2p(y)]; }""", [chart, x, y]))


def _entry_field(page):
    page.wait_for_function("document.querySelectorAll('[data-testid=stNumberInput]').length === 3")  # no stale one
    return page.get_by_label(page.locator("label").filter(has_text="Codebook entry").inner_text(), exact=True)


def test_vq_vae_grid_a_cell_clicked_then_an_entry_clicked_changes_the_digit(session, server):
    page = B.new_page(session.context.browser, {"width": 1280, "height": 2000})  # the whole page at once
    frames = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: frames.append(payload)))
    try:
        page.goto(server.url + "/codebook")
        page.get_by_text("Grids drawn at random").wait_for(timeout=90_000)
        B.idle(page)
        B.wait_charts(page, 5)
        no_exception(page)
        page.screenshot(path=SHOTS / "codebook.png")
        # Charts in order: the digit, its reconstruction, the code grid, the edited digit, the palette.
        with B.rerun(page):
            page.mouse.click(*_chart_point(page, 2, 5, 1))  # row 1, column 5
        page.get_by_text("Codebook entry in row 1, column 5").wait_for(timeout=30_000)
        before = _entry_field(page).input_value()
        new = (int(before) + 37) % 128
        B.wait_charts(page, 5)
        with B.rerun(page):
            page.mouse.click(*_chart_point(page, 4, new % 16 * 28 + 14, new // 16 * 28 + 14))  # that entry's tile
        page.get_by_text("1 of 49 cells changed").wait_for(timeout=30_000)
        assert _entry_field(page).input_value() == str(new)
        no_exception(page)
        page.screenshot(path=SHOTS / "codebook-edited.png")
        field = _entry_field(page)
        field.fill("500")  # past the codebook: the field refuses it, says so, and keeps the last good entry
        sent = len(frames)
        field.press("Enter")
        page.locator("input[aria-invalid=true]").wait_for()
        assert "between 0 and 127" in page.locator("[data-testid=stNumberInput] [role=alert]").inner_text()
        assert len(frames) == sent  # nothing went to the server
        assert page.get_by_text("1 of 49 cells changed").count() == 1
        no_exception(page)
        page.screenshot(path=SHOTS / "codebook-out-of-range.png")
    finally:
        page.close()

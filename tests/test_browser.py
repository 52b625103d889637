"""The real app in headless Chromium: every page opens, a click on empty space decodes that spot,
a slider drags, and a training run starts, moves and stops. Screenshots go to bench/screenshots/
(or $AELIB_SCREENSHOTS); look at them."""

import os
import pickle
import shutil
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import torch

import aelib
from aelib.latent import decode
from bench import browser as B
from tests.conftest import need

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("AELIB_SCREENSHOTS") or ROOT / "bench" / "screenshots")

pytestmark = pytest.mark.browser


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
    with B.serve({"AELIB_DATA": str(data_root), "AELIB_CHECKPOINTS": str(checkpoints)}) as server:
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


def test_home_then_explorer_click_on_empty_space_and_slider(session):
    page = session
    no_exception(page)
    assert page.get_by_role("button", name="Explore →").count() == len(list((ROOT / "checkpoints").glob("*.pt")))
    page.screenshot(path=SHOTS / "home.png")

    page.get_by_role("button", name="Explore →").nth(B.row_of(page, "vae-2d.pt")).click()
    B.wait_explorer(page)
    page.wait_for_timeout(2500)  # a click in the first moments after the map draws can be lost
    no_exception(page)
    page.screenshot(path=SHOTS / "explorer.png")

    fx, fy = B.empty_spot(page)
    x, y, _ = B.click_map(page, fx, fy)
    code = B.code_shown(page)
    axes = B.map_axes(page)
    spacing = (axes["xr"][1] - axes["xr"][0]) / 79  # the click grid's pitch
    assert abs(code[0] - x) <= spacing and abs(code[1] - y) <= spacing, (code, x, y)
    model = aelib.load(ROOT / "checkpoints" / "vae-2d.pt", device="cpu")
    shown = torch.tensor(B.digit_pixels(page))
    assert (shown - decode(model, code)[0]).abs().mean() < 0.02  # the digit of that very spot
    page.screenshot(path=SHOTS / "explorer-clicked.png")

    B.drag_slider(page, dx=60)
    assert B.code_shown(page)[0] > code[0] and B.code_shown(page)[1] == code[1]
    no_exception(page)
    page.screenshot(path=SHOTS / "explorer-dragged.png")


def _start_vae_2d(page, go_to_train: bool = True) -> None:
    if go_to_train:
        B.goto_page(page, "Train")
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    B.choose(page, "Preset", "vae-2d")
    B.settle(page)
    page.get_by_role("button", name="Start training").click()


def test_training_starts_moves_and_stops(session):
    page = session
    _start_vae_2d(page)
    bar = page.locator("[data-testid=stProgress]")
    bar.first.wait_for(timeout=60_000)
    page.get_by_text("images/s").wait_for(timeout=60_000)
    first = B.progress(page)
    page.wait_for_timeout(2500)
    assert B.progress(page) > first  # the bar moves while the page is idle
    page.screenshot(path=SHOTS / "train-running.png")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Training stopped on request.").wait_for(timeout=30_000)
    no_exception(page)
    page.screenshot(path=SHOTS / "train-stopped.png")


def test_a_shared_link_opens_the_same_view(session):
    base = session.url.split("/", 3)[:3]
    page = session.context.browser.new_page(viewport=B.VIEWPORT)  # a second tab: its own session
    try:
        page.goto("/".join(base) + "/explorer?model=deep-ae-2d.pt&z=1.5,-0.5&grid=20")
        B.wait_explorer(page)
        assert B.code_shown(page) == [1.5, -0.5]
        page.wait_for_timeout(2500)  # a click in the first moments after the map draws can be lost
        fx, fy = B.empty_spot(page)
        B.click_map(page, fx, fy)
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
    with B.serve(env) as (url, _, _):
        page = session.context.browser.new_page(viewport=B.VIEWPORT)
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
    page = session.context.browser.new_page(viewport=B.VIEWPORT)
    try:
        page.goto(session.url.split("?")[0].rsplit("/", 1)[0] + "/explorer?model=vae-2d-fashion.pt")
        B.wait_explorer(page)
        page.get_by_text("Ankle boot").first.wait_for()  # class names in the legend and captions
        no_exception(page)
        page.screenshot(path=SHOTS / "explorer-fashion.png")
        B.goto_page(page, "Generate")
        page.get_by_text("How recognisable").wait_for(timeout=60_000)
        B.settle(page, timeout=60_000)
        page.locator(".legendtext", has_text="real test set").wait_for()  # the reference bars are drawn
        no_exception(page)
        page.screenshot(path=SHOTS / "generate-fashion.png")
    finally:
        page.close()


def test_a_learned_prior_on_the_map_and_in_generate(session):
    page = session.context.browser.new_page(viewport=B.VIEWPORT)
    base = session.url.split("?")[0].rsplit("/", 1)[0]
    try:
        page.goto(base + "/explorer?model=vae-2d-mixture.pt")
        B.wait_explorer(page)
        page.locator(".legendtext", has_text="the prior's Gaussians").wait_for(timeout=30_000)  # its ellipses
        B.settle(page, timeout=60_000)
        no_exception(page)
        page.screenshot(path=SHOTS / "explorer-mixture.png")
        page.goto(base + "/explorer?model=vae-mixture.pt")  # a new load is a new session: the link counts again
        B.wait_explorer(page)
        B.goto_page(page, "Generate")
        page.get_by_text("drawn from its learned prior, a mixture of 200 Gaussians").wait_for(timeout=60_000)
        page.locator(".legendtext", has_text="real test set").wait_for(timeout=60_000)
        B.settle(page, timeout=60_000)
        no_exception(page)
        page.screenshot(path=SHOTS / "generate-mixture.png")
    finally:
        page.close()


def _training_processes(server_pid: int) -> list[int]:
    """Pids of the server's running training processes: its children started by multiprocessing's spawn."""
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()  # state, ppid, ...
            if proc.name.isdigit() and int(stat[1]) == server_pid and stat[0] not in "ZX" \
                    and b"spawn_main" in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:  # gone meanwhile
            pass
    return pids


def test_refreshing_during_training_stops_the_run_and_frees_the_trainer(session, server):
    page = session
    _start_vae_2d(page)
    t0 = time.time()
    while not _training_processes(server.pid):  # the page may still show the last run's figures meanwhile
        assert time.time() - t0 < 30, "no training process started"
        time.sleep(0.2)
    page.get_by_text("images/s").wait_for(timeout=60_000)
    page.reload()  # a new session; the old one is gone, and its run with it
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    t0 = time.time()
    while _training_processes(server.pid):
        assert time.time() - t0 < 10, "the run of a closed session was still training after 10 s"
        time.sleep(0.2)
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
    B.settle(page, timeout=60_000)
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


@pytest.mark.parametrize("name", ["Generate", "Reconstruct & denoise", "Compare", "Presets"])
def test_other_pages_open(session, name):
    page = session
    B.goto_page(page, name)
    page.wait_for_timeout(500)
    B.settle(page, timeout=60_000)
    no_exception(page)
    assert page.locator("h1").first.inner_text()
    page.screenshot(path=SHOTS / f"{name.split()[0].lower()}.png")

"""What the Python side computes for the inputs the page's JavaScript is tested on: the fixtures of tests/js.

`python -m tests.js.fixtures` writes them into tests/js/fixtures/; tests/test_js.py fails when they are stale,
and runs `node --test tests/js/`, which checks static/'s modules against them.
"""

from __future__ import annotations

import base64
import io
import json
import random
import sys
import types
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from aelib import figures
from aelib.images import ImageError, prepare_digit
from aelib.latent import PCAPlane, prior_gaussians
from aelib.train import Event

HERE = Path(__file__).resolve().parent
FOLDER = HERE / "fixtures"
PAD = 196  # the pad's drawing canvas, pixels a side (static/pad/canvas.js)


def _round(values, places: int = 6) -> list:
    return np.round(np.asarray(values, dtype=np.float64), places).tolist()


def drawn_pictures(n: int = 20, seed: int = 0) -> list[Image.Image]:
    """Digits drawn as the pad's canvas draws them (white strokes 14 px wide, round ends, on black), most on
    its 196x196 canvas; a few on other sizes, a few dark on light, and one with no ink."""
    rng = random.Random(seed)
    pictures = []
    for k in range(n):
        w, h = (PAD, PAD) if k % 4 else rng.choice([(120, 90), (300, 220), (64, 64)])
        ink, paper = (0, 255) if k % 7 == 3 else (255, 0)
        img = Image.new("L", (w, h), paper)
        d = ImageDraw.Draw(img)
        width = max(3, round(14 * min(w, h) / PAD))
        for _ in range(rng.randint(1, 3) if k != n - 1 else 0):
            pts = [(rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h) for _ in range(rng.randint(2, 5))]
            d.line(pts, fill=ink, width=width, joint="curve")
            for x, y in (pts[0], pts[-1]):
                d.ellipse([x - width / 2, y - width / 2, x + width / 2, y + width / 2], fill=ink)
        pictures.append(img)
    return pictures


def prepare_cases() -> list[dict]:
    """Each picture's grey bytes (zlib, base64) and prepare_digit's 784 grey levels (None: no ink)."""
    cases = []
    for img in drawn_pictures():
        png = io.BytesIO()
        img.save(png, format="PNG")
        try:
            want = _round(prepare_digit(png.getvalue()).flatten())
        except ImageError:
            want = None
        cases.append({"width": img.width, "height": img.height,
                      "grey": base64.b64encode(zlib.compress(img.tobytes(), 9)).decode(), "want": want})
    return cases


def _plane(dims: int, seed: int) -> PCAPlane:
    """A plane as PCAPlane.fit makes one (orthonormal rows through a mean), made without its randomised SVD."""
    if dims == 2:
        return PCAPlane.identity(2)
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dims, 2, generator=g, dtype=torch.float64))
    return PCAPlane(torch.randn(dims, generator=g, dtype=torch.float64), q.T.contiguous())


def _as_json(plane: PCAPlane) -> dict:
    return {"mean": plane.mean.tolist(), "components": plane.components.tolist()}  # as model.json holds it


def plane_cases() -> list[dict]:
    """The PCA plane's project and lift (aelib.latent.PCAPlane), for a 2-D model and a 6-D one."""
    cases = []
    for dims, seed in ((2, 0), (6, 1)):
        plane = _plane(dims, seed)
        g = torch.Generator().manual_seed(seed + 10)
        codes, points = torch.randn(8, dims, generator=g) * 2, torch.randn(8, 2, generator=g) * 2
        cases.append({"plane": _as_json(plane), "codes": codes.tolist(), "projected": _round(plane.project(codes)),
                      "points": points.tolist(), "lifted": _round(plane.lift(points))})
    return cases


def ring_cases() -> dict:
    """Ellipses 2 sd out (aelib.figures.gaussian_rings): a shipped model's learned prior as model.json holds it
    (aelib.latent.prior_gaussians), and a VAE's diagonal posterior seen in a PCA plane."""
    import aelib

    model = aelib.load(Path(__file__).resolve().parents[2] / "checkpoints" / "vae-2d-mixture.pt", device="cpu")
    weights, centres, covariances = prior_gaussians(model, PCAPlane.identity(2))
    prior = {"weights": weights.tolist(), "centres": centres.tolist(), "covariances": covariances.tolist()}
    plane = _plane(6, 1)
    g = torch.Generator().manual_seed(5)
    posteriors = []
    for _ in range(4):
        mu, logvar = torch.randn(6, generator=g), torch.randn(6, generator=g) - 1
        a = plane.components.double()
        cov = a @ torch.diag(logvar.double().exp()) @ a.T  # (2, D) (D, D) (D, 2) -> (2, 2)
        ring = figures.gaussian_rings([1.0], plane.project(mu[None]).double(), cov[None])[0]
        posteriors.append({"mu": mu.tolist(), "logvar": logvar.tolist(), "ring": _round(ring.T)})
    return {"prior": prior, "prior_rings": [_round(r.T) for r in figures.gaussian_rings(weights, centres, covariances)],
            "plane": _as_json(plane), "posteriors": posteriors}


def clamp_cases() -> list[dict]:
    """Codes kept inside the sliders' ranges (ui.sliders.clamp): per dimension, with numbers past the sliders,
    and along a PCA plane."""
    from ui.sliders import clamp

    plane = _plane(6, 1)
    ranges_2d = [[-1.5, 2.0], [-0.5, 0.5]]
    per_dim = [[-2.0, 2.0], [-1.0, 3.0], [0.0, 0.5]]
    g = torch.Generator().manual_seed(7)
    cases = []
    for code in (torch.randn(5, 5, generator=g) * 3).tolist():
        cases.append({"axes": {"perDim": True, "ranges": per_dim}, "code": code, "want": _round(clamp(code, per_dim))})
    for code in (torch.randn(5, 6, generator=g) * 3).tolist():
        cases.append({"axes": {"perDim": False, "ranges": ranges_2d, "plane": _as_json(plane)}, "code": code,
                      "want": _round(clamp(code, ranges_2d, plane))})
    return cases


def progress_cases() -> dict:
    """A run at a steady pace as the Train page reports it (ui.training): the live bar's data at its first
    report, and at each later report the line the server writes, which the bar must reach by itself."""
    from aelib.jobs import JobView
    from ui.training import live_bar_data, progress_text

    epochs, per_epoch, batch, rate = 3, 469, 128, 37.5  # steps a second
    job = types.SimpleNamespace(config=types.SimpleNamespace(epochs=epochs), number=1)
    total = epochs * per_epoch
    reports = []
    for step in (3, 150, 468, 469, 470, 900, 1400, 1406):
        elapsed = step / rate
        ev = Event("step", step / per_epoch, step, total, elapsed, rate * batch)
        view = JobView("running", "Training…", ev)
        data = live_bar_data(job, view)
        reports.append({"s": elapsed, "data": data, "text": progress_text(job, view)})
    return {"reports": reports}


def map_case() -> dict:
    """A map of codes as ui.pad writes it for the page: its bytes, and the spots and labels they hold."""
    from ui.pad import map_bytes

    g = torch.Generator().manual_seed(3)
    points, labels = torch.randn(7, 2, generator=g), torch.randint(0, 10, (7,), generator=g)
    return {"bytes": base64.b64encode(map_bytes(points, labels)).decode(), "points": points.tolist(),
            "labels": labels.tolist()}


def build() -> dict[str, object]:
    """Every fixture, by file name."""
    return {"prepare.json": prepare_cases(), "plane.json": plane_cases(), "rings.json": ring_cases(),
            "clamp.json": clamp_cases(), "progress.json": progress_cases(), "map.json": map_case()}


def dumps(value) -> str:
    return json.dumps(value, indent=None, separators=(",", ":")) + "\n"


def same(a, b, tol: float = 1e-6) -> bool:
    """Equal, numbers within `tol`: the last bits of a float may differ from one processor to another."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k], tol) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y, tol) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) <= tol
    return a == b


def stale() -> list[str]:
    """The fixtures whose files hold other values than the Python side computes now."""
    return [name for name, value in build().items()
            if not (FOLDER / name).is_file() or not same(json.loads((FOLDER / name).read_text()), value)]


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, value in build().items():
        (FOLDER / name).write_text(dumps(value))
        print(f"wrote {(FOLDER / name).relative_to(Path.cwd()) if FOLDER.is_relative_to(Path.cwd()) else FOLDER / name}")


if __name__ == "__main__":
    sys.exit(main())

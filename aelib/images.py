"""Digit images in and out: MNIST-style preprocessing of a user's picture, PNG and .npz export, and a 2-D map of
codes drawn as a small picture."""

from __future__ import annotations

import base64
import io
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 10 * 2**20  # a file larger than this is refused before decoding
MAX_PIXELS = 25_000_000  # width x height; a decompression bomb is refused from its header


class ImageError(ValueError):
    """A file that cannot be turned into a digit; the message says what is wrong and what to do."""


def _open(data: bytes) -> Image.Image:
    if not data:
        raise ImageError("The file is empty (0 bytes). Use a PNG or JPG picture of one digit.")
    if len(data) > MAX_BYTES:
        raise ImageError(f"The file is {len(data) / 2**20:.1f} MB; the limit is {MAX_BYTES // 2**20} MB. "
                         "Use a smaller picture: a digit needs only a few hundred pixels a side.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header only
    except UnidentifiedImageError:
        raise ImageError("This file is not a readable picture. Use a PNG or JPG image of one digit.") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"The picture is too large to open safely ({e}). Shrink it below "
                         f"{MAX_PIXELS // 1_000_000} megapixels and try again.") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"The picture is damaged or cut short ({e}). Save it again and retry.") from None
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise ImageError(f"The picture is {w}x{h} pixels, more than the {MAX_PIXELS // 1_000_000} megapixels "
                         "opened here. Shrink it and try again.")
    if getattr(img, "n_frames", 1) > 1:
        raise ImageError(f"This is an animation ({img.n_frames} frames). Use a single still picture "
                         "of one digit.")
    try:
        img.load()
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"The picture is damaged or cut short ({e}). Save it again and retry.") from None
    return ImageOps.exif_transpose(img)  # phone photos are stored sideways with an orientation tag


def _grey(img: Image.Image) -> np.ndarray:
    """Any mode -> (H, W) float32 in [0, 1], ink wherever the picture has it."""
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        alpha = np.asarray(img.convert("RGBA"))[..., 3].astype(np.float32) / 255
        if alpha.min() < 0.5 < alpha.max():
            return alpha  # a digit drawn on a transparent background: the opaque strokes are the ink
        img = img.convert("RGB")
    if img.mode.startswith("I") or img.mode == "F":  # 16- and 32-bit greys
        arr = np.asarray(img, dtype=np.float32)
        top = 65535.0 if arr.max() > 255 else 255.0
        return np.clip(arr / top, 0, 1)
    return np.asarray(img.convert("L"), dtype=np.float32) / 255


def prepare_digit(data: bytes) -> torch.Tensor:
    """The bytes of an image file -> a (1, 28, 28) float digit in [0, 1], prepared the way MNIST was:
    grey, light ink on a dark background, the ink scaled into a 20x20 box and centred by its centre
    of mass in a 28x28 frame. Raises ImageError with a message for the user."""
    img = _open(data)
    img.thumbnail((1024, 1024))  # plenty for a 20-pixel digit, and quick for a 25-megapixel photo
    arr = _grey(img)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    if np.median(border) > 0.5:  # dark ink on light paper: MNIST is the other way round
        arr = 1.0 - arr
        border = 1.0 - border
    background, peak = float(np.median(border)), float(arr.max())
    if peak - background < 0.15:
        raise ImageError("No digit found: the picture is almost uniform. Use a picture with one "
                         "clearly drawn digit.")
    arr = np.clip((arr - background) / (peak - background), 0, 1)
    arr = np.clip((arr - 0.2) / 0.8, 0, 1)  # paper texture and JPEG noise below 20% are background
    rows, cols = np.nonzero(arr > 0)
    arr = arr[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]  # (h, w) box around the ink
    h, w = arr.shape
    scale = 20.0 / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    box = np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
    box = np.clip(box, 0, 1)  # (<=20, <=20)
    frame = np.zeros((28, 28), dtype=np.float32)
    bh, bw = box.shape
    top, left = (28 - bh) // 2, (28 - bw) // 2
    frame[top : top + bh, left : left + bw] = box
    # Shift the centre of mass to pixel (14, 14), where MNIST's digits have theirs on average.
    yy, xx = np.mgrid[0:28, 0:28]
    mass = frame.sum()
    dy, dx = round(14.0 - (yy * frame).sum() / mass), round(14.0 - (xx * frame).sum() / mass)
    frame = np.roll(frame, (dy, dx), axis=(0, 1))
    return torch.from_numpy(frame).unsqueeze(0)  # (28, 28) -> (1, 28, 28)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """Float images in [0, 1] -> uint8 array of the same shape."""
    return (images.detach().float().clamp(0, 1) * 255).round().to(torch.uint8).cpu().numpy()


def floats(images) -> np.ndarray:
    """Grey pictures, uint8 or in [0, 1], tensor or array -> float32 in [0, 1] (NaN kept)."""
    arr = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    return arr.astype(np.float32) / 255 if arr.dtype == np.uint8 else arr.astype(np.float32, copy=False)


def sheet(rows, gap: int = 3) -> np.ndarray:
    """Rows of small pictures, each (n, H, W) or (n, 1, H, W), laid out as one (rows, columns) grid with
    `gap` pixels between tiles -> one float (H', W') array in [0, 1], NaN wherever there is no picture."""
    rows = [floats(r) for r in rows]
    rows = [r.reshape(len(r), *r.shape[-2:]) for r in rows]  # (n, 1, H, W) -> (n, H, W)
    n, (h, w) = max(len(r) for r in rows), rows[0].shape[-2:]
    canvas = np.full((len(rows) * (h + gap) - gap, n * (w + gap) - gap), np.nan, dtype=np.float32)
    for i, r in enumerate(rows):
        for j, img in enumerate(r):
            canvas[i * (h + gap) : i * (h + gap) + h, j * (w + gap) : j * (w + gap) + w] = img
    return canvas


def png_bytes(image, scale: int = 1) -> bytes:
    """A grey picture (H, W) or (1, H, W), uint8 or in [0, 1], white on black like MNIST -> PNG file bytes,
    `scale` times larger with square pixels (no smoothing); NaN pixels come out transparent."""
    grey = floats(image)
    grey = grey.reshape(grey.shape[-2:]).repeat(scale, axis=0).repeat(scale, axis=1)
    level = (np.nan_to_num(grey).clip(0, 1) * 255).round().astype(np.uint8)
    blank = np.isnan(grey)
    img = (Image.fromarray(np.stack([level, np.where(blank, 0, 255).astype(np.uint8)], axis=-1), "LA")
           if blank.any() else Image.fromarray(level, "L"))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def morph_rows(linear, spherical, ends=None) -> list[tuple[str, np.ndarray]]:
    """An interpolation as titled rows of pictures: the linear and spherical paths (steps, 28, 28), and above
    them, when `ends` gives the two real images it runs between, those images at its two ends (NaN between)."""
    rows = [("linear", floats(linear)), ("spherical", floats(spherical))]
    if ends is not None:
        real = np.full_like(rows[0][1], np.nan)  # blank between the two real digits
        real[0], real[-1] = (floats(e).reshape(real.shape[-2:]) for e in ends)
        rows.insert(0, ("real", real))
    return rows


def npz_bytes(images: torch.Tensor, codes: torch.Tensor, **arrays) -> bytes:
    """Generated digits as an .npz file: `images` uint8 (N, 28, 28), `codes` float32 (N, D), and any
    extra arrays given. Load it with `numpy.load`."""
    buf = io.BytesIO()
    np.savez_compressed(buf, images=to_uint8(images), codes=codes.detach().float().cpu().numpy(),
                        **{k: np.asarray(v) for k, v in arrays.items()})
    return buf.getvalue()


def map_thumbnail(codes, labels, colours: list[str], size: int = 96) -> str:
    """2-D codes (N, 2) as a `size`-pixel picture of dots, each in its label's colour, framed to fit them: a PNG
    data URL, small enough to send in a table row."""
    xy = np.asarray(codes, dtype=np.float64)
    lab = np.asarray(labels)
    img = Image.new("RGB", (size, size), "white")
    if len(xy):
        lo, hi = np.percentile(xy, 1, axis=0), np.percentile(xy, 99, axis=0)
        px = np.clip((xy - lo) / np.maximum(hi - lo, 1e-9) * (size - 5) + 2, 0, size - 3).round().astype(int)
        pixels = img.load()
        for (x, y), c in zip(px, lab):
            rgb = tuple(int(colours[int(c) % len(colours)][i : i + 2], 16) for i in (1, 3, 5))
            for dx in (0, 1):
                for dy in (0, 1):
                    pixels[x + dx, size - 1 - y - dy] = rgb  # y up, as on the charts
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()

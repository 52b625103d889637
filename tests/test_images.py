"""Uploaded pictures become MNIST-style digits, and every kind of bad file gets a clear message."""

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from aelib.data import load_split
from aelib.images import MAX_PIXELS, ImageError, morph_rows, npz_bytes, png_bytes, prepare_digit, sheet


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def drawn_one(size=(300, 400), ink="black", paper="white", mode="RGB") -> Image.Image:
    img = Image.new(mode, size, paper)
    ImageDraw.Draw(img).line([(size[0] // 2, 40), (size[0] // 2, size[1] - 40)], fill=ink, width=30)
    return img


def check_mnist_like(t: torch.Tensor) -> None:
    assert t.shape == (1, 28, 28) and t.dtype == torch.float32
    assert t.min() == 0 and t.max() > 0.9
    a = t[0].numpy()
    assert a[:3].sum() == 0 and a[-3:].sum() == 0  # a dark frame around the digit, as in MNIST
    ys, xs = np.mgrid[0:28, 0:28]
    cy, cx = (ys * a).sum() / a.sum(), (xs * a).sum() / a.sum()
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # centred by centre of mass, as MNIST is
    rows = np.nonzero(a.max(1) > 0.5)[0]
    assert 17 <= rows.max() - rows.min() + 1 <= 21  # the long side fills the 20-pixel box


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "WEBP"])
def test_dark_ink_on_paper_becomes_light_on_dark(fmt):
    check_mnist_like(prepare_digit(encode(drawn_one(), fmt)))


def test_light_ink_on_dark_is_kept():
    check_mnist_like(prepare_digit(encode(drawn_one(ink="white", paper="black"))))


def test_strokes_on_a_transparent_background():
    img = drawn_one(ink=(0, 0, 0, 255), paper=(0, 0, 0, 0), mode="RGBA")
    check_mnist_like(prepare_digit(encode(img)))


def test_sixteen_bit_grey():
    arr = (np.asarray(drawn_one().convert("L"), dtype=np.uint16) * 257)
    img = Image.fromarray(arr.astype(np.uint16))
    assert img.mode.startswith("I;16")
    check_mnist_like(prepare_digit(encode(img)))


def test_real_digits_survive_the_round_trip(data_root):
    """Test digits blown up 10x, inverted and saved as JPEG come back close to the originals."""
    images, _ = load_split("mnist", "test", root=data_root)
    corrs = []
    for digit in images[:20, 0].numpy():
        photo = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.BICUBIC)
        out = prepare_digit(encode(photo, "JPEG", quality=85))[0].numpy()
        corrs.append(np.corrcoef(out.ravel(), digit.ravel() / 255)[0, 1])
    assert np.median(corrs) > 0.93, corrs


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"this is a text file, not a picture", "not a readable picture"),
    (encode(drawn_one())[:300], "damaged"),
    (encode(Image.new("L", (200, 200), 255)), "No digit"),
])
def test_bad_files_get_a_clear_message(data, message):
    with pytest.raises(ImageError, match=message):
        prepare_digit(data)


def test_animation_is_refused():
    frames = [drawn_one(), drawn_one(ink="gray")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ImageError, match="animation"):
        prepare_digit(data)


def test_decompression_bomb_is_refused_from_its_header():
    big = Image.new("1", (6000, MAX_PIXELS // 6000 + 10))  # 1-bit: small in memory, tiny as PNG
    data = encode(big)
    assert len(data) < 1_000_000
    with pytest.raises(ImageError, match="megapixels"):
        prepare_digit(data)


def test_oversized_file_is_refused_before_decoding():
    with pytest.raises(ImageError, match="limit"):
        prepare_digit(b"\x89PNG" + b"\0" * (11 * 2**20))


def test_png_and_npz_exports_round_trip():
    img = torch.rand(56, 84)
    back = np.asarray(Image.open(io.BytesIO(png_bytes(img))))
    assert back.shape == (56, 84) and back.dtype == np.uint8
    assert np.abs(back / 255 - img.numpy()).max() <= 1 / 255
    images, codes = torch.rand(5, 28, 28), torch.randn(5, 2)
    arrays = np.load(io.BytesIO(npz_bytes(images, codes, labels=np.arange(5))))
    assert arrays["images"].shape == (5, 28, 28) and arrays["images"].dtype == np.uint8
    assert np.allclose(arrays["codes"], codes.numpy()) and list(arrays["labels"]) == [0, 1, 2, 3, 4]


def test_png_enlarges_with_square_pixels_and_leaves_blanks_transparent():
    digit = torch.zeros(1, 28, 28)
    digit[0, 3, 5] = 1.0
    img = Image.open(io.BytesIO(png_bytes(digit, scale=4)))
    arr = np.asarray(img)
    assert img.mode == "L" and arr.shape == (112, 112)
    assert (arr[12:16, 20:24] == 255).all() and arr.sum() == 16 * 255  # one pixel became a 4x4 block
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(np.full((28, 28), 255, dtype=np.uint8))))), np.full((28, 28), 255))
    holey = np.zeros((2, 3), dtype=np.float32)
    holey[1, 2] = np.nan
    la = np.asarray(Image.open(io.BytesIO(png_bytes(holey, 2))))
    assert la.shape == (4, 6, 2) and (la[2:, 4:, 1] == 0).all() and (la[:2, :, 1] == 255).all()


def test_sheet_lays_rows_of_pictures_out_with_gaps():
    digit = torch.zeros(1, 28, 28, dtype=torch.uint8)
    digit[0, 3, :] = 255
    canvas = sheet([digit.expand(4, 1, 28, 28), torch.ones(3, 28, 28)], gap=2)
    assert canvas.shape == (58, 118) and canvas[3, :28].min() == 1.0 and canvas[4, :28].max() == 0.0
    assert np.isnan(canvas[:, 28:30]).all() and np.isnan(canvas[30:, 90:]).all()  # gaps, and the short row's end


def test_morph_rows_put_the_real_ends_above_the_paths():
    linear, spherical = torch.zeros(5, 28, 28), torch.ones(5, 28, 28)
    ends = (torch.full((1, 28, 28), 255, dtype=torch.uint8), torch.full((1, 28, 28), 255, dtype=torch.uint8))
    rows = morph_rows(linear, spherical, ends=ends)
    assert [t for t, _ in rows] == ["real", "linear", "spherical"]
    real = rows[0][1]
    assert (real[0] == 1).all() and (real[-1] == 1).all() and np.isnan(real[1:-1]).all()
    assert [t for t, _ in morph_rows(linear, spherical)] == ["linear", "spherical"]

"""Reconstruct & denoise: the seeds' digits, and noise undone."""

from tests.apptest import chart, charts, page


def test_reconstruct_shows_digits_noise_and_denoising(with_data):
    at = page("reconstruct.py").run()
    assert not at.exception
    assert chart(at, "rec:s3") is not None and chart(at, "rec:s4") is not None  # S3's and S4's pictures
    noisy = next(s for s in charts(at) if "denoising AE" in s)
    at.slider(key="rec:noise").set_value(0.8).run()
    assert not at.exception
    assert next(s for s in charts(at) if "denoising AE" in s) != noisy

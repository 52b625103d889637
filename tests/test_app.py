"""The landing page and the presets page run and show what they promise."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from aelib.presets import PRESETS

ROOT = Path(__file__).resolve().parent.parent


def test_home_lists_shipped_checkpoints(monkeypatch):
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert "Autoencoder explorer" in at.title[0].value
    table = at.dataframe[0].value
    assert {"vae-2d", "mlp-vae", "deep-ae-2d"} <= set(table["preset"])
    assert any("Running on" in c.value for c in at.caption)


def test_presets_page_lists_every_preset():
    at = AppTest.from_file(str(ROOT / "pages" / "1_Presets.py"), default_timeout=60).run()
    assert not at.exception
    assert len(at.table[0].value) == len(PRESETS)

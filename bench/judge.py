"""The digit judge's figures: recognisability of every shipped model, and the decoder's map speed.

`python bench/judge.py [--samples 10000] [--write]` scores prior samples of each shipped checkpoint
with the shipped judge (real test digits as the reference row), and times the explorer's painted
plane (decode a 100x100 grid, judge every image) against the same judge without its folded batch
norm, in the same run, on one CPU thread (as the server runs) and on all of them.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import aelib  # noqa: E402
from aelib.data import load_split  # noqa: E402
from aelib.judge import decoder_map, load_judge, prior_recognisability, recognisability  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def scores(samples: int) -> list[tuple[str, str, dict]]:
    rows = []
    for dataset in ("mnist", "fashion-mnist"):
        judge = load_judge(ROOT / "checkpoints" / "judges" / f"{dataset}.pt")
        rows.append((f"real {dataset} test digits", f"judge {100 * judge.metadata['test_accuracy']:.2f}% accurate",
                     recognisability(judge, load_split(dataset, "test")[0])))
        for path in sorted((ROOT / "checkpoints").glob("*.pt")):
            model = aelib.load(path, device="cpu")
            if model.metadata.get("dataset", "mnist") == dataset:
                kind = f"{'VAE' if model.variational else 'AE'}, {model.latent_dim}-D"
                if getattr(model, "prior", None) is not None:
                    kind += f", learned prior ({model.config.prior_components} Gaussians)"
                rows.append((path.name, kind, prior_recognisability(model, judge, samples)))
    return rows


def timings(reps: int = 5) -> list[tuple[str, float, float]]:
    """(threads, folded s, unfolded s): medians for the 100x100 painted plane of vae-2d.pt."""
    model = aelib.load(ROOT / "checkpoints" / "vae-2d.pt", device="cpu")
    judge = load_judge(ROOT / "checkpoints" / "judges" / "mnist.pt")
    plain = load_judge(ROOT / "checkpoints" / "judges" / "mnist.pt")
    plain.folded = lambda: plain.eval()  # the same network, batch norm left as it is
    out = []
    for threads in (1, torch.get_num_threads()):
        torch.set_num_threads(threads)
        a, b = [], []
        for _ in range(reps):  # interleaved, so a busy moment hits both
            for j, acc in ((judge, a), (plain, b)):
                t0 = time.perf_counter()
                decoder_map(model, j, (-3, 3), (-3, 3), n=100)
                acc.append(time.perf_counter() - t0)
        out.append((str(threads), statistics.median(a), statistics.median(b)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    lines = ["| digits | kind | recognisable (judge ≥ 90% sure) | label entropy (bits, max 3.32) |",
             "|---|---|---|---|"]
    for name, kind, r in scores(args.samples):
        lines.append(f"| {name} | {kind} | {100 * r['confident_share']:.1f}% | {r['label_entropy']:.2f} |")
    lines += ["", "| CPU threads | 100x100 painted plane, median s | without folded batch norm, s | ratio |",
              "|---|---|---|---|"]
    for threads, a, b in timings():
        lines.append(f"| {threads} | {a:.3f} | {b:.3f} | {b / a:.2f}x |")
    print("\n".join(lines))
    if args.write:
        path = ROOT / "bench" / "RESULTS.md"
        block = "\n".join(["<!-- judge:start -->", "## The digit judge: `bench/judge.py`", "",
                           f"`python bench/judge.py --samples {args.samples} --write` on this 2-core CPU. "
                           f"{args.samples:,} samples per model from its prior (N(0, I) unless it learned one), "
                           "seed 0.", "", *lines,
                           "<!-- judge:end -->"])
        text = path.read_text()
        if "<!-- judge:start -->" in text:
            text = re.sub(r"<!-- judge:start -->.*<!-- judge:end -->", lambda _: block, text, flags=re.S)
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
        path.write_text(text)


if __name__ == "__main__":
    main()

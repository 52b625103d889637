"""The Train page's first look: which quick recipe draws a 2-D map with real clusters in a few seconds.

`python bench/first_look.py [--write]` trains `vae-2d` with each recipe below on this machine, the data read
once, and scores each map as a class would see it: the codes of the 10,000 test digits, the first 5,000
voting with their labels on the class of each of the last 5,000 by its 5 nearest (aelib.metrics.neighbour_vote;
0.1 is chance, the shipped 60-epoch vae-2d.pt scores about 0.84). Time: the run's training and its one test
pass, as the Train page waits for them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from aelib import build, recipe  # noqa: E402
from aelib.presets import get_preset  # noqa: E402
from aelib.data import load_split  # noqa: E402
from aelib.latent import encode_dataset  # noqa: E402
from aelib.metrics import neighbour_vote  # noqa: E402
from aelib.train import Trainer  # noqa: E402

# name -> TrainConfig fields over vae-2d's full recipe, for one run; the steps that led to the first look.
TRIES = {
    "one epoch of the full recipe (the first look before)": dict(epochs=1),
    "lr 1e-2, warmed up over 100 steps": dict(epochs=1, lr=1e-2, warmup_steps=100),
    "and the KL's weight from 0 over the run": dict(epochs=1, lr=1e-2, warmup_steps=100, kl_warmup=1.0),
    "and a constant lr after the warm-up": dict(epochs=1, lr=1e-2, warmup_steps=100, kl_warmup=1.0,
                                                schedule="constant"),
    "and Adam's betas (0.8, 0.99): the first look": dict(get_preset("vae-2d").quick),
    "the same in batches of 256": dict(get_preset("vae-2d").quick, batch_size=256),
    "the first look for 2 epochs of batches of 256": dict(get_preset("vae-2d").quick, epochs=2, batch_size=256),
    "2 epochs of 30,000 images": dict(get_preset("vae-2d").quick, epochs=2, limit=30_000),
    "β fixed at 0.1 instead of the KL warm-up": dict(get_preset("vae-2d").quick, kl_warmup=0.0, beta=0.1),
}


def one(name: str, fields: dict, train, test, seed: int) -> dict:
    config = recipe("vae-2d", seed=seed, **fields)
    model = build("vae-2d", seed=seed)
    trainer = Trainer(model, config, device="cpu", train_data=train, test_data=test)
    t0 = time.perf_counter()
    final = None
    for final in trainer.run():
        pass
    seconds = time.perf_counter() - t0
    codes = encode_dataset(model, test[0])
    return {"name": name, "seconds": seconds, "vote": neighbour_vote(codes, test[1]),
            "loss": trainer.history[-1]["loss"], "outcome": final.kind}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="names of the tries to run")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    train, test = load_split("mnist", "train"), load_split("mnist", "test")
    lines = ["## The Train page's first look: `python bench/first_look.py" + (f" --seeds {args.seeds}" if args.seeds != 3
                                                                                 else "") + "`", "",
             "`vae-2d` on all 60,000 training images, the data read once, on this 2-core machine. 5-NN vote: the "
             "codes of the first 5,000 test digits vote with their labels on the class of each of the last 5,000 by "
             "its 5 nearest (0.1 is chance; the shipped 60-epoch `vae-2d.pt`: see `aelib eval`). Time: the run's "
             "training and its test pass. One run per seed (0, 1, 2, …).", "",
             "| recipe | 5-NN vote per seed | mean | seconds per seed | test loss |", "|---|---|---|---|---|"]
    for name, fields in TRIES.items():
        if args.only and name not in args.only:
            continue
        runs = [one(name, fields, train, test, seed) for seed in range(args.seeds)]
        votes, secs = [r["vote"] for r in runs], [r["seconds"] for r in runs]
        lines.append(f"| {name} | {', '.join(f'{v:.3f}' for v in votes)} | **{statistics.mean(votes):.3f}** | "
                     f"{', '.join(f'{v:.1f}' for v in secs)} | {statistics.median(r['loss'] for r in runs):.1f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        from bench.browser import write_block

        write_block(text, "first-look")


if __name__ == "__main__":
    main()

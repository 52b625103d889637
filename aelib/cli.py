"""Command line: `python -m aelib presets | train | eval | bench | judge | augment`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from aelib import presets as P
from aelib.models import count_parameters


def progress_line(ev, width: int = 28) -> str:
    """One terminal line drawn from a training event."""
    filled = int(width * ev.fraction)
    bar = "#" * filled + "-" * (width - filled)
    loss = ev.train.get("loss")
    parts = [f"[{bar}] {100 * ev.fraction:5.1f}%", f"epoch {ev.epoch:5.2f}", f"step {ev.step}/{ev.total_steps}"]
    if loss is not None:
        parts.append(f"loss {loss:8.3f}")
    parts.append(f"{ev.samples_per_s:8.0f} img/s")
    if ev.eta == ev.eta:
        parts.append(f"{ev.elapsed:6.1f}s elapsed, {ev.eta:6.1f}s left")
    return " | ".join(parts)


def cmd_presets(args) -> int:
    rows = []
    for p in P.PRESETS.values():
        model = p.model_class(p.config)
        rows.append((p.name, "VAE" if p.variational else "AE", p.config.latent_dim,
                     count_parameters(model), p.seed_ref or "improved", p.origin))
    print(f"{'preset':<19} {'kind':<4} {'latent':>6} {'params':>10}  {'seed':<8} origin")
    for name, kind, d, n, seed, origin in rows:
        print(f"{name:<19} {kind:<4} {d:>6} {n:>10,}  {seed:<8} {origin}")
    return 0


def cmd_train(args) -> int:
    from aelib.checkpoint import save
    from aelib.device import describe_device, pick_device
    from aelib.train import Trainer

    overrides = {}
    if args.latent_dim is not None:
        overrides["latent_dim"] = args.latent_dim
    if args.noise is not None:
        overrides["noise"] = args.noise
    if args.prior_components is not None:
        if not P.get_preset(args.preset).variational:
            raise SystemExit(f"--prior-components needs a VAE preset; {args.preset} is a plain autoencoder.")
        overrides["prior_components"] = args.prior_components
    cfg_over = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "seed", "dataset", "limit",
                                              "target_loss", "schedule", "evals_per_epoch")
                if getattr(args, k) is not None}
    cfg_over["snapshots"] = args.history
    config = P.recipe(args.preset, **cfg_over)
    model = P.build(args.preset, seed=config.seed, **overrides)
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"Training {args.preset} ({count_parameters(model):,} parameters, latent {model.latent_dim}) "
          f"on {config.dataset} with {describe_device(device)}", flush=True)
    trainer = Trainer(model, config, device=device, data_root=args.data)
    metric = model.metric
    last_draw = 0.0
    final = None
    for ev in trainer.run():
        now = time.perf_counter()
        if ev.kind == "step" and now - last_draw > 0.25 and sys.stdout.isatty():
            print("\r" + progress_line(ev), end="", flush=True)
            last_draw = now
        elif ev.kind == "eval":
            t = ev.test
            extra = f" (recon {t['recon']:.2f} + kl {t['kl']:.2f})" if "kl" in t else ""
            print(f"\r{progress_line(ev)}\n  test {metric} {t[metric]:.4f}{extra}", flush=True)
        elif ev.final:
            final = ev
            print(("\n" if ev.kind != "done" else "") + ev.message, flush=True)
    meta = trainer.checkpoint_metadata(final.kind if final else "unknown")
    tensors = trainer.latent_history() if args.history else {}
    if final is not None and final.kind == "diverged":
        print("Not saving: the run diverged.", file=sys.stderr)
        return 1
    path = save(trainer.model, args.out, meta, half=args.half, tensors=tensors)
    print(f"Saved {path} ({path.stat().st_size / 1e6:.2f} MB). Wall time {trainer.elapsed:.1f} s.")
    return 0


def cmd_eval(args) -> int:
    from aelib.checkpoint import load
    from aelib.data import load_split
    from aelib.train import evaluate

    rows = []
    for f in args.files:
        model = load(f, device=args.device)
        images, _ = load_split(args.dataset or model.metadata.get("dataset", "mnist"), "test",
                               root=args.data, device=next(model.parameters()).device)
        m = evaluate(model, images)
        rows.append((f, model.metadata, m))
        if not args.json:
            kl = f"  kl {m['kl']:.2f}" if "kl" in m else ""
            print(f"{f}: preset {model.config.preset}, loss {m['loss']:.2f} nats/image, "
                  f"recon {m['recon']:.2f}{kl}, bce/pixel {m['bce_per_pixel']:.4f}")
    if args.json:
        print(json.dumps([{"file": str(f), "preset": meta.get("preset"), **m} for f, meta, m in rows], indent=1))
    return 0


def cmd_bench(args) -> int:
    from aelib.bench import measure_preset

    names = args.preset or list(P.PRESETS)
    results = [measure_preset(n, device=args.device, data_root=args.data, epoch_fraction=args.epoch_fraction)
               for n in names]
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for r in results:
            print(f"{r['preset']:<19} epoch {r['epoch_s']:7.2f} s  {r['samples_per_s']:9.0f} img/s  "
                  f"decode 1: {r['decode_1_ms']:6.2f} ms  20x20: {r['decode_400_ms']:7.2f} ms  "
                  f"peak {r['peak_mb']:7.1f} MB")
    return 0


def cmd_judge(args) -> int:
    from aelib.judge import save_judge, train_judge

    if args.threads:
        torch.set_num_threads(args.threads)
    judge = None
    for ev, judge in train_judge(args.dataset, epochs=args.epochs, root=args.data, seed=args.seed):
        print(f"epoch {ev.epoch}/{ev.epochs}  train loss {ev.train_loss:.4f}  "
              f"test accuracy {100 * ev.test_accuracy:.2f}%  {ev.elapsed:.0f} s", flush=True)
    path = save_judge(judge, args.out)
    print(f"Saved {path} ({path.stat().st_size / 1e6:.2f} MB): {100 * judge.metadata['test_accuracy']:.2f}% "
          f"on the {args.dataset} test set.")
    return 0


def cmd_augment(args) -> int:
    from aelib.checkpoint import load
    from aelib.data import load_split
    from aelib.judge import augmentation_experiment

    model = load(args.model, device="cpu")
    dataset = model.metadata.get("dataset", "mnist")
    train, test = load_split(dataset, "train", root=args.data), load_split(dataset, "test", root=args.data)
    final = {}
    for name, ev in augmentation_experiment(model, train, test, n_real=args.real, n_generated=args.generated,
                                            epochs=args.epochs, seed=args.seed):
        final[name] = ev.test_accuracy
        print(f"{name:<17} epoch {ev.epoch:>3}/{ev.epochs}  test accuracy {100 * ev.test_accuracy:.2f}%", flush=True)
    width = 40
    print(f"\nA classifier trained on {args.real:,} real {dataset} digits, with and without {args.generated:,} "
          f"generated by {Path(args.model).name}:")
    for name, acc in final.items():  # a text bar chart: the CLI's picture
        print(f"  {name:<17} {'#' * round(width * acc):<{width}} {100 * acc:.2f}%")
    if args.chart:
        from aelib.figures import accuracy_bars

        accuracy_bars(final, f"{args.real:,} real digits, with and without {args.generated:,} generated"
                      ).write_html(args.chart, include_plotlyjs="cdn")
        print(f"Chart: {args.chart}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m aelib", description="Train, evaluate and benchmark autoencoders.")
    sub = ap.add_subparsers(dest="cmd", required=True)

    sub.add_parser("presets", help="list every preset with its latent size, parameters and origin")

    t = sub.add_parser("train", help="train a preset and write a checkpoint")
    t.add_argument("--preset", required=True, choices=list(P.PRESETS))
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--latent-dim", type=int)
    t.add_argument("--noise", type=float, help="input noise level for denoising training (0..1)")
    t.add_argument("--prior-components", type=int,
                   help="VAEs: 0 for the N(0, I) prior, K to learn a mixture of K Gaussians as the prior")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--schedule", choices=["constant", "cosine"])
    t.add_argument("--seed", type=int)
    t.add_argument("--dataset", choices=["mnist", "fashion-mnist"])
    t.add_argument("--limit", type=int, help="train on the first N images only")
    t.add_argument("--target-loss", type=float,
                   help="stop once the test metric reaches this (nats/image for VAEs, BCE/pixel for AEs)")
    t.add_argument("--evals-per-epoch", type=int)
    t.add_argument("--history", action="store_true", help="keep latent positions of test digits per evaluation")
    t.add_argument("--half", action="store_true", help="store weights as float16")
    t.add_argument("--threads", type=int, help="CPU threads for torch")

    e = sub.add_parser("eval", help="print test metrics of checkpoints")
    e.add_argument("files", nargs="+")
    e.add_argument("--dataset", choices=["mnist", "fashion-mnist"])
    e.add_argument("--json", action="store_true")

    b = sub.add_parser("bench", help="epoch time, decode latency and peak memory per preset")
    b.add_argument("--preset", action="append", choices=list(P.PRESETS))
    b.add_argument("--epoch-fraction", type=float, default=1.0, help="time this share of an epoch")
    b.add_argument("--json", action="store_true")

    j = sub.add_parser("judge", help="train the digit judge, a CNN classifier that scores generated digits")
    j.add_argument("--dataset", choices=["mnist", "fashion-mnist"], default="mnist")
    j.add_argument("--out", required=True, type=Path)
    j.add_argument("--epochs", type=int, default=8)
    j.add_argument("--seed", type=int, default=0)
    j.add_argument("--threads", type=int, help="CPU threads for torch")

    a = sub.add_parser("augment", help="does generated data help? a classifier on few real digits, with and "
                                       "without digits generated by a model")
    a.add_argument("--model", required=True, type=Path, help="the generating checkpoint")
    a.add_argument("--real", type=int, default=1000, help="labelled real digits")
    a.add_argument("--generated", type=int, default=5000, help="generated digits added")
    a.add_argument("--epochs", type=int, default=30)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--chart", type=Path, help="also write the result as a Plotly chart (HTML)")

    for p in (t, e, b, j, a):
        p.add_argument("--device", help="cuda, mps or cpu (default: best available, or $AELIB_DEVICE)")
        p.add_argument("--data", help="data folder (default: $AELIB_DATA or ./data)")

    args = ap.parse_args(argv)
    try:
        return {"presets": cmd_presets, "train": cmd_train, "eval": cmd_eval, "bench": cmd_bench,
                "judge": cmd_judge, "augment": cmd_augment}[args.cmd](args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130

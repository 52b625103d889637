"""Command line: `aelib presets | train | eval | bench | judge | augment | export` (or `python -m aelib ...`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Iterable

import torch

from aelib import presets as P
from aelib.models import count_parameters

DATASETS = ["mnist", "fashion-mnist"]


def show_progress(events: Iterable, metric: str):
    """Render training events: a progress bar on a terminal (plain lines otherwise) and a line per
    evaluation; returns the final event."""
    from tqdm import tqdm

    bar = tqdm(unit="step", dynamic_ncols=True, disable=None)  # None: no bar when output is not a terminal
    for ev in events:
        bar.total = ev.total_steps
        bar.update(ev.step - bar.n)
        if ev.kind == "step":
            bar.set_postfix_str(f"epoch {ev.epoch:.2f}, loss {ev.train['loss']:.3f}, {ev.samples_per_s:,.0f} img/s",
                                refresh=False)
        elif ev.kind == "eval":
            t = ev.test
            extra = (f" (recon {t['recon']:.2f} + kl {t['kl']:.2f})" if "kl" in t else
                     f" (codebook perplexity {t['perplexity']:.1f})" if "perplexity" in t else "")
            bar.write(f"epoch {ev.epoch:.2f}: test {metric} {t[metric]:.4f}{extra}")
        elif ev.final:
            bar.close()
            print(ev.message, flush=True)
            return ev
    bar.close()
    return None


def cmd_presets(args) -> int:
    print(f"{'preset':<19} {'kind':<4} {'latent':>6} {'params':>10}  {'seed':<8} origin")
    for p in P.PRESETS.values():
        n = count_parameters(p.model_class(p.config))
        print(f"{p.name:<19} {'VAE' if p.variational else 'VQ' if p.model_class.discrete else 'AE':<4} {p.config.latent_dim:>6} {n:>10,}  "
              f"{p.seed_ref or 'improved':<8} {p.origin}")
    return 0


def _judge_for(path: Path | None, dataset: str):
    """The digit judge that scores a saved model's samples: `path`, else the project's shipped one
    for the dataset when it is there, else None (the checkpoint then records no recognisability)."""
    from aelib.judge import load_judge

    default = Path("checkpoints") / "judges" / f"{dataset}.pt"
    if path is None and not default.is_file():
        print(f"No digit judge at {default}: the checkpoint records no recognisability (--judge sets one).")
        return None
    return load_judge(path or default)


def cmd_train(args) -> int:
    from aelib.device import describe_device, pick_device
    from aelib.runs import save_run
    from aelib.train import Trainer

    overrides = {k: getattr(args, k) for k in ("latent_dim", "noise", "prior_components")
                 if getattr(args, k) is not None}
    if "prior_components" in overrides and not P.get_preset(args.preset).variational:
        raise SystemExit(f"--prior-components needs a VAE preset; {args.preset} is a plain autoencoder.")
    cfg_over = {k: getattr(args, k) for k in ("epochs", "batch_size", "lr", "seed", "dataset", "limit",
                                              "target_loss", "schedule", "evals_per_epoch", "beta")
                if getattr(args, k) is not None}
    base = P.get_preset(args.preset).first_look if args.quick else P.get_preset(args.preset).recipe
    config = dataclasses.replace(base, snapshots=args.history, **cfg_over)
    model = P.build(args.preset, seed=config.seed, **overrides)
    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    judge = _judge_for(args.judge, config.dataset)
    print(f"Training {args.preset} ({count_parameters(model):,} parameters, latent {model.latent_dim}) "
          f"on {config.dataset} with {describe_device(device)}", flush=True)
    if os.environ.get("AELIB_RAY_ADDRESS", "").strip():
        return _train_on_cluster(args, config, overrides, judge)
    trainer = Trainer(model, config, device=device, data_root=args.data)
    final = show_progress(trainer.run(), model.metric)
    if final is not None and final.kind == "diverged":
        print("Not saving: the run diverged.", file=sys.stderr)
        return 1
    path = save_run(trainer.result(final.kind if final else "unknown"), args.out, trainer.test_images, judge,
                    half=args.half, test_labels=trainer.test_labels)
    print(f"Saved {path} ({path.stat().st_size / 1e6:.2f} MB). Wall time {trainer.elapsed:.1f} s.")
    return 0


def _train_on_cluster(args, config, overrides: dict, judge) -> int:
    """The same run on the Ray cluster at $AELIB_RAY_ADDRESS (aelib.cluster); the checkpoint is written here."""
    import time

    from aelib.cluster import Cluster, ClusterError
    from aelib.jobs import TrainingJob

    address = os.environ["AELIB_RAY_ADDRESS"].strip()
    try:
        cluster = Cluster(address, data_root=args.data)
    except ClusterError as err:
        print(f"Not trained: {err}", file=sys.stderr)
        return 1
    print(f"on the cluster at {address}: {len(cluster.facts['nodes'])} machines, {cluster.facts['cpus']:g} CPUs, "
          f"{cluster.facts['gpus']:g} GPUs", flush=True)
    pool = cluster.pool()
    try:
        job = TrainingJob(args.preset, config, device=args.device, data_root=args.data, **overrides)
        events = job.events()
        began = time.monotonic()
        pool.submit(job)
        final = show_progress(events, job.model.metric)
        job.wait()  # the weights come after the last event
        if job.state not in ("done", "stopped"):
            print(f"Not saving: {job.peek().message if final is None or job.state == 'failed' else 'the run diverged.'}",
                  file=sys.stderr)
            return 1
        path = job.save(args.out, half=args.half, judge=judge)
    finally:
        pool.close()
        cluster.close()
    print(f"Saved {path} ({path.stat().st_size / 1e6:.2f} MB). Wall time {time.monotonic() - began:.1f} s.")
    return 0


def cmd_eval(args) -> int:
    from aelib.checkpoint import load
    from aelib.data import load_split
    from aelib.latent import encode_dataset
    from aelib.metrics import evaluate, neighbour_vote

    rows = []
    for f in args.files:
        model = load(f, device=args.device)
        images, labels = load_split(args.dataset or model.metadata.get("dataset", "mnist"), "test",
                               root=args.data, device=next(model.parameters()).device)
        m = evaluate(model, images)
        m["neighbour_vote"] = neighbour_vote(encode_dataset(model, images), labels.to(images.device))
        rows.append({"file": str(f), "preset": model.metadata.get("preset"), **m})
        if not args.json:
            kl = f"  kl {m['kl']:.2f}" if "kl" in m else ""
            print(f"{f}: preset {model.config.preset}, loss {m['loss']:.2f} nats/image, "
                  f"recon {m['recon']:.2f}{kl}, bce/pixel {m['bce_per_pixel']:.4f}, "
                  f"5-NN vote {m['neighbour_vote']:.3f}")
    if args.json:
        print(json.dumps(rows, indent=1))
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
    print(f"\nA classifier trained on {args.real:,} real {dataset} digits, with and without {args.generated:,} "
          f"generated by {Path(args.model).name}:")
    for name, acc in final.items():  # a text bar chart: the CLI's picture
        print(f"  {name:<17} {'#' * round(40 * acc):<40} {100 * acc:.2f}%")
    if args.chart:
        from aelib.figures import accuracy_bars

        accuracy_bars(final, f"{args.real:,} real digits, with and without {args.generated:,} generated"
                      ).write_html(args.chart, include_plotlyjs="cdn")
        print(f"Chart: {args.chart}")
    return 0


def _train_arguments(t: argparse.ArgumentParser) -> None:
    t.add_argument("--preset", required=True, choices=list(P.PRESETS))
    t.add_argument("--out", required=True, type=Path)
    t.add_argument("--latent-dim", type=int)
    t.add_argument("--noise", type=float, help="input noise level for denoising training (0..1)")
    t.add_argument("--prior-components", type=int,
                   help="VAEs: 0 for the N(0, I) prior, K to learn a mixture of K Gaussians as the prior")
    t.add_argument("--quick", action="store_true",
                   help="the preset's first look, the Train page's quick run (other options change it further)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--schedule", choices=["constant", "cosine"])
    t.add_argument("--beta", type=float, help="VAEs: the weight of the KL term (a β-VAE; 1 is the plain ELBO)")
    t.add_argument("--seed", type=int)
    t.add_argument("--dataset", choices=DATASETS)
    t.add_argument("--limit", type=int, help="train on the first N images only")
    t.add_argument("--target-loss", type=float,
                   help="stop once the test metric reaches this (nats/image for VAEs, BCE/pixel for AEs)")
    t.add_argument("--evals-per-epoch", type=int)
    t.add_argument("--history", action="store_true", help="keep latent positions of test digits per evaluation")
    t.add_argument("--half", action="store_true", help="store weights as float16")
    t.add_argument("--threads", type=int, help="CPU threads for torch")
    t.add_argument("--judge", type=Path, help="the digit judge that scores the saved model's samples "
                                              "(default: checkpoints/judges/DATASET.pt when there)")


def cmd_export(args) -> int:
    from aelib.checkpoint import load
    from aelib.data import load_split
    from aelib.export import export
    from aelib.latent import LatentMap

    model = load(args.checkpoint, device="cpu")
    dataset = model.metadata.get("dataset", "mnist")
    try:
        lmap = LatentMap(model, *load_split(dataset, "test", root=args.data, download=False))
    except FileNotFoundError:
        lmap = None  # ranges and plane then fall back to defaults, said below
        print(f"note: the {dataset} test set is not in the data folder, so the JSON holds default code ranges "
              "and, above 2-D, no map plane (pass --data).", file=sys.stderr)
    info = export(model, args.out, lmap)
    for name in ("encoder.onnx", "decoder.onnx", "model.json"):
        print(f"{args.out / name}  {(args.out / name).stat().st_size / 1e6:.2f} MB")
    print(f"{info['preset']}: {info['latent_dim']}-D code, encoder outputs {', '.join(info['encoder_outputs'])}")
    return 0


def _other_arguments(sub) -> list[argparse.ArgumentParser]:
    e = sub.add_parser("eval", help="print test metrics of checkpoints")
    e.add_argument("files", nargs="+")
    e.add_argument("--dataset", choices=DATASETS)
    e.add_argument("--json", action="store_true")
    b = sub.add_parser("bench", help="epoch time, decode latency and peak memory per preset")
    b.add_argument("--preset", action="append", choices=list(P.PRESETS))
    b.add_argument("--epoch-fraction", type=float, default=1.0, help="time this share of an epoch")
    b.add_argument("--json", action="store_true")
    j = sub.add_parser("judge", help="train the digit judge, a CNN classifier that scores generated digits")
    j.add_argument("--dataset", choices=DATASETS, default="mnist")
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
    x = sub.add_parser("export", help="write a checkpoint's encoder and decoder as ONNX files, with a JSON file "
                                      "of its code ranges and map plane, for a page that runs them")
    x.add_argument("checkpoint", type=Path)
    x.add_argument("--out", required=True, type=Path, help="folder for encoder.onnx, decoder.onnx and model.json")
    return [e, b, j, a, x]


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="aelib", description="Train, evaluate and benchmark autoencoders.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("presets", help="list every preset with its latent size, parameters and origin")
    t = sub.add_parser("train", help="train a preset and write a checkpoint")
    _train_arguments(t)
    for p in (t, *_other_arguments(sub)):
        p.add_argument("--device", help="cuda, mps or cpu (default: best available, or $AELIB_DEVICE)")
        p.add_argument("--data", help="data folder (default: $AELIB_DATA or ./data)")
    return ap


COMMANDS = {"presets": cmd_presets, "train": cmd_train, "eval": cmd_eval, "bench": cmd_bench,
            "judge": cmd_judge, "augment": cmd_augment, "export": cmd_export}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader left (`aelib presets | head`): nothing more to say, and nowhere to
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # flush it at exit
        return 141
